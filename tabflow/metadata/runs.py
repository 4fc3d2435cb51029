"""A pipeline's runs, whichever runner made them, and what each run's nodes output.

Two context schemas share one store:
- 'ir' (LocalDagRunner, BeamDagRunner): a `pipeline_run` context, child of the `pipeline`
  context, named by the run id; each execution is also in a `node` context "<pipeline>.<node>".
- 'airflow' (TFX's legacy launcher, runners/airflow_dag.py): a `run` context named
  "<pipeline>.<run id>" with properties pipeline_name and run_id, no parent; each execution has
  properties component_id and state, and is also in a `component_run` context.

"Did this run push" is answered here and nowhere else: a run pushed when its own Pusher
executed (COMPLETE, not CACHED: a cached Pusher repeats an earlier run's push) and published a
PushedModel with pushed=1.
"""
import datetime
import os
import re
import socket
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from ml_metadata import errors as mlmd_errors
from ml_metadata.metadata_store import ListOptions, OrderByField
from ml_metadata.proto import metadata_store_pb2

from tabflow.metadata import graph
from tabflow.metadata.errors import NotFound
from tabflow.metadata.graph import STATE_NAMES, Graph, custom, event_keys
from tabflow import contract
from tabflow.metadata import facts

LATEST, PREVIOUS = "latest", "previous"

_State = metadata_store_pb2.Execution.State
_UNFINISHED = {_State.UNKNOWN, _State.NEW, _State.RUNNING}
_WRITES = {metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT}
# runners/local_runner.py new_run_id: "<runner>-<ISO date and time>".
_RUNNER_PREFIX = re.compile(r"^([a-z][a-z0-9_]*)-\d{4}-\d{2}-\d{2}T")


@dataclass
class RunInfo:
    run_id: str
    runner: str                 # local, beam, airflow, or unknown
    schema: str                 # 'ir' or 'airflow'
    started: datetime.datetime  # UTC
    ended: Optional[datetime.datetime]  # None while RUNNING or STALE
    # FAILED if any execution failed; else, while any has not finished, RUNNING, or
    # ABANDONED when the Local/Beam process that ran it died part-way (killed, it could record
    # nothing; the next run records it, see record_abandoned), or STALE when that process is
    # not on this machine and stopped renewing its lease (`gc --force` treats it as gone);
    # else COMPLETE. The legacy
    # Airflow launcher never records a failure: a failed task's execution stays RUNNING in
    # MLMD (Airflow's own database has the task's real state).
    status: str
    components: Dict[str, str]  # node id -> state of its latest execution in the run
    pushed: bool                # this run's own Pusher executed and pushed a model
    span: Optional[int] = None  # span of the Examples the run's ExampleGen output
    context: Optional[metadata_store_pb2.Context] = field(default=None, repr=False,
                                                          compare=False)

    @property
    def seconds(self) -> Optional[float]:
        return (self.ended - self.started).total_seconds() if self.ended else None


@dataclass
class ExecutionRecord:
    id: int
    node_id: str
    type_name: str
    state: str
    seconds: Optional[float]
    outputs: Dict[str, List[metadata_store_pb2.Artifact]]


def context_type(store, name: str):
    """The context type, or None where no run has written one (MLMD raises NotFoundError)."""
    try:
        return store.get_context_type(name)
    except mlmd_errors.NotFoundError:
        return None


def _pipeline_context(store, pipeline_name: str):
    try:
        return store.get_context_by_type_and_name(contract.PIPELINE_CONTEXT, pipeline_name)
    except mlmd_errors.NotFoundError:  # a store no pipeline has written yet
        return None


# How many more run contexts than asked for a newest-N query reads, so that runs created in
# one millisecond are ordered by id here whatever order the database returned them in.
_TIE_MARGIN = 5


