"""What the serving folder has held, read from MLMD: every pushed version with the run, span,
test value of the headline metric and baseline behind it, and every alias change ("what
served when")."""
import os
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Set

from ml_metadata import errors as mlmd_errors
from ml_metadata.metadata_store import ListOptions

from tabflow.artifacts import evaluation as tfma_files
from tabflow.metadata import graph
from tabflow.metadata.artifacts import iso_time
from tabflow.metadata import runs as mlmd_runs
from tabflow.metadata.graph import custom
from tabflow import contract as C
from tabflow.registry import serving
from tabflow.metadata import facts


@dataclass
class Version:
    version: int
    pushed_model_id: int
    model_id: Optional[int]
    destination: str
    pushed_at: str
    run_id: Optional[str]
    span: Optional[int]
    # The metric the Evaluator gated on (its TFMA key and its name for people) and its value
    # on the test split; None where the evaluation's files are gone.
    test_metric: Optional[str]
    test_title: Optional[str]
    test_value: Optional[float]
    blessed: Optional[bool]
    baseline_model_id: Optional[int]
    baseline_version: Optional[int]
    override: bool
    override_reason: str
    files_exist: bool
    aliases: List[str] = field(default_factory=list)
    created_ms: int = 0

    def to_json(self) -> dict:
        out = asdict(self)
        out.pop("created_ms")
        return out


def _pushed_models(store, serving_dir: str):
    try:
        return [a for a in store.get_artifacts(list_options=ListOptions(filter_query=(
            f"type = '{C.PUSHED_MODEL_TYPE}' AND "
            f"{facts.PUSHED_FILTER}")))
            if os.path.dirname(custom(a, C.PUSHED_DESTINATION_PROPERTY, "").rstrip("/"))
            == os.path.normpath(serving_dir)]
    except mlmd_errors.NotFoundError:
        return []


def pushed_versions(store, serving_dir: str) -> Set[int]:
    """The versions MLMD records a push of into `serving_dir`."""
    return {int(custom(a, C.PUSHED_VERSION_PROPERTY, "0") or 0)
            for a in _pushed_models(store, serving_dir)}


def versions(store, pipeline_name: str, serving_dir: str,
             model_ids: Optional[Set[int]] = None,
             newest: Optional[int] = None) -> List[Version]:
    """The versions pushed into `serving_dir`, oldest first, with their aliases now: every one,
    or those of `model_ids`, or the `newest` N and every aliased one. Each listed version's
    judgement costs a few lineage queries, so a store of many pushes is read for the rows
    asked for only."""
    from tabflow.metadata.judgement import judgement_section
    pushed = sorted(_pushed_models(store, serving_dir),
                    key=lambda a: (a.create_time_since_epoch, a.id))
    if not pushed:
        return []
    labels = serving.read_labels(serving_dir) if serving.is_local(serving_dir) else {}
    g = graph.load(store, "upstream", 2, artifact_ids=[a.id for a in pushed])

    def model_of(artifact):
        producer = g.producer(artifact.id)
        return g.input(producer, C.PUSHER_INPUT_MODEL) if producer is not None else None

    # Every version's model, so a listed version names the version it beat even unlisted.
    version_of_model = {model_of(a): int(custom(a, C.PUSHED_VERSION_PROPERTY, "0") or 0)
                        for a in pushed}
    if newest is not None:
        aliased = {str(v) for v in labels.values()}
        pushed = [a for i, a in enumerate(pushed) if i >= len(pushed) - newest
                  or str(custom(a, C.PUSHED_VERSION_PROPERTY, "")) in aliased]
    if model_ids is not None:
        pushed = [a for a in pushed if model_of(a) in model_ids]
    producers = {a.id: g.producer(a.id) for a in pushed}
    run_ids = {i: g.run_id(p) if p is not None else None for i, p in producers.items()}
    # The runs' spans, read together (a run at a time would label every run's nodes anew).
    spans: Dict[str, Optional[int]] = {
        run_id: info.span for run_id, info in mlmd_runs.resolve_runs(
            store, pipeline_name, [r for r in run_ids.values() if r is not None]).items()}
    out = []
    for artifact in pushed:
        producer = producers[artifact.id]
        model_id = g.input(producer, C.PUSHER_INPUT_MODEL) if producer is not None else None
        blessing_id = (g.input(producer, C.PUSHER_INPUT_BLESSING)
                       if producer is not None else None)
        judged = (judgement_section(store, g, model_id, blessing_id)
                  if model_id is not None else {})
        evaluation = judged.get("evaluation") or {}
        headline = (tfma_files.headline(evaluation["uri"]) if evaluation.get("uri") else None) \
            or {}
        metric = headline.get("metric")
        blessing = judged.get("blessing") or {}
        run_id = run_ids[artifact.id]
        version = int(custom(artifact, C.PUSHED_VERSION_PROPERTY, "0") or 0)
        destination = custom(artifact, C.PUSHED_DESTINATION_PROPERTY, "")
        out.append(Version(
            version=version, pushed_model_id=artifact.id, model_id=model_id,
            destination=destination, pushed_at=iso_time(artifact.create_time_since_epoch),
            run_id=run_id, span=spans.get(run_id),
            test_metric=metric, test_title=headline.get("title"),
            test_value=(evaluation.get("metrics") or {}).get("candidate", {}).get(metric)
            if metric else None,
            blessed=blessing.get("blessed"),
            baseline_model_id=blessing.get("baseline_model_id"), baseline_version=None,
            override=bool(custom(artifact, C.OVERRIDE_PROPERTY, 0)),
            override_reason=custom(artifact, C.OVERRIDE_REASON_PROPERTY, ""),
            files_exist=os.path.isdir(destination),
            aliases=sorted(a for a, v in labels.items() if v == version),
            created_ms=artifact.create_time_since_epoch))
    for v in out:
        v.baseline_version = version_of_model.get(v.baseline_model_id)
    return sorted(out, key=lambda v: (v.created_ms, v.version))


def history(store, serving_dir: str) -> List[dict]:
    """Every change of alias in `serving_dir`, oldest first: each push made `serving` point
    at its version; each promote and rollback is an alias-change execution."""
    events = []
    for artifact in _pushed_models(store, serving_dir):
        if custom(artifact, C.OVERRIDE_PROPERTY, 0):
            continue  # installed by a forced promote: its alias-change execution says so
        events.append({"time_ms": artifact.create_time_since_epoch, "alias": C.SERVING_ALIAS,
                       "version": int(custom(artifact, C.PUSHED_VERSION_PROPERTY, "0") or 0),
                       "action": "push", "reason": "", "user": "", "execution_id": None})
    for execution in alias_changes(store):
        if custom(execution, "serving_dir") != os.path.normpath(serving_dir):
            continue
        events.append({"time_ms": execution.create_time_since_epoch,
                       "alias": custom(execution, "alias"),
                       "version": int(custom(execution, "version", "0") or 0),
                       "action": custom(execution, "action"),
                       "reason": custom(execution, "reason", ""),
                       "user": custom(execution, "user", ""),
                       "execution_id": execution.id})
    events.sort(key=lambda e: (e["time_ms"], e["execution_id"] or 0))
    for e in events:
        e["time"] = iso_time(e.pop("time_ms"))
    return events


def alias_changes(store) -> list:
    try:
        return sorted(store.get_executions_by_type(C.ALIAS_CHANGE_TYPE),
                      key=lambda e: (e.create_time_since_epoch, e.id))
    except mlmd_errors.NotFoundError:
        return []

