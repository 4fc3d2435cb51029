"""Runs of the pipeline: listing (pipeline/run_history.py) and one run's outputs by node."""
from typing import Dict, List, Optional

from ml_metadata.metadata_store import ListOptions

from lineage import graph
from lineage.graph import Graph
from lineage.trace import NotFound

LATEST, PREVIOUS = "latest", "previous"


def list_runs(store, pipeline_name: str):
    from pipeline.run_history import list_runs as history
    return history(store, pipeline_name)


def run_context(store, pipeline_name: str, spec: str):
    """The run context for a run id as `runs` lists it, or `latest` / `previous`."""
    if spec in (LATEST, PREVIOUS):
        runs = list_runs(store, pipeline_name)
        index = -1 if spec == LATEST else -2
        if len(runs) < -index:
            raise NotFound(f"the store has {len(runs)} run(s): no {spec} run")
        spec = runs[index].run_id
    context = store.get_context_by_type_and_name("pipeline_run", spec) \
        or store.get_context_by_type_and_name("run", f"{pipeline_name}.{spec}")
    if context is None:
        raise NotFound(f"no run {spec!r} in the store (see `lineage runs`)")
    return context


def run_graph(store, context) -> Graph:
    """The run's executions with their input and output artifacts."""
    executions = store.get_executions_by_context(context.id)
    if not executions:
        return Graph()
    return graph.load_executions(store, [e.id for e in executions])


def executions_by_node(g: Graph, context_id: int) -> Dict[str, int]:
    """{node id: execution id} of the run (the newest execution if a node ran twice)."""
    out: Dict[str, int] = {}
    for execution_id in sorted(g.executions, key=lambda i: (
            g.executions[i].create_time_since_epoch, i)):
        if context_id in g.execution_contexts.get(execution_id, ()):
            out[g.node_id(execution_id)] = execution_id
    return out


def node_output(g: Graph, nodes: Dict[str, int], node: str, key: str) -> Optional[int]:
    return g.output(nodes[node], key) if node in nodes else None


def _span(store, context_id: int) -> Optional[int]:
    """The span of the raw Examples attributed to the run (ExampleGen's output, cached or not)."""
    found = store.get_artifacts(list_options=ListOptions(
        filter_query=(f"type = 'Examples' AND contexts_a.id = {context_id} "
                      "AND custom_properties.span.int_value >= 0"), limit=1))
    return graph.custom(found[0], "span") if found else None


def run_rows(store, pipeline_name: str) -> List[dict]:
    """One JSON-ready row per run, oldest first (pipeline/run_history.py lists them)."""
    rows = []
    for run in list_runs(store, pipeline_name):
        context = run_context(store, pipeline_name, run.run_id)
        seconds = (run.ended - run.started).total_seconds() if run.ended else None
        rows.append({
            "run_id": run.run_id, "runner": run.runner, "status": run.status,
            "started": run.started.isoformat(), "seconds": seconds,
            "span": _span(store, context.id),
            # run_history's `pushed` also counts a CACHED Pusher re-announcing an old push;
            # a run pushed only if its own Pusher executed.
            "pushed": bool(run.pushed and run.components.get("Pusher") == "COMPLETE"),
            "components": run.components,
        })
    return rows


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
    context = run_context(store, pipeline_name, spec)
    return run_graph(store, context), f"run {context.name}"