def _run_contexts(store, pipeline_name: str, newest: Optional[int] = None
                  ) -> List[Tuple[str, str, metadata_store_pb2.Context]]:
    """(schema, run id, context) of every run of the pipeline (the `newest` N when given),
    oldest first. No executions."""
    if newest is not None:
        return _newest_run_contexts(store, pipeline_name, newest) if newest > 0 else []
    pipeline_context = _pipeline_context(store, pipeline_name)
    if pipeline_context is None:
        return []
    runs = []
    ir_type = context_type(store, contract.IR_RUN_CONTEXT)
    if ir_type is not None:
        runs += [("ir", c.name, c)
                 for c in store.get_children_contexts_by_context(pipeline_context.id)
                 if c.type_id == ir_type.id]
    if context_type(store, contract.AIRFLOW_RUN_CONTEXT) is not None:
        runs += [("airflow", c.properties["run_id"].string_value, c)
                 for c in store.get_contexts_by_type(contract.AIRFLOW_RUN_CONTEXT)
                 if c.properties["pipeline_name"].string_value == pipeline_name]
    # Context ids break ties between runs started in the same millisecond.
    return sorted(runs, key=lambda run: (run[2].create_time_since_epoch, run[2].id))


def _newest_run_contexts(store, pipeline_name: str, newest: int):
    """_run_contexts' newest N without listing every run: a newest-first query per schema,
    limited, instead of every child of the pipeline context (a store with a thousand runs
    answers that in tens of milliseconds, this in a few)."""
    runs = []
    limit = newest + _TIE_MARGIN
    if context_type(store, contract.IR_RUN_CONTEXT) is not None:
        runs += [("ir", c.name, c) for c in store.get_contexts(list_options=ListOptions(
            limit=limit, order_by=OrderByField.CREATE_TIME, is_asc=False, filter_query=(
                f"type = '{contract.IR_RUN_CONTEXT}' AND "
                f"parent_contexts_a.type = '{contract.PIPELINE_CONTEXT}' AND "
                f"parent_contexts_a.name = '{pipeline_name}'")))]
    if context_type(store, contract.AIRFLOW_RUN_CONTEXT) is not None:
        runs += [("airflow", c.properties["run_id"].string_value, c)
                 for c in store.get_contexts(list_options=ListOptions(
                     limit=limit, order_by=OrderByField.CREATE_TIME, is_asc=False,
                     filter_query=(f"type = '{contract.AIRFLOW_RUN_CONTEXT}' AND "
                                   f"properties.pipeline_name.string_value = "
                                   f"'{pipeline_name}'")))]
    return sorted(runs, key=lambda run: (run[2].create_time_since_epoch, run[2].id))[-newest:]


# Up to this many IR executions are labeled from their own associations (a query per 100
# executions, whatever the store's size); more, and the per-node scheme below is cheaper.
ASSOCIATION_LABELING_LIMIT = 1000


def _node_labeler(store, pipeline_name: str,
                  executions: Optional[List[metadata_store_pb2.Execution]] = None
                  ) -> Callable[[metadata_store_pb2.Execution], str]:
    """execution -> node id, for executions of this pipeline's runs.

    Airflow's executions carry their component id. An IR execution's node is its `node`
    context. Given the executions to label (up to ASSOCIATION_LABELING_LIMIT), their
    associations are read in zero-hop lineage queries of 100 executions each: a few
    milliseconds per query however many runs the store holds. Otherwise, reading every node
    context's executions would load each execution a second time, so where a node's executions
    all have one execution type that no other node of the pipeline uses (checked with two
    one-row queries per node, each a join over the node's whole history), the type names the
    node. Nodes that share a type, or whose type changed over time, are read in full.
    """
    by_execution: Dict[int, str] = {}
    by_type: Dict[int, str] = {}
    if context_type(store, contract.IR_NODE_CONTEXT) is not None:
        prefix = pipeline_name + "."
        nodes = [c for c in store.get_contexts_by_type(contract.IR_NODE_CONTEXT)
                 if c.name.startswith(prefix)]
        ir = None if executions is None else sorted(
            {e.id for e in executions if "component_id" not in e.properties})
        if ir is not None and len(ir) <= ASSOCIATION_LABELING_LIMIT:
            node_names = {c.id: c.name[len(prefix):] for c in nodes}
            for start in range(0, len(ir), graph.MAX_STARTING_NODES):
                for association in graph.associations(
                        store, ir[start:start + graph.MAX_STARTING_NODES]):
                    if association.context_id in node_names:
                        by_execution[association.execution_id] = \
                            node_names[association.context_id]
        else:
            _label_by_type(store, nodes, prefix, by_execution, by_type)

    def label(execution) -> str:
        if "component_id" in execution.properties:  # Airflow's legacy launcher
            return execution.properties["component_id"].string_value
        return by_execution.get(execution.id) or by_type.get(execution.type_id) or execution.name

    return label


