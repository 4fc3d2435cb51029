"""The drift gate between spans: each new span's statistics against those of the last older
span that passed the data gates, with the curated schema's drift comparators.

- `LastPassedSpanStrategy` (a Resolver strategy) finds the baseline in MLMD through the
  DriftReports the gate publishes only for spans that passed (each names its span and
  statistics): the newest report of the largest span below the current one. A span's own
  statistics never qualify, so rerunning a span sees the same baseline and stays cached; a
  span the gate stopped has no report and never becomes a baseline.
- `DriftGate` runs TFDV's validate_statistics with previous_statistics: TFDV applies each
  feature's `drift_comparator` (L-infinity for categorical, Jensen-Shannon for numeric) and
  reports every measurement with its threshold. A distance over its threshold fails the run
  before Transform; otherwise the distances go into a DriftReport artifact for the readers.
  Without a baseline (the first span) the gate passes and records that there was none.
"""
import json
import logging
import os
from typing import Dict, List

from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.dsl.components.common.resolver import ResolverStrategy
from tfx.types.artifact import Artifact
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts

from tabflow.artifacts.drift import describe_drift, measurement_rows
from tabflow.metadata.drift import choose_baseline, live, passed_reports, span_of  # noqa: F401
from tabflow import contract as C


NO_BASELINE = "none: no older span has passed"


class DriftReport(Artifact):
    """The distances the drift gate measured for a span that passed, and its baseline."""
    # "<module>.<Class>": KFP v2 containers re-import the class from its type name
    # (pipeline/__init__.py re-exports it).
    TYPE_NAME = C.DRIFT_REPORT_TYPE


class DataDrifted(RuntimeError):
    """Raised by the gate; the message lists every drifted feature, distance and threshold."""


# --- baseline resolution ---------------------------------------------------------------------

def _pipeline_context(store, artifact_id: int):
    for context in store.get_contexts_by_artifact(artifact_id):
        if store.get_context_types_by_id([context.type_id])[0].name == C.PIPELINE_CONTEXT:
            return context
    return None


class LastPassedSpanStrategy(ResolverStrategy):
    """Resolver strategy: the current statistics and Examples in; out, the statistics and
    Examples of the drift baseline (the Examples say its span), or nothing.

    The input channels hold the current run's artifacts under LocalDagRunner and
    BeamDagRunner; Airflow's legacy launcher passes every artifact of the pipeline from those
    outputs, and the newest is taken as the current one.
    """

    def resolve_artifacts(self, store, input_dict):
        nothing = {C.STATISTICS_KEY: [], C.EXAMPLES_KEY: []}
        statistics = input_dict.get(C.STATISTICS_KEY) or []
        examples = input_dict.get(C.EXAMPLES_KEY) or []
        if not statistics or not examples:
            return nothing
        current = max(statistics, key=lambda a: a.id)
        span = span_of(max(examples, key=lambda a: a.id).mlmd_artifact)
        context = _pipeline_context(store, current.id)
        if span is None or context is None:
            return nothing
        # A report whose statistics or Examples lost their files (`tabflow gc`) cannot be
        # a baseline: the next older one is taken.
        report = choose_baseline(span, [r for r in passed_reports(store, context.id)
                                        if live(store, r)])
        if report is None:
            return nothing
        found = {}
        for key, prop in ((C.STATISTICS_KEY, C.STATISTICS_ID_PROPERTY),
                          (C.EXAMPLES_KEY, C.EXAMPLES_ID_PROPERTY)):
            [artifact] = store.get_artifacts_by_id([report.custom_properties[prop].int_value])
            [artifact_type] = store.get_artifact_types_by_id([artifact.type_id])
            found[key] = [artifact_utils.deserialize_artifact(artifact_type, artifact)]
        return found


# --- the gate ----------------------------------------------------------------------------------

def _read_statistics(statistics: Artifact) -> Dict[str, object]:
    """{split: DatasetFeatureStatisticsList}, read through TFX's fileio (URIs may be remote)."""
    from tensorflow_metadata.proto.v0 import statistics_pb2
    out = {}
    for split in artifact_utils.decode_split_names(statistics.split_names):
        path = os.path.join(statistics.uri, f"{C.SPLIT_PREFIX}{split}", C.STATISTICS_FILE)
        with fileio.open(path, "rb") as f:
            out[split] = statistics_pb2.DatasetFeatureStatisticsList.FromString(f.read())
    return out


