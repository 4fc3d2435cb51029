"""MLMD lineage subgraphs, loaded in a few batched calls and indexed for navigation.

Facts about TFX's records that the navigation relies on:
- A CACHED execution also has OUTPUT events to the artifacts it reused, so an artifact's
  producer is the COMPLETE execution with an OUTPUT event to it; the CACHED ones are reusers.
- One event can carry several input keys (its path holds key/index pairs): when a model is
  both the Evaluator's candidate and its baseline, MLMD keeps one INPUT event for both.
- Local and Beam runs are `pipeline_run` contexts and name their nodes in `node` contexts;
  Airflow runs are `run` contexts ("<pipeline>.<run id>") and executions carry `component_id`.
"""
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional

from ml_metadata.proto import metadata_store_pb2 as mlmd_pb2

from tabflow import contract

MAX_HOPS = 100  # MLMD's limit for get_lineage_subgraph
MAX_STARTING_NODES = 100
STATE_NAMES = {v: k for k, v in mlmd_pb2.Execution.State.items()}

_Options = mlmd_pb2.LineageSubgraphQueryOptions
INPUT_EVENTS = (mlmd_pb2.Event.INPUT, mlmd_pb2.Event.DECLARED_INPUT, mlmd_pb2.Event.INTERNAL_INPUT)
# A resolver's INTERNAL_OUTPUT hands an existing artifact over: an output, but not a write.
WRITE_EVENTS = (mlmd_pb2.Event.OUTPUT, mlmd_pb2.Event.DECLARED_OUTPUT)
OUTPUT_EVENTS = (*WRITE_EVENTS, mlmd_pb2.Event.INTERNAL_OUTPUT)


def event_keys(event) -> List[str]:
    return [step.key for step in event.path.steps if step.HasField("key")]


def property_value(value):
    """A Value proto as a plain Python value."""
    kind = value.WhichOneof("value")
    if kind in ("int_value", "double_value", "string_value", "bool_value"):
        return getattr(value, kind)
    if kind == "struct_value":
        from google.protobuf import json_format
        return json_format.MessageToDict(value.struct_value)
    return None


# MLMD's MySQL schema keeps int_value in a 32-bit INT column: a number that may outgrow it
# (a time, clock ticks since boot) is stored as a double.
_MYSQL_INT_MAX = 2**31 - 1


def set_custom(node, name: str, value) -> None:
    """Sets a custom property from a plain Python value (int, float or str), in a form every
    MLMD backend stores."""
    if isinstance(value, bool):
        node.custom_properties[name].int_value = int(value)
    elif isinstance(value, int) and abs(value) <= _MYSQL_INT_MAX:
        node.custom_properties[name].int_value = value
    elif isinstance(value, (int, float)):
        node.custom_properties[name].double_value = float(value)
    else:
        node.custom_properties[name].string_value = str(value)


def custom(node, name: str, default=None):
    if name in node.custom_properties:
        return property_value(node.custom_properties[name])
    if name in node.properties:
        return property_value(node.properties[name])
    return default


