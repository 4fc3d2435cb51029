"""A pipeline's runs from MLMD, whichever runner made them.

Two context schemas share one store:
- 'ir' (LocalDagRunner, BeamDagRunner): a `pipeline_run` context, child of the `pipeline`
  context, named by the run id; each execution is also in a `node` context "<pipeline>.<node>".
- 'airflow' (TFX's legacy launcher, runners/airflow_dag.py): a `run` context named
  "<pipeline>.<run id>" with properties pipeline_name and run_id, no parent; each execution has
  properties component_id and state, and is also in a `component_run` context.

Every node is a component here, RunProvenance and the resolver included: `components` maps each
node id the run recorded to its execution's state.

Imports ml_metadata only (no TensorFlow, no TFX), so it is fast to load.
"""
import datetime
import re
from dataclasses import dataclass
from typing import Dict, List, Optional

from ml_metadata.proto import metadata_store_pb2

from pipeline.mlmd_queries import STATE_NAMES, context_type, ir_runs

_State = metadata_store_pb2.Execution.State
_UNFINISHED = {_State.UNKNOWN, _State.NEW, _State.RUNNING}
_OUTPUTS = {metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT}
# runners/local_runner.py new_run_id: "<runner>-<ISO date and time>".
_RUNNER_PREFIX = re.compile(r"^([a-z][a-z0-9_]*)-\d{4}-\d{2}-\d{2}T")


@dataclass
class RunInfo:
    run_id: str
    runner: str                 # local, beam, airflow, or unknown
    schema: str                 # 'ir' or 'airflow'
    started: datetime.datetime  # UTC
    ended: Optional[datetime.datetime]  # None while RUNNING
    # FAILED if any execution failed, RUNNING if any has not finished, else COMPLETE.
    # The legacy Airflow launcher never records a failure: a failed task's execution stays
    # RUNNING in MLMD (Airflow's own database has the task's real state).
    status: str
    components: Dict[str, str]  # node id -> state of its latest execution in the run
    pushed: bool                # a PushedModel with pushed=1 was output in the run


def _utc(millis: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(millis / 1000.0, tz=datetime.timezone.utc)


def _runner_of(run_id: str) -> str:
    match = _RUNNER_PREFIX.match(run_id)
    return match.group(1) if match else "unknown"


def _status(executions) -> str:
    states = {e.last_known_state for e in executions}
    if _State.FAILED in states:
        return "FAILED"
    if not executions or states & _UNFINISHED:
        return "RUNNING"
    return "COMPLETE"


def _ir_node_ids(store, pipeline_name: str) -> Dict[int, str]:
    """{execution id: node id}: one query per node of the pipeline, not per execution."""
    if context_type(store, "node") is None:
        return {}
    prefix = pipeline_name + "."
    out = {}
    for node in store.get_contexts_by_type("node"):
        if node.name.startswith(prefix):
            for e in store.get_executions_by_context(node.id):
                out[e.id] = node.name[len(prefix):]
    return out


def _airflow_runs(store, pipeline_name: str):
    if context_type(store, "run") is None:
        return []
    return [c for c in store.get_contexts_by_type("run")
            if c.properties["pipeline_name"].string_value == pipeline_name]


def _pushed_ids(store) -> set:
    from ml_metadata import errors
    try:
        store.get_artifact_type("PushedModel")
    except errors.NotFoundError:
        return set()
    return {a.id for a in store.get_artifacts_by_type("PushedModel")
            if "pushed" in a.custom_properties and a.custom_properties["pushed"].int_value == 1}


def list_runs(store, pipeline_name: str) -> List[RunInfo]:
    """Every run of `pipeline_name` in the store, both schemas, oldest first."""
    from ml_metadata import errors
    try:
        pipeline_context = store.get_context_by_type_and_name("pipeline", pipeline_name)
    except errors.NotFoundError:  # a store no pipeline has written yet
        return []
    if pipeline_context is None:
        return []
    runs = [("ir", c.name, c) for c in ir_runs(store, pipeline_context)]
    runs += [("airflow", c.properties["run_id"].string_value, c)
             for c in _airflow_runs(store, pipeline_name)]
    ir_nodes = _ir_node_ids(store, pipeline_name)

    def node_of(schema, execution) -> str:
        if schema == "airflow":
            return execution.properties["component_id"].string_value
        return ir_nodes.get(execution.id, execution.name)

    executions = {c.id: store.get_executions_by_context(c.id) for _, _, c in runs}
    all_ids = [e.id for group in executions.values() for e in group]
    pushed_ids = _pushed_ids(store)
    pushing = {ev.execution_id for ev in (store.get_events_by_execution_ids(all_ids)
                                           if all_ids and pushed_ids else [])
               if ev.type in _OUTPUTS and ev.artifact_id in pushed_ids}

    out = []
    # Context ids break ties between runs started in the same millisecond.
    runs.sort(key=lambda run: (run[2].create_time_since_epoch, run[2].id))
    for schema, run_id, context in runs:
        group = sorted(executions[context.id], key=lambda e: (e.create_time_since_epoch, e.id))
        components = {node_of(schema, e): STATE_NAMES[e.last_known_state] for e in group}
        status = _status(group)
        ended = None
        if status != "RUNNING":
            ended = _utc(max(e.last_update_time_since_epoch for e in group))
        out.append(RunInfo(
            run_id=run_id,
            runner="airflow" if schema == "airflow" else _runner_of(run_id),
            schema=schema,
            started=_utc(context.create_time_since_epoch),
            ended=ended,
            status=status,
            components=components,
            pushed=any(e.id in pushing for e in group),
        ))
    return out
