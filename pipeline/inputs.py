"""What a run's definition needs from the file system, gathered by the runner before it builds.

The definition (pipeline/pipeline.py) reads no file: the runner calls `gather` (the dataset's
spec and curated schema, the feature plan, code fingerprints, the span listing's fingerprint,
the run's provenance) and passes the result to `create_pipeline`.
"""
import dataclasses
import glob
import hashlib
import os
from typing import Dict

from modules import hooks
from pipeline.components import SPAN_PATTERN, span_files_fingerprint
from pipeline.feature_plan import build_plan
from pipeline.fingerprints import component_fingerprints, sha256_file
from tabflow import contract as C
from tabflow import dataset as dataset_lib
from tabflow.artifacts.schema import load_schema

# Nodes that run the dataset's hooks module, when it has one: its content joins their cache key.
HOOK_NODES = (C.ANOMALY_GATE, C.TRANSFORM, C.TUNER, C.TRAINER)
# Compile-only targets: the definition must not list a (remote) data_root there.
COMPILE_ONLY_RUNNERS = ("kfp", "vertex")


@dataclasses.dataclass(frozen=True)
class RunInputs:
    spec: dataset_lib.DatasetSpec  # with the run's gate settings applied
    plan: dict  # pipeline/feature_plan.py
    code: Dict[str, str]  # node id -> code fingerprint
    schema_sha256: str
    files_fingerprint: str  # the span files CsvCheck will read ("" on compile-only targets)
    provenance: Dict[str, object]  # RunProvenance's parameters


def check_local_inputs(data_root: str, span: int) -> None:
    """Fail before anything runs when a local data_root or a requested span is missing (remote
    URIs are left to TFX). What the span folders hold is CsvCheck's to judge, with every
    problem in one message."""
    if "://" in data_root:
        return
    if not os.path.isdir(data_root):
        raise FileNotFoundError(f"data_root is not a directory: {data_root}")
    if span and not glob.glob(os.path.join(data_root, SPAN_PATTERN.replace("{SPAN}", str(span)))):
        raise FileNotFoundError(f"span {span} has no CSV file under {data_root}")


def _with_hooks(code: Dict[str, str], hooks_sha256: str) -> Dict[str, str]:
    if not hooks_sha256:
        return code
    return {node: (hashlib.sha256(f"{value}:{hooks_sha256}".encode()).hexdigest()
                   if node in HOOK_NODES else value) for node, value in code.items()}


def gather(config, runner: str = "local") -> RunInputs:
    """Reads what the definition of `config` needs. Errors a user can cause (a missing folder,
    a bad spec, a schema that lacks a column the spec names) are one-line exceptions."""
    from pipeline import provenance

    gates = config.gates
    spec = dataset_lib.load(config.data.dataset).with_gates(
        threshold=gates.threshold, max_regression=gates.max_regression,
        max_slice_regression=gates.max_slice_regression,
        min_label_share=gates.min_label_share, max_outlier_share=gates.max_outlier_share)
    check_local_inputs(config.data.data_root, config.data.span)
    if not os.path.isfile(config.data.schema_path):
        raise FileNotFoundError(f"curated schema file not found: {config.data.schema_path}")
    plan = build_plan(spec, load_schema(config.data.schema_path))
    if plan["hooks"]:
        plan["hooks"] = hooks.portable(plan["hooks"])
    code = _with_hooks(component_fingerprints(), sha256_file(spec.hooks) if spec.hooks else "")
    return RunInputs(
        spec=spec, plan=plan, code=code,
        schema_sha256=sha256_file(config.data.schema_path),
        # Compiled pipelines run later, elsewhere: no listing at compile time, so there the
        # check is cached on data_root and span only.
        files_fingerprint=("" if runner in COMPILE_ONLY_RUNNERS
                           else span_files_fingerprint(config.data.data_root)),
        provenance=provenance.collect(config, runner, spec))
