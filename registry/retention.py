"""`taxi-pipeline gc`: remove the files of old artifacts without breaking lineage.

Kept, whatever their age:
- every artifact an execution of the newest `keep_runs` runs read or wrote (cached ones too:
  those are what the next run's cache will point at);
- for each aliased version and each of the newest `keep_versions` pushed versions: the push,
  everything upstream of its model (data, schema, transform, tuning, the run's provenance) and
  every artifact of the runs that made them, so its `lineage trace` stays whole;
- the statistics and Examples the drift gate compares the next span with.
Everything else under the pipeline root loses its files. Its MLMD record stays, with state
DELETED and the time of removal (FILES_REMOVED_PROPERTY); TFX's cache never reuses an execution
whose outputs are not LIVE, and its resolvers skip such artifacts, so a later run that would
have reused one computes it again. Serving versions neither aliased nor among the newest
`keep_versions` are removed from the serving folder (the model config only lists aliased ones).
"""
import os
import shutil
import time
from dataclasses import dataclass, field
from typing import Dict, List, Set

from ml_metadata.proto import metadata_store_pb2 as mlmd_pb2

from metadata import drift, graph
from metadata import runs as mlmd_runs
from metadata.graph import custom
from pipeline import contract as C
from registry import catalog, serving


@dataclass
class Removal:
    artifact_id: int
    type_name: str
    uri: str
    bytes: int
    run_id: str


@dataclass
class Plan:
    artifacts: List[Removal] = field(default_factory=list)
    versions: List[int] = field(default_factory=list)
    version_bytes: Dict[int, int] = field(default_factory=dict)
    # version -> its PushedModel id, for the versions to remove
    version_pushes: Dict[int, int] = field(default_factory=dict)
    kept_artifacts: int = 0
    kept_versions: List[int] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.artifacts) + sum(self.version_bytes.values())


def _inside(path: str, root: str) -> bool:
    path, root = os.path.normpath(path), os.path.normpath(root)
    return path.startswith(root + os.sep)


def _run_artifacts(store, contexts) -> Set[int]:
    """Every artifact an execution of these run contexts read or wrote."""
    execution_ids = [e.id for c in contexts for e in store.get_executions_by_context(c.id)]
    out: Set[int] = set()
    for chunk in range(0, len(execution_ids), 100):
        out |= {ev.artifact_id for ev in
                store.get_events_by_execution_ids(execution_ids[chunk:chunk + 100])}
    return out


def _trace_artifacts(store, entry: catalog.Version) -> Set[int]:
    """Every artifact the version's `lineage trace` names, everything upstream of its model,
    and the provenance of the run that trained it."""
    from lineage.trace import trace
    from metadata.artifacts import described_entries
    report = trace(store, str(entry.pushed_model_id))
    keep = {e["id"] for e in described_entries(report)} | {entry.pushed_model_id}
    if entry.model_id is not None:
        g = graph.load(store, "upstream", graph.MAX_HOPS, artifact_ids=[entry.model_id])
        keep |= set(g.artifacts)
        trainer = g.producer(entry.model_id)
        context = g.run_context(trainer) if trainer is not None else None
        if context is not None:
            keep |= {a.id for a in store.get_artifacts_by_context(context.id)
                     if a.type_id in _provenance_types(store)}
    return keep


def _provenance_types(store) -> Set[int]:
    return {t.id for t in store.get_artifact_types() if t.name in C.PROVENANCE_TYPES}


def _drift_baseline(store, pipeline_name: str) -> Set[int]:
    """The newest passed span's report, statistics and Examples: the next span's baseline."""
    context = store.get_context_by_type_and_name(C.PIPELINE_CONTEXT, pipeline_name)
    reports = [r for r in (drift.passed_reports(store, context.id) if context is not None
                           else []) if drift.live(store, r)]
    if not reports:
        return set()
    newest = max(reports, key=lambda r: (drift.span_of(r) or 0, r.id))
    return {newest.id, custom(newest, C.STATISTICS_ID_PROPERTY),
            custom(newest, C.EXAMPLES_ID_PROPERTY)}


