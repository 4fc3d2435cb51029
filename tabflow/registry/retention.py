"""`tabflow gc`: remove the files of old artifacts without breaking lineage.

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

What gc may delete (tabflow/registry/containment.py): only artifacts of this pipeline's contexts (a store
shared with another pipeline keeps the other's, even where URIs overlap), whose real path lies
inside the pipeline root's real path (a symlinked URI is unlinked, its target never touched),
and never a folder that holds, or is, a kept artifact or the serving folder. Each artifact
refused for one of these reasons is listed in the plan's `skipped`.
"""
import bisect
import os
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set

from ml_metadata.proto import metadata_store_pb2 as mlmd_pb2

from tabflow.metadata import drift, graph
from tabflow.metadata import runs as mlmd_runs
from tabflow.metadata.graph import custom, set_custom
from tabflow import contract as C
from tabflow.registry import catalog, containment, serving


@dataclass
class Removal:
    artifact_id: int
    type_name: str
    uri: str
    bytes: int
    run_id: str


@dataclass
class Skip:
    artifact_id: int
    uri: str
    reason: str


@dataclass
class Plan:
    pipeline_root: str = ""
    artifacts: List[Removal] = field(default_factory=list)
    skipped: List[Skip] = field(default_factory=list)
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


def _pipeline_artifacts(store, pipeline_name: str, runs) -> tuple:
    """(ids of the artifacts attributed to this pipeline's contexts, {id: name of another
    pipeline whose contexts the artifact is attributed to})."""
    ours: Set[int] = set()
    others: Dict[int, str] = {}
    for context in store.get_contexts_by_type(C.PIPELINE_CONTEXT):
        ids = {a.id for a in store.get_artifacts_by_context(context.id)}
        if context.name == pipeline_name:
            ours |= ids
        else:
            others.update({i: context.name for i in ids})
    for run in runs:
        if run.context is not None:
            ours |= {a.id for a in store.get_artifacts_by_context(run.context.id)}
    return ours, others


def _holds(folder: str, protected: List[str]) -> Optional[str]:
    """A protected path equal to or inside `folder` (protected is sorted), or None."""
    i = bisect.bisect_left(protected, folder)
    if i < len(protected) and protected[i] == folder:
        return folder
    i = bisect.bisect_left(protected, folder + os.sep)
    if i < len(protected) and protected[i].startswith(folder + os.sep):
        return protected[i]
    return None


def _size(path: str) -> int:
    return 0 if os.path.islink(path) else serving.folder_bytes(path)


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
    from tabflow.lineage.trace import trace
    from tabflow.metadata.artifacts import described_entries
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
         keep_versions: int, force: bool = False) -> Plan:
    """force: plan even while a STALE run is recorded (a run of another host or container
    that stopped renewing its lease: its process is most likely gone, but only a person can
    tell). A RUNNING run always refuses."""
    runs = mlmd_runs.list_runs(store, pipeline_name)
    running = [r.run_id for r in runs if r.status == "RUNNING"]
    if running:
        # A live run may be about to read any cached artifact.
        raise ValueError(f"run {running[-1]} is still running: run gc when it has finished")
    stale = [r for r in runs if r.status == "STALE"]
    if stale and not force:
        host = stale[-1].context.custom_properties[C.RUN_HOST_PROPERTY].string_value
        raise ValueError(f"run {stale[-1].run_id} (host {host or '?'}) is STALE: its process "
                         "stopped renewing its lease; if it is gone, run gc --force")
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

    out = Plan(pipeline_root=pipeline_root, kept_versions=kept_versions)
    everything = store.get_artifacts()
    candidates = [a for a in everything
                  if a.state == mlmd_pb2.Artifact.LIVE and a.id not in keep
                  and a.uri and _inside(a.uri, pipeline_root) and os.path.lexists(a.uri)]
    ours, others = _pipeline_artifacts(store, pipeline_name, runs)
    # Another pipeline's own artifacts are never gc's to consider, so not listed as skipped.
    candidates = [a for a in candidates if a.id in ours or a.id not in others]
    refused: Dict[int, str] = {}
    for artifact in candidates:
        if artifact.id in others:
            refused[artifact.id] = f"an artifact of pipeline {others[artifact.id]!r}"
        elif artifact.id not in ours:
            refused[artifact.id] = f"not an artifact of pipeline {pipeline_name!r}"
        else:
            why = containment.refusal(artifact.uri, pipeline_root)
            if why is not None:
                refused[artifact.id] = why
    # Everything that stays, by real path: no removal may be, or hold, one of them.
    removable = {a.id for a in candidates if a.id not in refused}
    protected = sorted({containment.real_location(a.uri) for a in everything
                        if a.uri and a.id not in removable
                        and a.state != mlmd_pb2.Artifact.DELETED and "://" not in a.uri}
                       | ({os.path.realpath(serving_dir)} if serving.is_local(serving_dir)
                          else set()))
    for artifact in candidates:
        if artifact.id in removable:
            kept = _holds(containment.real_location(artifact.uri), protected)
            if kept is not None:
                refused[artifact.id] = f"it holds {kept}, which is kept"
    type_names = {t.id: t.name for t in store.get_artifact_types()}
    producers = _producer_runs(store, [a.id for a in candidates if a.id not in refused])
    for artifact in candidates:
        if artifact.id in refused:
            out.skipped.append(Skip(artifact.id, artifact.uri, refused[artifact.id]))
            continue
        out.artifacts.append(Removal(artifact.id, type_names.get(artifact.type_id, "?"),
                                     artifact.uri, _size(artifact.uri),
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
        try:
            containment.remove(removal.uri, gc_plan.pipeline_root)
        except containment.OutsideRoot as e:  # changed since the plan was made
            gc_plan.skipped.append(Skip(removal.artifact_id, removal.uri, str(e)))
            continue
        artifact.state = mlmd_pb2.Artifact.DELETED
        set_custom(artifact, C.FILES_REMOVED_PROPERTY, now)
        store.put_artifacts([artifact])
        freed += removal.bytes
    for version in gc_plan.versions:
        freed += serving.remove_version(serving_dir, version)
        [pushed] = store.get_artifacts_by_id([gc_plan.version_pushes[version]])
        set_custom(pushed, C.SERVING_REMOVED_PROPERTY, now)
        store.put_artifacts([pushed])
    return freed
