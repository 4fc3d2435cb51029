"""Artifacts as readers present them: what an artifact is, which run made it, which reused it."""
from typing import Dict, Optional

from metadata import graph
from metadata.graph import Graph


def describe(g: Graph, artifact_id: Optional[int]) -> Optional[Dict[str, object]]:
    """id, type, uri and the node and run that produced it; `fill_reuse` adds how later runs
    reused it. None for an artifact the graph does not hold."""
    if artifact_id is None or artifact_id not in g.artifacts:
        return None
    artifact = g.artifacts[artifact_id]
    producer = g.producer(artifact_id)
    return {"id": artifact_id, "type": g.type_name(artifact), "uri": artifact.uri,
            "produced_by": None if producer is None else g.node_id(producer),
            "run": None if producer is None else g.run_id(producer),
            "reuse_count": 0, "last_reused_by_run": None}


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
