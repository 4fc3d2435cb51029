"""Small read-only MLMD queries used by runners, tests and the benchmark.

Imports ml_metadata only (no TensorFlow, no TFX), so it is fast to load.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

STATE_NAMES = {v: k for k, v in metadata_store_pb2.Execution.State.items()}


def connect(store_cfg) -> metadata_store.MetadataStore:
    """A store for a config's store section (created if missing), without importing TFX."""
    from metadata.store import connection_config
    return metadata_store.MetadataStore(connection_config(store_cfg, create=True))


@dataclass
class ExecutionRecord:
    id: int
    node_id: str
    type_name: str
    state: str
    seconds: Optional[float]
    outputs: Dict[str, List[metadata_store_pb2.Artifact]]


def node_ids(store, executions) -> Dict[int, str]:
    """{execution id: node id}, from each execution's `node` context ("<pipeline>.<node>")."""
    node_type = store.get_context_type("node")
    out = {}
    for e in executions:
        for ctx in store.get_contexts_by_execution(e.id):
            if ctx.type_id == node_type.id:
                out[e.id] = ctx.name.split(".", 1)[-1]
    return out


def context_type(store, name: str):
    """The context type, or None where no run has written one (MLMD raises NotFoundError)."""
    from ml_metadata import errors
    try:
        return store.get_context_type(name)
    except errors.NotFoundError:
        return None


def ir_runs(store, pipeline_context) -> List[metadata_store_pb2.Context]:
    """pipeline_run contexts (Local and Beam runners) under a pipeline context, unordered."""
    run_type = context_type(store, "pipeline_run")
    if run_type is None:
        return []
    return [c for c in store.get_children_contexts_by_context(pipeline_context.id)
            if c.type_id == run_type.id]


def pipeline_runs(store, pipeline_name: str) -> List[metadata_store_pb2.Context]:
    """pipeline_run contexts of a pipeline (Local and Beam runners), oldest first."""
    from ml_metadata import errors
    try:
        pipeline_context = store.get_context_by_type_and_name("pipeline", pipeline_name)
    except errors.NotFoundError:
        return []
    if pipeline_context is None:
        return []
    return sorted(ir_runs(store, pipeline_context),
                  key=lambda c: (c.create_time_since_epoch, c.id))


def latest_run(store, pipeline_name: str) -> Optional[metadata_store_pb2.Context]:
    runs = pipeline_runs(store, pipeline_name)
    return runs[-1] if runs else None


def run_executions(store, run_context) -> List[ExecutionRecord]:
    executions = store.get_executions_by_context(run_context.id)
    types = {t.id: t.name for t in store.get_execution_types()}
    nodes = node_ids(store, executions)
    ids = [e.id for e in executions]
    events = store.get_events_by_execution_ids(ids) if ids else []
    outputs_by_exec: Dict[int, Dict[str, List[int]]] = {}
    for ev in events:
        if ev.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT):
            key = ev.path.steps[0].key if ev.path.steps else ""
            outputs_by_exec.setdefault(ev.execution_id, {}).setdefault(key, []).append(ev.artifact_id)
    artifact_ids = sorted({a for d in outputs_by_exec.values() for ids_ in d.values() for a in ids_})
    artifacts = {a.id: a for a in store.get_artifacts_by_id(artifact_ids)} if artifact_ids else {}
    records = []
    for e in sorted(executions, key=lambda e: (e.create_time_since_epoch, e.id)):
        seconds = None
        if e.last_update_time_since_epoch and e.create_time_since_epoch:
            seconds = (e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000.0
        outs = {k: [artifacts[i] for i in v if i in artifacts]
                for k, v in outputs_by_exec.get(e.id, {}).items()}
        records.append(ExecutionRecord(e.id, nodes.get(e.id, e.name), types.get(e.type_id, "?"),
                                       STATE_NAMES.get(e.last_known_state, "UNKNOWN"),
                                       seconds, outs))
    return records


def pushed_destinations(records: List[ExecutionRecord]) -> List[str]:
    out = []
    for r in records:
        for art in r.outputs.get("pushed_model", []):
            props = art.custom_properties
            if props.get("pushed") is not None and props["pushed"].int_value == 1:
                out.append(props["pushed_destination"].string_value)
    return out
