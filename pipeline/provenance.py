"""What made a run: code version, file fingerprints, runner and effective config, kept in MLMD.

Collected when the pipeline is built and recorded by the RunProvenance component, so every run
(whatever the runner) has a RunProvenance artifact in its context and lineage needs no other
source.
"""
import json
import os
import subprocess
from typing import Dict

from tfx.dsl.component.experimental.annotations import OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.dsl.io import fileio
from tfx.types.artifact import Artifact

from tabflow import environment
from tabflow.config import PROJECT_ROOT
from pipeline.fingerprints import modules_fingerprint, pipeline_code_files, sha256_file

PROVENANCE_FILE = "provenance.json"


class RunProvenanceArtifact(Artifact):
    # "<module>.<Class>", re-exported by pipeline/__init__.py: see DataGateVerdict.
    TYPE_NAME = "pipeline.RunProvenance"


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def tracked_files(schema_path: str, spec=None) -> Dict[str, str]:
    """{path relative to the project (or absolute if outside it): sha256} of what shapes a model:
    every project file a node runs, the lock file, the curated schema and the dataset's spec
    and hooks module."""
    import modules
    out = pipeline_code_files()
    paths = sorted(os.path.join(os.path.dirname(modules.__file__), name)
                   for name in os.listdir(os.path.dirname(modules.__file__))
                   if name.endswith(".py"))
    dataset_files = [spec.spec_path] + ([spec.hooks] if spec.hooks else []) if spec else []
    for path in paths + [schema_path] + dataset_files:
        if os.path.isfile(path):
            rel = os.path.relpath(path, PROJECT_ROOT)
            out[path if rel.startswith("..") else rel] = sha256_file(path)
    return out


# Where no .git exists (the container image), the commit the image was built from: the
# Dockerfile's GIT_COMMIT build argument sets it.
COMMIT = "GIT_COMMIT"
COMMIT_VARIABLE = environment.name(COMMIT)


def dataset_record(spec) -> Dict[str, object]:
    """What readers show about the run's dataset without reading its folder again."""
    return {"name": spec.name, "folder": spec.folder, "label": spec.label,
            "problem_type": spec.problem_type, "classes": list(spec.classes),
            "headline": spec.headline.metric, "higher_is_better": spec.headline.higher_is_better,
            "threshold": spec.threshold, "max_regression": spec.max_regression,
            "report_slices": list(spec.report_slices),
            "gated_slices": [dict(column=s.column, value=s.value,
                                  max_regression=s.max_regression) for s in spec.gated_slices]}


def collect(config, runner: str, spec, environ=None) -> Dict[str, object]:
    """RunProvenance's parameters for a run of `config` on the dataset `spec`."""
    files = tracked_files(config.data.schema_path, spec)
    commit = _git("rev-parse", "HEAD")
    built_from = environment.get(COMMIT, environ)
    return {
        "git_commit": commit or built_from or "unknown",
        # Untracked files count: a new module file changes what runs. An image's tree is
        # what its commit holds (-1: not known here).
        "git_dirty": int(bool(_git("status", "--porcelain"))) if commit else -1,
        "runner": runner,
        "config_json": config.to_json(),
        "file_sha256_json": json.dumps(files, sort_keys=True),
        "code_sha256": modules_fingerprint(),
        "dataset_json": json.dumps(dataset_record(spec), sort_keys=True),
    }


@component
def RunProvenance(
    git_commit: Parameter[str],
    git_dirty: Parameter[int],
    runner: Parameter[str],
    config_json: Parameter[str],
    file_sha256_json: Parameter[str],
    code_sha256: Parameter[str],
    dataset_json: Parameter[str],
    provenance: OutputArtifact[RunProvenanceArtifact],
) -> None:
    """Publishes the run's provenance as artifact properties (queryable) and a JSON file."""
    record = {"git_commit": git_commit, "git_dirty": git_dirty, "runner": runner,
              "config": json.loads(config_json), "files": json.loads(file_sha256_json),
              "code_sha256": code_sha256, "dataset": json.loads(dataset_json)}
    fileio.makedirs(provenance.uri)
    with fileio.open(os.path.join(provenance.uri, PROVENANCE_FILE), "w") as f:
        f.write(json.dumps(record, indent=2, sort_keys=True))
    provenance.set_string_custom_property("git_commit", git_commit)
    provenance.set_int_custom_property("git_dirty", git_dirty)
    provenance.set_string_custom_property("runner", runner)
    provenance.set_string_custom_property("config_json", config_json)
    provenance.set_string_custom_property("file_sha256_json", file_sha256_json)
    provenance.set_string_custom_property("code_sha256", code_sha256)
    provenance.set_string_custom_property("dataset_json", dataset_json)