def measure_drift(current: Dict[str, object], baseline: Dict[str, object], schema) -> List[dict]:
    """TFDV's drift measurements with the schema's comparators (rows as
    tabflow.artifacts.drift.measurement_rows makes them), on the train split when both spans have one.

    The splits are hash partitions of one span: the train split (60%) measures the span's
    distribution with the least sampling noise, and it is the data the model learns from; the
    20% eval and test splits would add noise, not information.
    """
    import tensorflow_data_validation as tfdv
    rows = []
    common = set(current) & set(baseline)
    for split in [C.TRAIN_SPLIT] if C.TRAIN_SPLIT in common else sorted(common):
        anomalies = tfdv.validate_statistics(current[split], schema,
                                             previous_statistics=baseline[split])
        rows += measurement_rows(split, anomalies.drift_skew_info)
    return rows


def drift_message(rows: List[dict], span, baseline_span, statistics_uri: str) -> str:
    problems = describe_drift(rows)
    return (f"span {span} drifted from span {baseline_span} (the last span that passed) in "
            f"{len(problems)} measurement{'' if len(problems) == 1 else 's'} of "
            f"{statistics_uri}; Transform, Tuner and Trainer will not run:\n  - "
            + "\n  - ".join(problems))


@component
def DriftGate(
    examples: InputArtifact[standard_artifacts.Examples],
    statistics: InputArtifact[standard_artifacts.ExampleStatistics],
    schema: InputArtifact[standard_artifacts.Schema],
    drift_report: OutputArtifact[DriftReport],
    baseline: InputArtifact[standard_artifacts.ExampleStatistics] = None,
    baseline_examples: InputArtifact[standard_artifacts.Examples] = None,
    code_sha256: Parameter[str] = "",
) -> None:
    """Fails the run when the span drifted from the last span that passed. `code_sha256` is
    there for the cache key only (pipeline/fingerprints.py)."""
    from tfx.utils import io_utils
    rows: List[dict] = []
    span = span_of(examples.mlmd_artifact)
    baseline_span = None
    if baseline is None:
        logging.info("DriftGate: span %s passes: no baseline (no older span has passed)", span)
    else:
        schema_proto = io_utils.SchemaReader().read(io_utils.get_only_uri_in_dir(schema.uri))
        baseline_span = span_of(baseline_examples.mlmd_artifact)
        rows = measure_drift(_read_statistics(statistics), _read_statistics(baseline),
                             schema_proto)
        if not all(row["passed"] for row in rows):
            raise DataDrifted(drift_message(rows, span, baseline_span, statistics.uri))
    report = {
        "passed": True,
        "span": span,
        "statistics_id": statistics.id,
        "statistics_uri": statistics.uri,
        "baseline": None if baseline is None else {
            "span": baseline_span, "statistics_id": baseline.id,
            "statistics_uri": baseline.uri},
        "features": rows,
    }
    # KFP's container entrypoint does not create output folders.
    fileio.makedirs(drift_report.uri)
    with fileio.open(os.path.join(drift_report.uri, C.DRIFT_REPORT_FILE), "w") as f:
        f.write(json.dumps(report, indent=1))
    drift_report.set_int_custom_property(C.PASSED_PROPERTY, 1)
    if span is not None:  # a span a later run's baseline lookup can compare
        drift_report.set_int_custom_property(C.SPAN_PROPERTY, span)
    drift_report.set_int_custom_property(C.STATISTICS_ID_PROPERTY, statistics.id)
    drift_report.set_int_custom_property(C.EXAMPLES_ID_PROPERTY, examples.id)
    if baseline is not None:
        if baseline_span is not None:
            drift_report.set_int_custom_property(C.BASELINE_SPAN_PROPERTY, baseline_span)
        drift_report.set_int_custom_property(C.BASELINE_STATISTICS_PROPERTY, baseline.id)
    else:
        drift_report.set_string_custom_property(C.BASELINE_PROPERTY, NO_BASELINE)
    for row in rows:
        drift_report.set_float_custom_property(
            f"{row['split']}/{row['feature']}", row["distance"])
