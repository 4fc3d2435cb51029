"""Custom components: the CSV check, the anomaly gate and a content-fingerprinted curated-schema
importer."""
import fnmatch
import hashlib
import json
import os
from typing import Dict, List, Tuple

import numpy as np
from tfx.dsl.component.experimental.decorators import component
from tfx.types.artifact import Artifact
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts
from tfx.proto import example_gen_pb2, range_config_pb2
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter

from tabflow.artifacts.anomalies import describe_anomalies
from tabflow.compat.example_gen_span import example_gen_span
from tabflow.compat.schema_gen import FingerprintedImportSchemaGen
from pipeline import csv_check, span_values
from tabflow.contract import (ANOMALIES_FILE, CSV_CHECK_FILE, CSV_CHECK_TYPE, GATE_VERDICT_FILE,
                               GATE_VERDICT_TYPE, SCHEMA_FILE, SPAN_PROPERTY, SPLIT_PREFIX)
from modules.hooks import load as load_hooks

# CsvExampleGen's input pattern under data_root; CsvCheck resolves the same span from it.
SPAN_PATTERN = "span-{SPAN}/*.csv"


class DataGateVerdict(Artifact):
    """Record that a set of example anomalies was checked and found clean."""
    # KFP v2 containers re-import a custom artifact class from its type name, which must read
    # "<module>.<Class>" with one dot; pipeline/__init__.py re-exports the class.
    TYPE_NAME = GATE_VERDICT_TYPE


class CsvCheckReport(Artifact):
    """The span's CSV files that passed the CSV check: names, sizes, rows and header."""
    TYPE_NAME = CSV_CHECK_TYPE


class CsvFilesRejected(RuntimeError):
    """Raised by CsvCheck; the message lists every problem, one line each, with file and line."""


def span_listing(data_root: str) -> csv_check.SpanFolders:
    """Every span-* folder under data_root with its file names, read through fileio (remote
    roots), sorted into canonical spans and problems (csv_check.sort_span_folders)."""
    listed = {}
    if fileio.isdir(data_root):
        for entry in fileio.listdir(data_root):
            folder = entry.rstrip("/")
            path = os.path.join(data_root, folder)
            if fnmatch.fnmatchcase(folder, csv_check.SPAN_GLOB) and fileio.isdir(path):
                listed[folder] = [f.rstrip("/") for f in fileio.listdir(path)
                                  if not fileio.isdir(os.path.join(path, f))]
    return csv_check.sort_span_folders(listed)


def span_folders(data_root: str) -> Dict[int, List[str]]:
    """span number -> file names in data_root/span-<N>/, canonical names only: every reader of
    span folders goes through here, so none reads a folder CsvCheck rejects."""
    return span_listing(data_root).spans


def span_files_fingerprint(data_root: str) -> str:
    """Digest of every span folder's file names, sizes and modification times.

    CsvCheck takes it as a parameter, so its cache key changes whenever a file under any
    span-* folder changes or appears (a new, empty or misnamed span folder included) and an
    unchanged rerun stays cached. Stat only: nothing is read."""
    h = hashlib.sha256()
    for folder, files in sorted(span_listing(data_root).listed.items()):
        h.update(f"{folder}/\0".encode())
        for name in sorted(files):
            stat = fileio.stat(os.path.join(data_root, folder, name))
            h.update(f"{name}\0{stat.length}\0{stat.mtime_nsec}\0".encode())
    return h.hexdigest()


def schema_columns(schema_uri: str) -> List[str]:
    """The columns a TRAINING span must have: the schema's features in that environment."""
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2
    with fileio.open(os.path.join(schema_uri, SCHEMA_FILE), "r") as f:
        schema = text_format.Parse(f.read(), schema_pb2.Schema())
    env = "TRAINING"
    return [feature.name for feature in schema.feature
            if (env in feature.in_environment if feature.in_environment
                else env not in feature.not_in_environment)]


def check_span_files(data_root: str, span: int, expected: List[str]):
    """(span read, [FileCheck], problems) for the span CsvExampleGen will read."""
    listing = span_listing(data_root)
    folders = listing.spans
    resolved, problems = csv_check.resolve_span(folders, span)
    problems = listing.problems + problems
    if resolved is None:
        return None, [], problems
    folder = os.path.join(data_root, f"span-{resolved}")
    checks = []
    for name in csv_check.csv_names(folders[resolved]):
        with fileio.open(os.path.join(folder, name), "rb") as f:
            checks.append(csv_check.check_file(f"span-{resolved}/{name}", f, expected))
    problems += [p for c in checks for p in c.problems]
    problems += csv_check.span_header_problems(checks)
    return resolved, checks, problems