@dataclass
class Graph:
    """Artifacts, executions, events and contexts of one or more merged lineage subgraphs."""
    artifacts: Dict[int, mlmd_pb2.Artifact] = field(default_factory=dict)
    executions: Dict[int, mlmd_pb2.Execution] = field(default_factory=dict)
    contexts: Dict[int, mlmd_pb2.Context] = field(default_factory=dict)
    events: Dict[tuple, mlmd_pb2.Event] = field(default_factory=dict)
    type_names: Dict[int, str] = field(default_factory=dict)  # MLMD type ids are global
    execution_contexts: Dict[int, set] = field(default_factory=dict)
    _events_by_execution: Dict[int, Dict[tuple, mlmd_pb2.Event]] = field(default_factory=dict)
    _events_by_artifact: Dict[int, Dict[tuple, mlmd_pb2.Event]] = field(default_factory=dict)

    def add(self, lineage: mlmd_pb2.LineageGraph) -> "Graph":
        for t in (*lineage.artifact_types, *lineage.execution_types, *lineage.context_types):
            self.type_names[t.id] = t.name
        self.artifacts.update((a.id, a) for a in lineage.artifacts)
        self.executions.update((e.id, e) for e in lineage.executions)
        self.contexts.update((c.id, c) for c in lineage.contexts)
        for event in lineage.events:
            key = (event.artifact_id, event.execution_id, event.type)
            self.events[key] = event
            self._events_by_execution.setdefault(event.execution_id, {})[key] = event
            self._events_by_artifact.setdefault(event.artifact_id, {})[key] = event
        for assoc in lineage.associations:
            self.execution_contexts.setdefault(assoc.execution_id, set()).add(assoc.context_id)
        return self

    # --- navigation --------------------------------------------------------------------------
    def type_name(self, node) -> str:
        return self.type_names.get(node.type_id, "?")

    def state(self, execution_id: int) -> str:
        return STATE_NAMES.get(self.executions[execution_id].last_known_state, "UNKNOWN")

    def _edges(self, kinds, execution_id=None, artifact_id=None):
        """Events of the given kinds touching one execution or one artifact."""
        if execution_id is not None:
            events = self._events_by_execution.get(execution_id, {}).values()
        else:
            events = self._events_by_artifact.get(artifact_id, {}).values()
        return [event for event in events if event.type in kinds]

    def inputs(self, execution_id: int) -> Dict[str, List[int]]:
        return self._by_key(self._edges(INPUT_EVENTS, execution_id=execution_id))

    def outputs(self, execution_id: int) -> Dict[str, List[int]]:
        return self._by_key(self._edges(OUTPUT_EVENTS, execution_id=execution_id))

    def written(self, execution_id: int) -> Dict[str, List[int]]:
        """What the execution wrote: its outputs less what a resolver only handed on."""
        return self._by_key(self._edges(WRITE_EVENTS, execution_id=execution_id))

    @staticmethod
    def _by_key(events) -> Dict[str, List[int]]:
        out: Dict[str, List[int]] = {}
        for event in events:
            for key in event_keys(event) or [""]:
                ids = out.setdefault(key, [])
                if event.artifact_id not in ids:
                    ids.append(event.artifact_id)
        return out

    def input(self, execution_id: int, key: str) -> Optional[int]:
        ids = self.inputs(execution_id).get(key, [])
        return ids[0] if ids else None

    def output(self, execution_id: int, key: str) -> Optional[int]:
        ids = self.outputs(execution_id).get(key, [])
        return ids[0] if ids else None

    def writers(self, artifact_id: int) -> List[int]:
        """Executions that output the artifact (not resolvers handing it on), oldest first."""
        ids = {e.execution_id for e in self._edges(WRITE_EVENTS, artifact_id=artifact_id)
               if e.execution_id in self.executions}
        return sorted(ids, key=lambda i: (self.executions[i].create_time_since_epoch, i))

    def producer(self, artifact_id: int) -> Optional[int]:
        """The COMPLETE execution that wrote the artifact (not the CACHED runs reusing it)."""
        complete = [i for i in self.writers(artifact_id) if self.state(i) == "COMPLETE"]
        return complete[0] if complete else None

    def consumers(self, artifact_id: int, key: Optional[str] = None) -> List[int]:
        ids = {e.execution_id for e in self._edges(INPUT_EVENTS, artifact_id=artifact_id)
               if e.execution_id in self.executions and (key is None or key in event_keys(e))}
        return sorted(ids, key=lambda i: (self.executions[i].create_time_since_epoch, i))

    def _context_of(self, execution_id: int, kinds) -> Optional[mlmd_pb2.Context]:
        for context_id in self.execution_contexts.get(execution_id, ()):
            context = self.contexts.get(context_id)
            if context is not None and self.type_name(context) in kinds:
                return context
        return None

    def node_id(self, execution_id: int) -> str:
        execution = self.executions[execution_id]
        component_id = custom(execution, "component_id")
        if component_id:  # Airflow's legacy launcher
            return component_id
        node = self._context_of(execution_id, contract.NODE_CONTEXT_TYPES)
        if node is not None:
            return node.name.split(".", 1)[-1]
        return self.type_name(execution).rsplit(".", 1)[-1]

    def run_context(self, execution_id: int) -> Optional[mlmd_pb2.Context]:
        return self._context_of(execution_id, contract.RUN_CONTEXT_TYPES)

    def run_id(self, execution_id: int) -> Optional[str]:
        context = self.run_context(execution_id)
        return run_id_of(context, self.type_name(context)) if context is not None else None

    def artifacts_of_type(self, type_name: str) -> List[mlmd_pb2.Artifact]:
        return sorted((a for a in self.artifacts.values() if self.type_name(a) == type_name),
                      key=lambda a: a.id)


def run_id_of(context, type_name: str) -> str:
    """The run id a run context stands for: Airflow's `run` contexts are "<pipeline>.<run id>"."""
    if type_name == contract.AIRFLOW_RUN_CONTEXT and "." in context.name:
        return custom(context, "run_id") or context.name.split(".", 1)[1]
    return context.name