def plan(store, pipeline_name: str, pipeline_root: str, serving_dir: str, keep_runs: int,
         keep_versions: int) -> Plan:
    runs = mlmd_runs.list_runs(store, pipeline_name)
    running = [r.run_id for r in runs if r.status == "RUNNING"]
    if running:
        # A live run may be about to read any cached artifact.
        raise ValueError(f"run {running[-1]} is still running: run gc when it has finished")
    keep = _run_artifacts(store, [r.context for r in runs[-keep_runs:]] if keep_runs else [])
    entries = catalog.versions(store, pipeline_name, serving_dir)
    labels = serving.read_labels(serving_dir) if serving.is_local(serving_dir) else {}
    live = [e for e in entries if e.files_exist]
    kept_versions = sorted({v for v in labels.values()} |
                           {e.version for e in live[-keep_versions:]} if keep_versions
                           else set(labels.values()))
    for entry in entries:
        if entry.version in kept_versions:
            keep |= _trace_artifacts(store, entry)
    keep |= _drift_baseline(store, pipeline_name)

    out = Plan(kept_versions=kept_versions)
    candidates = [a for a in store.get_artifacts()
                  if a.state == mlmd_pb2.Artifact.LIVE and a.id not in keep
                  and a.uri and _inside(a.uri, pipeline_root) and os.path.exists(a.uri)]
    type_names = {t.id: t.name for t in store.get_artifact_types()}
    producers = _producer_runs(store, [a.id for a in candidates])
    for artifact in candidates:
        out.artifacts.append(Removal(artifact.id, type_names.get(artifact.type_id, "?"),
                                     artifact.uri, serving.folder_bytes(artifact.uri),
                                     producers.get(artifact.id, "")))
    out.kept_artifacts = len(keep)
    if serving.is_local(serving_dir):
        for e in live:
            if e.version not in kept_versions:
                out.versions.append(e.version)
                out.version_bytes[e.version] = serving.folder_bytes(e.destination)
                out.version_pushes[e.version] = e.pushed_model_id
    return out


def _producer_runs(store, artifact_ids: List[int]) -> Dict[int, str]:
    out: Dict[int, str] = {}
    for chunk in range(0, len(artifact_ids), 100):
        events = [ev for ev in store.get_events_by_artifact_ids(artifact_ids[chunk:chunk + 100])
                  if ev.type in (mlmd_pb2.Event.OUTPUT, mlmd_pb2.Event.DECLARED_OUTPUT)]
        for ev in events:
            for context in store.get_contexts_by_execution(ev.execution_id):
                if context.name and context.type_id and ev.artifact_id not in out:
                    kind = store.get_context_types_by_id([context.type_id])[0].name
                    if kind in C.RUN_CONTEXT_TYPES:
                        out[ev.artifact_id] = graph.run_id_of(context, kind)
    return out


def apply(store, serving_dir: str, gc_plan: Plan) -> int:
    """Removes what the plan lists; returns the bytes freed. Each artifact's record is marked
    right after its files go, so an interrupted gc leaves no record pointing at nothing."""
    freed = 0
    now = int(time.time() * 1000)
    for removal in gc_plan.artifacts:
        [artifact] = store.get_artifacts_by_id([removal.artifact_id])
        if os.path.isdir(removal.uri):
            shutil.rmtree(removal.uri)
        elif os.path.exists(removal.uri):
            os.unlink(removal.uri)
        artifact.state = mlmd_pb2.Artifact.DELETED
        artifact.custom_properties[C.FILES_REMOVED_PROPERTY].int_value = now
        store.put_artifacts([artifact])
        freed += removal.bytes
    for version in gc_plan.versions:
        freed += serving.remove_version(serving_dir, version)
        [pushed] = store.get_artifacts_by_id([gc_plan.version_pushes[version]])
        pushed.custom_properties[C.SERVING_REMOVED_PROPERTY].int_value = now
        store.put_artifacts([pushed])
    return freed