@component
def CsvCheck(
    schema: InputArtifact[standard_artifacts.Schema],
    report: OutputArtifact[CsvCheckReport],
    data_root: Parameter[str],
    span: Parameter[int],
    files_fingerprint: Parameter[str],
    code_sha256: Parameter[str],
) -> None:
    """Fails the run before CsvExampleGen when the span's CSV files are not what the pipeline
    reads (pipeline/csv_check.py), with one message listing every problem.

    `span` 0 is the latest span, as for CsvExampleGen; `files_fingerprint` and `code_sha256`
    are there for the cache key only (span_files_fingerprint, pipeline/fingerprints.py)."""
    resolved, checks, problems = check_span_files(data_root, span, schema_columns(schema.uri))
    if resolved is not None and not problems:
        # The span TFX's own resolver picks must be the one checked.
        split = example_gen_pb2.Input.Split(name="single_split", pattern=SPAN_PATTERN)
        range_config = (range_config_pb2.RangeConfig(static_range=range_config_pb2.StaticRange(
            start_span_number=span, end_span_number=span)) if span else None)
        read = example_gen_span(data_root, [split], range_config)
        if read != resolved:
            problems.append(f"CsvExampleGen would read span {read}, "
                            f"the check read span {resolved}")
    if problems:
        raise CsvFilesRejected(csv_check.failure_message(data_root, resolved, problems))
    fileio.makedirs(report.uri)
    with fileio.open(os.path.join(report.uri, CSV_CHECK_FILE), "w") as f:
        f.write(json.dumps({
            "data_root": data_root, "span": resolved, "header": checks[0].header,
            "files": [{"name": c.name, "rows": c.rows, "crlf": c.crlf} for c in checks],
        }, indent=1))
    report.set_int_custom_property(SPAN_PROPERTY, resolved)
    report.set_int_custom_property("rows", sum(c.rows for c in checks))


class AnomaliesFound(RuntimeError):
    """Raised by the gate; the message lists every anomalous feature and why."""


def read_anomalies(anomalies: Artifact):
    """{split name: tensorflow_metadata Anomalies proto} for an ExampleAnomalies artifact.

    Read through TFX's fileio (the gate runs inside TFX, where the artifact may be remote);
    tabflow.artifacts.anomalies describes the result."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2
    result = {}
    for split in artifact_utils.decode_split_names(anomalies.split_names):
        path = os.path.join(anomalies.uri, f"{SPLIT_PREFIX}{split}", ANOMALIES_FILE)
        with fileio.open(path, "rb") as f:
            result[split] = anomalies_pb2.Anomalies.FromString(f.read())
    return result


Columns = Dict[str, Tuple[bool, np.ndarray, np.ndarray]]


def _batch_columns(batch) -> Columns:
    """{feature: (is text, its single value per example or NaN/None, has a single value)} of
    one Arrow record batch of decoded tf.Examples."""
    import pyarrow as pa
    import pyarrow.compute as pc
    rows, result = batch.num_rows, {}
    for name, column in zip(batch.schema.names, batch.columns):
        if pa.types.is_null(column.type):
            result[name] = (False, np.full(rows, np.nan), np.zeros(rows, bool))
            continue
        single = pc.fill_null(pc.list_value_length(column), 0).to_numpy(
            zero_copy_only=False) == 1
        index = np.flatnonzero(single)
        firsts = pc.list_element(column.take(pa.array(index, pa.int64())), 0)
        if pa.types.is_binary(firsts.type) or pa.types.is_large_binary(firsts.type):
            values = np.full(rows, None, dtype=object)
            values[index] = [v.decode("utf-8", "replace") for v in firsts.to_pylist()]
            result[name] = (True, values, single)
        else:
            values = np.full(rows, np.nan)
            values[index] = firsts.to_numpy(zero_copy_only=False).astype(np.float64)
            result[name] = (False, values, single)
    return result


def _merge(parts: List[Tuple[int, Columns]]) -> Columns:
    """Columns of consecutive parts as one: a feature a part lacks is missing there, and a
    feature with text in any part is text (its numbers kept as they are)."""
    names = sorted({name for _, columns in parts for name in columns})
    merged = {}
    for name in names:
        text = any(columns[name][0] for _, columns in parts if name in columns)
        values, singles = [], []
        for rows, columns in parts:
            if name not in columns:
                values.append(np.full(rows, None, dtype=object) if text else np.full(rows, np.nan))
                singles.append(np.zeros(rows, bool))
                continue
            is_text, part, single = columns[name]
            if text and not is_text:
                part = part.astype(object)
                part[~single] = None
            values.append(part)
            singles.append(single)
        merged[name] = (text, np.concatenate(values), np.concatenate(singles))
    return merged


def read_columns(examples: Artifact) -> Dict[str, np.ndarray]:
    """{feature: array over every split's tf.Examples}: floats (NaN where an example holds no
    single value) for a feature whose values are all numbers, else objects (text, None where
    missing).

    Decoded in batches by tfx_bsl into Arrow columns: no Python per example, which at ten times
    the taxi rows was most of the gate's time."""
    import tensorflow as tf
    from tfx_bsl.coders import example_coder
    decoder = example_coder.ExamplesToRecordBatchDecoder()
    parts = []
    for split in artifact_utils.decode_split_names(examples.split_names):
        folder = os.path.join(examples.uri, f"{SPLIT_PREFIX}{split}")
        files = [os.path.join(folder, name) for name in sorted(fileio.listdir(folder))]
        if not files:
            continue
        for batch in tf.data.TFRecordDataset(files, compression_type="GZIP").batch(1 << 16):
            decoded = decoder.DecodeBatch(list(batch.numpy()))
            parts.append((decoded.num_rows, _batch_columns(decoded)))
    return {name: values for name, (_, values, _) in _merge(parts).items()}


