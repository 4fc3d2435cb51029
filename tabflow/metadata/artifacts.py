"""Artifacts as readers present them: what an artifact is, which run made it, which reused it."""
from typing import Dict, Optional

from tabflow.metadata import graph
from tabflow.metadata.graph import Graph, custom
from tabflow import contract as C


def describe(g: Graph, artifact_id: Optional[int]) -> Optional[Dict[str, object]]:
    """id, type, uri and the node and run that produced it; `fill_reuse` adds how later runs
    reused it. None for an artifact the graph does not hold."""
    if artifact_id is None or artifact_id not in g.artifacts:
        return None
    artifact = g.artifacts[artifact_id]
    producer = g.producer(artifact_id)
    entry = {"id": artifact_id, "type": g.type_name(artifact), "uri": artifact.uri,
             "produced_by": None if producer is None else g.node_id(producer),
             "run": None if producer is None else g.run_id(producer),
             "reuse_count": 0, "last_reused_by_run": None}
    removed = custom(artifact, C.FILES_REMOVED_PROPERTY)
    if removed:  # `tabflow gc` removed its files; the record stays
        entry["files_removed_at"] = iso_time(removed)
    return entry


def iso_time(millis: int) -> str:
    """An MLMD time (ms since the epoch) as an ISO 8601 UTC string, to the second."""
    import datetime
    return datetime.datetime.fromtimestamp(millis / 1000, datetime.timezone.utc) \
        .isoformat(timespec="seconds")


def describe_in_run(g: Graph, artifact_id: Optional[int], run_id: str) -> Optional[dict]:
    """describe() plus `reused`: whether the run took the artifact from an earlier run."""
    entry = describe(g, artifact_id)
    if entry is not None:
        entry["reused"] = entry["run"] is not None and entry["run"] != run_id
    return entry


def fill_reuse(store, g: Graph, entries) -> None:
    """Set each described artifact's reuse_count (runs that took it from the cache) and
    last_reused_by_run, for all entries in one batch."""
    entries = [e for e in entries if e]
    reusers = graph.load_reuse(store, [e["id"] for e in entries], g)
    for entry in entries:
        executions = reusers.get(entry["id"], [])
        entry["reuse_count"] = len(executions)
        entry["last_reused_by_run"] = g.run_id(executions[-1]) if executions else None


def described_entries(value):
    """Every describe() entry inside a nested report (dicts with an id and a reuse_count)."""
    if isinstance(value, dict):
        if "reuse_count" in value and "id" in value:
            yield value
        for item in value.values():
            yield from described_entries(item)
    elif isinstance(value, list):
        for item in value:
            yield from described_entries(item)


def baseline_model(store, g: Graph, evaluator: int, blessing_id: Optional[int]) -> Optional[int]:
    """The model the Evaluator compared the candidate with, or None (no baseline yet).

    The Evaluator's baseline edge is missing when candidate and baseline are one artifact (MLMD
    keeps one INPUT event per artifact and execution), so the blessing's baseline_model_id
    property is the record; then the Evaluator's input key; then what the run's resolver
    handed over (its executions are loaded into `g` if they are not there).
    """
    blessing = g.artifacts.get(blessing_id) if blessing_id is not None else None
    baseline = custom(blessing, C.BASELINE_MODEL_PROPERTY) if blessing is not None else None
    if baseline is None:
        baseline = g.input(evaluator, C.EVALUATOR_INPUT_BASELINE)
    if baseline is None:
        context = g.run_context(evaluator)
        if context is not None:
            executions = [e.id for e in store.get_executions_by_context(context.id)]
            graph.load_executions(store, [e for e in executions if e not in g.executions],
                                  graph=g)
            resolvers = [e for e in executions if g.node_id(e) == C.RESOLVER]
            baseline = g.output(resolvers[-1], C.RESOLVED_MODEL_KEY) if resolvers else None
    if baseline is not None and (baseline not in g.artifacts or g.producer(baseline) is None):
        graph.load(store, "upstream", 1, artifact_ids=[baseline], graph=g)
    return baseline


def evaluated_splits(g: Graph, evaluator: int) -> list:
    """The example splits the Evaluator execution computed its metrics on (its exec property)."""
    import json
    raw = custom(g.executions[evaluator], C.EVALUATOR_SPLITS_PROPERTY)
    try:
        splits = json.loads(raw) if raw else None
    except (TypeError, ValueError):
        splits = None
    # TFX's Evaluator reads the eval split when none is named.
    return list(splits) if splits else [C.EVAL_SPLIT]
