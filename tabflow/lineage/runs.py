"""`runs` and `graph`: every run of the pipeline as a table row, and a run's lineage graph."""
from typing import List, Optional

from tabflow.metadata import graph
from tabflow.metadata.errors import NotFound
from tabflow.metadata.runs import list_runs, resolve_run, run_graph


def run_rows(store, pipeline_name: str, newest: Optional[int] = None) -> List[dict]:
    """One JSON-ready row per run (the `newest` N when given), oldest first."""
    return [{"run_id": run.run_id, "runner": run.runner, "status": run.status,
             "started": run.started.isoformat(), "seconds": run.seconds, "span": run.span,
             "pushed": run.pushed, "components": run.components}
            for run in list_runs(store, pipeline_name, newest)]


def graph_for(store, pipeline_name: str, spec: str):
    """(Graph, title) for a run id / latest / previous, or an artifact id.

    An artifact's graph is its upstream and downstream lineage through the executions that ran
    (CACHED executions of later runs only repeat their producer's edges).
    """
    if spec.isdigit():
        artifact_id = int(spec)
        if not store.get_artifacts_by_id([artifact_id]):
            raise NotFound(f"no artifact with id {artifact_id}")
        g = graph.load(store, "upstream", graph.MAX_HOPS, artifact_ids=[artifact_id])
        graph.load(store, "downstream", graph.MAX_HOPS, artifact_ids=[artifact_id], graph=g)
        return g, f"artifact {artifact_id}"
    run = resolve_run(store, pipeline_name, spec)
    return run_graph(store, run), f"run {run.context.name}"