def span_value_problems(examples: Artifact, schema: Artifact, label: str,
                        problem_type: str, classes: List[str], hooks: str, min_examples: int,
                        min_label_share: float, max_outlier_share: float) -> List[str]:
    """The gate's checks on the span's values (pipeline/span_values.py)."""
    from tfx.utils import io_utils
    from tensorflow_metadata.proto.v0 import schema_pb2
    curated = io_utils.parse_pbtxt_file(os.path.join(schema.uri, SCHEMA_FILE),
                                        schema_pb2.Schema())
    columns = read_columns(examples)
    count = max((len(values) for values in columns.values()), default=0)
    problems = span_values.size_problems(count, min_examples)
    problems += span_values.outlier_problems(columns, span_values.typical_ranges(curated),
                                             max_outlier_share)
    label_from_raw = getattr(load_hooks(hooks), "label_from_raw", None) if hooks else None
    if label_from_raw is not None:
        try:
            labels = label_from_raw(columns)
        except KeyError as missing:
            # A label source column without a value anywhere: the schema check names it.
            return problems + [f"label '{label}': cannot be derived by {hooks}, no values for "
                               f"column {missing}"]
    elif label in columns:
        labels = columns[label]
    else:
        return problems + [f"label '{label}': no example has the column"]
    return problems + span_values.label_problems(labels, label, problem_type, classes,
                                                 min_label_share)


@component
def AnomalyGate(
    anomalies: InputArtifact[standard_artifacts.ExampleAnomalies],
    examples: InputArtifact[standard_artifacts.Examples],
    schema: InputArtifact[standard_artifacts.Schema],
    verdict: OutputArtifact[DataGateVerdict],
    code_sha256: Parameter[str],
    label: Parameter[str],
    problem_type: Parameter[str],
    classes_json: Parameter[str],
    hooks: Parameter[str],
    min_examples: Parameter[int],
    min_label_share: Parameter[float],
    max_outlier_share: Parameter[float],
) -> None:
    """Fails the run when ExampleValidator found anomalies, or the span's values fail the
    checks a schema cannot state (its size, a typical-range outlier share, a missing, one-class
    or constant `label`, derived by the dataset's `hooks` module when it has one), so nothing
    downstream executes. `code_sha256` is there for the cache key only
    (pipeline/fingerprints.py)."""
    problems = describe_anomalies(read_anomalies(anomalies)) + span_value_problems(
        examples, schema, label, problem_type, json.loads(classes_json), hooks, min_examples,
        min_label_share, max_outlier_share)
    if problems:
        raise AnomaliesFound(
            f"data validation found {len(problems)} anomal{'y' if len(problems) == 1 else 'ies'} "
            f"in {anomalies.uri}; Transform, Tuner and Trainer will not run:\n  - "
            + "\n  - ".join(problems))
    # KFP's container entrypoint does not create output folders.
    fileio.makedirs(verdict.uri)
    with fileio.open(os.path.join(verdict.uri, GATE_VERDICT_FILE), "w") as f:
        f.write(json.dumps({"anomalies_uri": anomalies.uri, "anomalies": []}))
    verdict.set_int_custom_property("passed", 1)


class CuratedSchemaGen(FingerprintedImportSchemaGen):
    """ImportSchemaGen whose cache key includes the schema file's sha256 and its own code's.

    Plain ImportSchemaGen keys its cache on the file path only, so an edited curated schema
    would be silently ignored on the next cached run. Defined here, not in tabflow.compat: a
    component's class path is its node's type name in MLMD.
    """
