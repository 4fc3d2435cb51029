"""What a run did, in terms every runner can be compared on: the run's status, each
component's outcome, what each published, and whether a model was pushed (from MLMD).

Not compared: resolvers (how a runner records them differs: IR runners as internal outputs of
a resolver node, Airflow's legacy launcher as a CACHED task), and executed vs served from the
cache (each runner keeps its own cache)."""
from tabflow.metadata.runs import resolve_run, run_executions
from tabflow import contract as C

_DONE = {"COMPLETE": "succeeded", "CACHED": "succeeded", "FAILED": "failed"}


def outcome(store, pipeline_name: str, run_id: str) -> dict:
    info = resolve_run(store, pipeline_name, run_id)
    records = [r for r in run_executions(store, pipeline_name, run_id)
               if r.node_id not in C.RESOLVERS]
    newest = {}
    for record in records:  # oldest first: a node recorded twice counts by its newest
        newest[record.node_id] = record
    return {
        "status": info.status,
        "components": {node: _DONE.get(r.state, r.state.lower())
                       for node, r in sorted(newest.items())},
        "published": sorted((node, key) for node, r in newest.items()
                            if r.state in ("COMPLETE", "CACHED")
                            for key, artifacts in r.outputs.items() if artifacts),
        "pushed": info.pushed,
    }