def _label_by_type(store, nodes, prefix: str, by_execution: Dict[int, str],
                   by_type: Dict[int, str]) -> None:
    type_nodes: Dict[int, List] = {}
    read_in_full = []
    for node in nodes:
        newest = store.get_executions_by_context(node.id, list_options=ListOptions(limit=1))
        if not newest:
            continue
        other = store.get_executions_by_context(node.id, list_options=ListOptions(
            limit=1, filter_query=f"type != '{newest[0].type}'"))
        if other:
            read_in_full.append(node)
        else:
            type_nodes.setdefault(newest[0].type_id, []).append(node)
    for type_id, owners in type_nodes.items():
        if len(owners) == 1:
            by_type[type_id] = owners[0].name[len(prefix):]
        else:
            read_in_full += owners
    for node in read_in_full:
        for execution in store.get_executions_by_context(node.id):
            by_execution[execution.id] = node.name[len(prefix):]


def _utc(millis: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(millis / 1000.0, tz=datetime.timezone.utc)


def _runner_of(schema: str, run_id: str) -> str:
    if schema == "airflow":
        return "airflow"
    match = _RUNNER_PREFIX.match(run_id)
    return match.group(1) if match else "unknown"


def process_start(pid: int) -> Optional[int]:
    """The process's start time in clock ticks since boot (Linux /proc), so a pid the system
    reused for another process does not pass for the run's; None where /proc cannot tell, or
    for a zombie (a killed process its parent has not reaped yet is gone too)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else int(fields[19])


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def this_process() -> Dict[str, object]:
    """What a runner records on its run context (the RUN_*_PROPERTY custom properties).

    Host name and pid alone do not name a process: containers often share a host name (and
    pid 1), and a host name outlives a reboot. The boot id names the kernel's boot and the pid
    namespace the container, so together with the pid and its start time they do."""
    pid = os.getpid()
    return {contract.RUN_HOST_PROPERTY: socket.gethostname(), contract.RUN_PID_PROPERTY: pid,
            contract.RUN_PROCESS_START_PROPERTY: process_start(pid) or 0,
            contract.RUN_BOOT_ID_PROPERTY: _boot_id(),
            contract.RUN_PID_NAMESPACE_PROPERTY: _pid_namespace()}


def on_this_machine(context: Optional[metadata_store_pb2.Context]) -> bool:
    """True when the recorded process ran under this kernel boot, in this pid namespace: only
    then can its pid be looked up here. A record without boot id or namespace (older runners)
    cannot be placed."""
    if context is None:
        return False
    here = this_process()
    return all(custom(context, key) and custom(context, key) == here[key]
               for key in (contract.RUN_HOST_PROPERTY, contract.RUN_BOOT_ID_PROPERTY,
                           contract.RUN_PID_NAMESPACE_PROPERTY))


def process_gone(context: Optional[metadata_store_pb2.Context]) -> bool:
    """True only when the run context names a process of this machine that no longer runs.

    A run with no record (written before runners recorded their process, or by Airflow) or
    recorded on another host or container cannot be judged from here: it is not gone (its
    lease says whether it is stale, see lease_expired)."""
    pid = custom(context, contract.RUN_PID_PROPERTY) if context is not None else None
    if not pid or not on_this_machine(context):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        pass
    recorded = custom(context, contract.RUN_PROCESS_START_PROPERTY, 0)
    if os.path.exists(f"/proc/{pid}"):
        started = process_start(pid)
        return started is None or bool(recorded and started != recorded)
    return False


def lease_expired(context: Optional[metadata_store_pb2.Context],
                  now: Optional[float] = None) -> bool:
    """True when the run recorded a lease (runners renew it while they live) that has run out:
    its process stopped renewing, on whatever host it ran."""
    lease = custom(context, contract.RUN_LEASE_PROPERTY, 0) if context is not None else 0
    return bool(lease) and lease < (now if now is not None else time.time())


def renew_run_lease(store, run_id: str, lease_seconds: float) -> None:
    """Extends the run context's lease; runners call it while the run lives."""
    context = store.get_context_by_type_and_name(contract.IR_RUN_CONTEXT, run_id)
    if context is not None:
        graph.set_custom(context, contract.RUN_LEASE_PROPERTY, time.time() + lease_seconds)
        store.put_contexts([context])


# The runners that record their process on the run context (runners/local_runner.py,
# runners/orchestrated.py).
_RECORDING_RUNNERS = ("local", "beam", "dagster", "prefect")


def _status(executions, runner: str, context, node_of=None) -> str:
    """The run's status from its executions, oldest first; a node retried within the run (a
    Dagster or Prefect retry records a FAILED execution, then a new one) counts by its newest."""
    if node_of is not None:
        newest = {}
        for execution in executions:
            newest[node_of(execution)] = execution
        executions = list(newest.values())
    states = {e.last_known_state for e in executions}
    if _State.FAILED in states:
        return "FAILED"
    if context is not None and custom(context, contract.RUN_ABANDONED_PROPERTY):
        return "ABANDONED"
    if not executions or states & _UNFINISHED:
        if runner in _RECORDING_RUNNERS and process_gone(context):
            return "ABANDONED"
        if runner in _RECORDING_RUNNERS and lease_expired(context):
            return "STALE"
        return "RUNNING"
    return "COMPLETE"


def record_abandoned(store, pipeline_name: str, by_run_id: str) -> List[str]:
    """Records in MLMD the Local/Beam runs whose process died part-way: each unfinished
    execution becomes CANCELED and the run context gets RUN_ABANDONED_PROPERTY = by_run_id.
    Returns their run ids, oldest first. For a writer: runners/local_runner.py calls it as a run
    starts, so a killed run stops looking RUNNING to every reader, on any host, for good.

    Only runs that never recorded their end (RUN_FINISHED_PROPERTY) and whose process is gone
    are read, so the cost does not grow with the store's history. A run that turns out to have
    finished everything (it was killed after its last node) is marked finished instead."""
    found = []
    for schema, run_id, context in _run_contexts(store, pipeline_name):
        if (schema != "ir" or run_id == by_run_id
                or _runner_of(schema, run_id) not in _RECORDING_RUNNERS
                or custom(context, contract.RUN_FINISHED_PROPERTY)
                or custom(context, contract.RUN_ABANDONED_PROPERTY)
                or not process_gone(context)):
            continue
        executions = store.get_executions_by_context(context.id)
        unfinished = [e for e in executions if e.last_known_state in _UNFINISHED]
        if executions and not unfinished:
            context.custom_properties[contract.RUN_FINISHED_PROPERTY].int_value = 1
            store.put_contexts([context])
            continue
        for execution in unfinished:
            execution.last_known_state = _State.CANCELED
        if unfinished:
            store.put_executions(unfinished)
        context.custom_properties[contract.RUN_ABANDONED_PROPERTY].string_value = by_run_id
        store.put_contexts([context])
        found.append(run_id)
    return found


def record_finished(store, run_id: str) -> None:
    """Marks the run's process as ended on its own (whatever the run's outcome)."""
    context = store.get_context_by_type_and_name(contract.IR_RUN_CONTEXT, run_id)
    if context is not None:
        context.custom_properties[contract.RUN_FINISHED_PROPERTY].int_value = 1
        store.put_contexts([context])


def _outputs_of(store, execution_ids: Iterable[int], key: str) -> Dict[int, List[int]]:
    """{execution id: ids of the artifacts it output under `key`}, one events query."""
    ids = sorted(set(execution_ids))
    out: Dict[int, List[int]] = {}
    for event in store.get_events_by_execution_ids(ids) if ids else []:
        if event.type in _WRITES and key in event_keys(event):
            out.setdefault(event.execution_id, []).append(event.artifact_id)
    return out


def _summaries(store, pipeline_name: str, runs) -> List[RunInfo]:
    """RunInfo for (schema, run id, context) triples: one executions query per run, and a
    handful of batched queries for node names, pushes and spans whatever the number of runs."""
    executions = {c.id: sorted(store.get_executions_by_context(c.id),
                               key=lambda e: (e.create_time_since_epoch, e.id))
                  for _, _, c in runs}
    label = _node_labeler(store, pipeline_name,
                          [e for group in executions.values() for e in group])
    nodes = {e.id: label(e) for group in executions.values() for e in group}
    pushers = [e.id for group in executions.values() for e in group
               if nodes[e.id] == contract.PUSHER and e.last_known_state == _State.COMPLETE]
    example_gens = [e.id for group in executions.values() for e in group
                    if nodes[e.id] == contract.EXAMPLE_GEN]
    pushed_outputs = _outputs_of(store, pushers, contract.PUSHED_MODEL_KEY)
    examples_outputs = _outputs_of(store, example_gens, contract.EXAMPLES_KEY)
    artifact_ids = sorted({a for ids in (*pushed_outputs.values(), *examples_outputs.values())
                           for a in ids})
    artifacts = {a.id: a for a in store.get_artifacts_by_id(artifact_ids)} if artifact_ids else {}

    def pushed(execution_id: int) -> bool:
        return any(facts.pushed(artifacts[a])
                   for a in pushed_outputs.get(execution_id, ()) if a in artifacts)

    def span(execution_id: int) -> Optional[int]:
        for a in examples_outputs.get(execution_id, ()):
            if a in artifacts and facts.span(artifacts[a]) is not None:
                return facts.span(artifacts[a])
        return None

    out = []
    for schema, run_id, context in runs:
        group = executions[context.id]
        runner = _runner_of(schema, run_id)
        status = _status(group, runner, context, lambda e: nodes[e.id])
        spans = [span(e.id) for e in group if nodes[e.id] == contract.EXAMPLE_GEN]
        out.append(RunInfo(
            run_id=run_id,
            runner=runner,
            schema=schema,
            started=_utc(context.create_time_since_epoch),
            ended=None if status in ("RUNNING", "STALE") else _utc(
                max([e.last_update_time_since_epoch for e in group]
                    or [context.create_time_since_epoch])),
            status=status,
            components={nodes[e.id]: STATE_NAMES[e.last_known_state] for e in group},
            pushed=any(pushed(e.id) for e in group),
            span=next((s for s in reversed(spans) if s is not None), None),
            context=context,
        ))
    return out


def count_runs(store, pipeline_name: str) -> int:
    return len(_run_contexts(store, pipeline_name))


def list_runs(store, pipeline_name: str, newest: Optional[int] = None) -> List[RunInfo]:
    """Every run of `pipeline_name` in the store, both schemas, oldest first; only the
    `newest` N when given (listing runs costs a query per run, finding them does not)."""
    return _summaries(store, pipeline_name, _run_contexts(store, pipeline_name, newest))


def _named_context(store, pipeline_name: str, run_id: str):
    """The run context of a run id of this pipeline (IR or Airflow), or None."""
    for schema, type_name, name in (("ir", contract.IR_RUN_CONTEXT, run_id),
                                    ("airflow", contract.AIRFLOW_RUN_CONTEXT,
                                     f"{pipeline_name}.{run_id}")):
        if context_type(store, type_name) is None:
            continue
        context = store.get_context_by_type_and_name(type_name, name)
        if context is None:
            continue
        if schema == "ir":
            parents = {c.name for c in store.get_parent_contexts_by_context(context.id)}
            if pipeline_name not in parents:
                raise NotFound(f"run {run_id!r} is not a run of pipeline {pipeline_name!r}")
            return schema, context
        return schema, context
    return None


def resolve_run(store, pipeline_name: str, spec: str) -> RunInfo:
    """The run a user named: `latest`, `previous` or a run id as `lineage runs` lists it."""
    if spec in (LATEST, PREVIOUS):
        runs = _run_contexts(store, pipeline_name, 2)
        index = -1 if spec == LATEST else -2
        if len(runs) < -index:
            raise NotFound(f"the store has {len(runs)} run(s): no {spec} run")
        return _summaries(store, pipeline_name, [runs[index]])[0]
    found = _named_context(store, pipeline_name, spec)
    if found is None:
        raise NotFound(f"no run {spec!r} in the store (see `lineage runs`)")
    schema, context = found
    return _summaries(store, pipeline_name, [(schema, spec, context)])[0]


def resolve_runs(store, pipeline_name: str, run_ids: Iterable[str]) -> Dict[str, RunInfo]:
    """{run id: RunInfo} of the named runs of this pipeline (unknown ones left out), read
    together: one executions query per run and one node labeling for them all."""
    found = []
    for run_id in dict.fromkeys(run_ids):
        try:
            named = _named_context(store, pipeline_name, run_id)
        except NotFound:
            continue
        if named is not None:
            found.append((named[0], run_id, named[1]))
    return {info.run_id: info for info in _summaries(store, pipeline_name, found)}


def run_graph(store, run: RunInfo) -> Graph:
    """The run's executions with their input and output artifacts."""
    executions = store.get_executions_by_context(run.context.id)
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
    """The artifact id `node` output under `key` in the run, or None."""
    return g.output(nodes[node], key) if node in nodes else None


def latest_output(store, pipeline_name: str, node: str,
                  key: str) -> Optional[metadata_store_pb2.Artifact]:
    """The newest run's output of `node` under `key` (reused from the cache or not)."""
    runs = _run_contexts(store, pipeline_name)
    if not runs:
        return None
    for _, _, context in reversed(runs):
        executions = store.get_executions_by_context(context.id)
        label = _node_labeler(store, pipeline_name, executions)
        executions = [e for e in executions if label(e) == node]
        outputs = _outputs_of(store, [e.id for e in executions], key)
        ids = [a for e in sorted(executions, key=lambda e: (e.create_time_since_epoch, e.id),
                                 reverse=True) for a in outputs.get(e.id, [])]
        if ids:
            return store.get_artifacts_by_id(ids[:1])[0]
    return None


def run_executions(store, pipeline_name: str, run_id: str) -> List[ExecutionRecord]:
    """Every execution of the run, oldest first, with its node, state, seconds and outputs."""
    found = _named_context(store, pipeline_name, run_id)
    if found is None:
        raise NotFound(f"no run {run_id!r} in the store (see `lineage runs`)")
    executions = sorted(store.get_executions_by_context(found[1].id),
                        key=lambda e: (e.create_time_since_epoch, e.id))
    label = _node_labeler(store, pipeline_name, executions)
    types = {t.id: t.name for t in store.get_execution_types()}
    outputs: Dict[int, Dict[str, List[int]]] = {}
    ids = [e.id for e in executions]
    for event in store.get_events_by_execution_ids(ids) if ids else []:
        if event.type in _WRITES:
            for key in event_keys(event) or [""]:
                outputs.setdefault(event.execution_id, {}).setdefault(key, []).append(
                    event.artifact_id)
    artifact_ids = sorted({a for d in outputs.values() for v in d.values() for a in v})
    artifacts = {a.id: a for a in store.get_artifacts_by_id(artifact_ids)} if artifact_ids else {}
    records = []
    for e in executions:
        seconds = None
        if e.last_update_time_since_epoch and e.create_time_since_epoch:
            seconds = (e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000.0
        records.append(ExecutionRecord(
            e.id, label(e), types.get(e.type_id, "?"), STATE_NAMES.get(e.last_known_state,
                                                                      "UNKNOWN"),
            seconds, {k: [artifacts[i] for i in v if i in artifacts]
                      for k, v in outputs.get(e.id, {}).items()}))
    return records


def pushed_destinations(records: List[ExecutionRecord]) -> List[str]:
    """Where the run's Pusher put the model (empty when nothing was pushed)."""
    out = []
    for record in records:
        for artifact in record.outputs.get(contract.PUSHED_MODEL_KEY, []):
            if custom(artifact, contract.PUSHED_PROPERTY, 0) == 1:
                out.append(custom(artifact, contract.PUSHED_DESTINATION_PROPERTY))
    return out
