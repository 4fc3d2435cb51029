"""Code provenance of a run: the RunProvenance artifact in the run's context, if it has one."""
import json
from typing import Dict, Optional

from ml_metadata.metadata_store import ListOptions

from tabflow.metadata.graph import custom
from tabflow import contract
from tabflow.redaction import redact_settings

UNKNOWN = "unknown"


def run_provenance(store, run_context_id: Optional[int]) -> Dict[str, object]:
    """git commit, dirty flag, runner, code sha256 and file hashes; "unknown" fields otherwise.

    Runs recorded before provenance existed have no such artifact: every field is "unknown".
    """
    artifact = None
    if run_context_id is not None:
        types = " OR ".join(f"type = '{name}'" for name in contract.PROVENANCE_TYPES)
        found = store.get_artifacts(list_options=ListOptions(
            filter_query=f"({types}) AND contexts_a.id = {run_context_id}", limit=1))
        artifact = found[0] if found else None
    if artifact is None:
        return {"git_commit": UNKNOWN, "git_dirty": UNKNOWN, "runner": UNKNOWN,
                "code_sha256": UNKNOWN, "files": {}, "config": {}, "dataset": {},
                "artifact_id": None}
    dirty = custom(artifact, "git_dirty")
    return {
        "git_commit": custom(artifact, "git_commit", UNKNOWN),
        "git_dirty": UNKNOWN if dirty is None or dirty < 0 else bool(dirty),
        "runner": custom(artifact, "runner", UNKNOWN),
        "code_sha256": custom(artifact, "code_sha256", UNKNOWN),
        "files": json.loads(custom(artifact, "file_sha256_json", "{}") or "{}"),
        # Masked again on reading: runs recorded before the settings were masked at the source.
        "config": redact_settings(json.loads(custom(artifact, "config_json", "{}") or "{}")),
        # The run's dataset (pipeline/provenance.py: dataset_record): name, label, problem
        # type, classes, headline metric; {} for runs recorded before datasets had specs.
        "dataset": json.loads(custom(artifact, "dataset_json", "{}") or "{}"),
        "artifact_id": artifact.id,
    }