# Traversals stop at CACHED executions (they only repeat their producer's edges, once per run,
# so they would grow every query with the number of runs) and at resolvers (an INTERNAL_OUTPUT
# edge to each model they hand over). load_reuse counts the CACHED writers back, in one batch,
# for the artifacts a report names.
_PRUNED_EXECUTIONS = ("last_known_state = CACHED OR "
                      f"type = '{contract.RESOLVER_EXECUTION_TYPE}'")


_SUBGRAPH_FIELDS = ["artifacts", "executions", "events", "associations", "artifact_types",
                    "execution_types"]


def _query(store, direction, hops: int, artifact_ids=(), execution_ids=(),
           prune: bool = True) -> mlmd_pb2.LineageGraph:
    options = _Options(max_num_hops=hops, direction=direction)
    if prune:
        options.ending_executions.filter_query = _PRUNED_EXECUTIONS
        options.ending_executions.include_ending_nodes = False
    if artifact_ids:
        options.starting_artifacts.filter_query = f"id IN ({', '.join(map(str, artifact_ids))})"
    else:
        options.starting_executions.filter_query = \
            f"id IN ({', '.join(map(str, execution_ids))})"
    # Asking MLMD for contexts would return every context any node is attributed to: the
    # curated schema belongs to every run, so on a store with many runs that is thousands.
    # Only the contexts of the subgraph's executions are needed, fetched by id.
    lineage = store.get_lineage_subgraph(options, field_mask_paths=_SUBGRAPH_FIELDS)
    context_ids = sorted({a.context_id for a in lineage.associations})
    if context_ids:
        lineage.contexts.extend(store.get_contexts_by_id(context_ids))
        lineage.context_types.extend(store.get_context_types())
    return lineage


def _chunks(ids: Iterable[int]):
    ids = sorted(set(ids))
    for start in range(0, len(ids), MAX_STARTING_NODES):
        yield ids[start:start + MAX_STARTING_NODES]


def load(store, direction: str, hops: int, artifact_ids=(), execution_ids=(),
         graph: Optional[Graph] = None) -> Graph:
    """Merge the UPSTREAM or DOWNSTREAM subgraph of the given nodes into `graph`."""
    graph = graph or Graph()
    kind = {"upstream": _Options.UPSTREAM, "downstream": _Options.DOWNSTREAM}[direction]
    for chunk in _chunks(artifact_ids):
        graph.add(_query(store, kind, hops, artifact_ids=chunk))
    for chunk in _chunks(execution_ids):
        graph.add(_query(store, kind, hops, execution_ids=chunk))
    return graph


def load_executions(store, execution_ids, graph: Optional[Graph] = None) -> Graph:
    """The executions with every event, artifact and context they touch (one hop)."""
    graph = graph or Graph()
    for chunk in _chunks(execution_ids):
        graph.add(_query(store, _Options.BIDIRECTIONAL, 1, execution_ids=chunk, prune=False))
    return graph


def associations(store, execution_ids) -> List[mlmd_pb2.Association]:
    """The (execution, context) pairs of up to MAX_STARTING_NODES executions, one zero-hop
    lineage query. MLMD indexes associations by context only: get_contexts_by_execution scans
    them all, and a node context's executions are its whole history."""
    options = _Options(max_num_hops=0)
    options.starting_executions.filter_query = \
        f"id IN ({', '.join(map(str, execution_ids))})"
    return list(store.get_lineage_subgraph(options, field_mask_paths=["associations"])
                .associations)


def load_reuse(store, artifact_ids, graph: Graph) -> Dict[int, List[int]]:
    """{artifact id: ids of the CACHED executions that re-output it, oldest first}.

    One events query; the newest reuser of each artifact is loaded into `graph` (with its run
    context) by one zero-hop subgraph query. Loading every reuser would cost a query per 100
    runs, and a report only names the count and the latest run.
    """
    ids = sorted(set(artifact_ids))
    if not ids:
        return {}
    reusers: Dict[int, set] = {i: set() for i in ids}
    for event in store.get_events_by_artifact_ids(ids):
        if event.type in WRITE_EVENTS:
            reusers[event.artifact_id].add(event.execution_id)
    out = {}
    for artifact_id, writers in reusers.items():
        producer = graph.producer(artifact_id)
        out[artifact_id] = sorted(writers - {producer})  # ids grow with creation time
    newest = [r[-1] for r in out.values() if r and r[-1] not in graph.executions]
    for chunk in _chunks(newest):
        options = _Options(max_num_hops=0, direction=_Options.UPSTREAM)
        options.starting_executions.filter_query = f"id IN ({', '.join(map(str, chunk))})"
        graph.add(store.get_lineage_subgraph(options, field_mask_paths=[
            "executions", "contexts", "associations", "execution_types", "context_types"]))
    return out
