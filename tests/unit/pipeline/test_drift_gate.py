"""The drift gate: its baseline resolver strategy on an in-memory MLMD store written the way
the IR runners write it, and the gate's executor on small statistics protos with the curated
schema's kind of drift comparators (TFDV measures)."""
import json
import os

import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from tabflow.artifacts.drift import describe_drift, read_drift_report
from tabflow import contract as C
from pipeline import drift_gate

S = pb.Execution.State


# --- the baseline resolver strategy --------------------------------------------------------------

class Store:
    """Examples, statistics and the gate's DriftReports, as LocalDagRunner records them."""

    def __init__(self):
        config = pb.ConnectionConfig()
        config.fake_database.SetInParent()
        self.store = metadata_store.MetadataStore(config)
        self.pipeline_type = self.store.put_context_type(pb.ContextType(name="pipeline"))
        stats_type = pb.ArtifactType(name="ExampleStatistics")
        stats_type.properties["span"] = pb.INT
        stats_type.properties["split_names"] = pb.STRING
        self.stats_type = self.store.put_artifact_type(stats_type)
        examples_type = pb.ArtifactType(name="Examples")
        examples_type.properties["span"] = pb.INT
        self.examples_type = self.store.put_artifact_type(examples_type)
        self.report_type = self.store.put_artifact_type(pb.ArtifactType(name=C.DRIFT_REPORT_TYPE))
        self.pipelines = {}

    def pipeline(self, name):
        if name not in self.pipelines:
            [cid] = self.store.put_contexts([pb.Context(type_id=self.pipeline_type, name=name)])
            self.pipelines[name] = cid
        return self.pipelines[name]

    def _put(self, artifact, pipeline):
        artifact.state = pb.Artifact.LIVE
        [aid] = self.store.put_artifacts([artifact])
        self.store.put_attributions_and_associations(
            [pb.Attribution(artifact_id=aid, context_id=self.pipeline(pipeline))], [])
        return self.store.get_artifacts_by_id([aid])[0]

    def span(self, span, pipeline="taxi"):
        """(Examples, statistics) of a span as ExampleGen and StatisticsGen write them: the
        span is a custom property of the Examples; the statistics' span property says 0."""
        examples = pb.Artifact(type_id=self.examples_type, uri=f"/examples/{span}")
        examples.custom_properties["span"].int_value = span
        statistics = pb.Artifact(type_id=self.stats_type, uri=f"/stats/{span}")
        statistics.properties["span"].int_value = 0
        return self._put(examples, pipeline), self._put(statistics, pipeline)

    def passed(self, examples, statistics, pipeline="taxi"):
        report = pb.Artifact(type_id=self.report_type, uri=f"/report/{statistics.id}")
        for name, value in ((C.PASSED_PROPERTY, 1), (C.SPAN_PROPERTY, drift_gate.span_of(examples)),
                            (C.STATISTICS_ID_PROPERTY, statistics.id),
                            (C.EXAMPLES_ID_PROPERTY, examples.id)):
            report.custom_properties[name].int_value = value
        self._put(report, pipeline)

    def resolve(self, examples, statistics):
        from tfx.types import artifact_utils

        def tfx_artifact(proto):
            [artifact_type] = self.store.get_artifact_types_by_id([proto.type_id])
            return artifact_utils.deserialize_artifact(artifact_type, proto)

        result = drift_gate.LastPassedSpanStrategy().resolve_artifacts(
            self.store, {C.STATISTICS_KEY: [tfx_artifact(statistics)],
                         C.EXAMPLES_KEY: [tfx_artifact(examples)]})
        ids = [a.id for a in result[C.STATISTICS_KEY]]
        assert len(result[C.EXAMPLES_KEY]) == len(ids)
        return ids


def test_first_span_has_no_baseline():
    s = Store()
    assert s.resolve(*s.span(1)) == []


def test_baseline_is_the_last_older_span_that_passed():
    s = Store()
    one, two = s.span(1), s.span(2)
    s.passed(*one)
    s.passed(*two)
    assert s.resolve(*s.span(3)) == [two[1].id]


def test_a_span_the_gate_stopped_is_never_a_baseline():
    s = Store()
    one = s.span(1)
    s.passed(*one)
    s.span(2)  # stopped by the gate: no DriftReport
    assert s.resolve(*s.span(3)) == [one[1].id]


def test_rerunning_a_span_keeps_its_baseline():
    # The span passed in the first run: a rerun must not compare with its own statistics, or
    # the gate's inputs would change and the rerun would not be cached.
    s = Store()
    one, two = s.span(1), s.span(2)
    s.passed(*one)
    assert s.resolve(*two) == [one[1].id]
    s.passed(*two)
    assert s.resolve(*two) == [one[1].id]


def test_an_older_span_rerun_compares_with_spans_before_it_only():
    s = Store()
    spans = {n: s.span(n) for n in (1, 2, 3)}
    for examples, statistics in spans.values():
        s.passed(examples, statistics)
    assert s.resolve(*spans[2]) == [spans[1][1].id]
    newer_one = s.span(1)  # span 1 passed again, with new data
    s.passed(*newer_one)
    assert s.resolve(*s.span(3)) == [spans[2][1].id]
    assert s.resolve(*spans[2]) == [newer_one[1].id]


def test_other_pipelines_reports_are_ignored():
    s = Store()
    s.passed(*s.span(1, pipeline="other"), pipeline="other")
    assert s.resolve(*s.span(2)) == []


def test_no_report_type_yet_means_no_baseline():
    config = pb.ConnectionConfig()
    config.fake_database.SetInParent()
    store = metadata_store.MetadataStore(config)
    assert drift_gate.passed_reports(store, 1) == []


def test_choose_baseline_prefers_the_largest_older_span_then_the_newest():
    reports = [pb.Artifact(id=i) for i in range(1, 5)]
    for report, span in zip(reports, (1, 3, 3, 5)):
        report.custom_properties["span"].int_value = span
    assert drift_gate.choose_baseline(4, reports).id == 3
    assert drift_gate.choose_baseline(3, reports).id == 1
    assert drift_gate.choose_baseline(1, reports) is None


# --- the gate ------------------------------------------------------------------------------------

def _numeric(feature, values):
    """A FLOAT feature with standard and 4-bucket quantile histograms of `values`."""
    feature.type = statistics_pb2.FeatureNameStatistics.FLOAT
    num = feature.num_stats
    num.common_stats.num_non_missing = len(values)
    values = sorted(values)
    num.min, num.max = values[0], values[-1]
    for kind in (statistics_pb2.Histogram.STANDARD, statistics_pb2.Histogram.QUANTILES):
        histogram = num.histograms.add(type=kind)
        quarter = len(values) // 4
        for i in range(4):
            part = values[i * quarter:(i + 1) * quarter]
            histogram.buckets.add(low_value=part[0], high_value=part[-1],
                                  sample_count=len(part))


def _categorical(feature, counts):
    feature.type = statistics_pb2.FeatureNameStatistics.STRING
    strings = feature.string_stats
    strings.common_stats.num_non_missing = sum(counts.values())
    strings.unique = len(counts)
    for rank, (value, count) in enumerate(sorted(counts.items(), key=lambda kv: -kv[1])):
        strings.top_values.add(value=value, frequency=count)
        strings.rank_histogram.buckets.add(label=value, sample_count=count, low_rank=rank,
                                           high_rank=rank)


def stats(amount_scale=1.0, basic=60):
    dataset = statistics_pb2.DatasetFeatureStatistics(num_examples=100)
    amount = dataset.features.add()
    amount.path.step.append("amount")
    _numeric(amount, [amount_scale * (0.5 + i * 0.1) for i in range(100)])
    kind = dataset.features.add()
    kind.path.step.append("kind")
    _categorical(kind, {"Basic": basic, "Premium Plus": 100 - basic})
    return statistics_pb2.DatasetFeatureStatisticsList(datasets=[dataset])


def schema():
    s = schema_pb2.Schema()
    amount = s.feature.add(name="amount", type=schema_pb2.FLOAT)
    js = amount.drift_comparator.jensen_shannon_divergence
    js.threshold = 0.15
    js.source.type = schema_pb2.HistogramSelection.QUANTILES
    kind = s.feature.add(name="kind", type=schema_pb2.BYTES)
    kind.drift_comparator.infinity_norm.threshold = 0.2
    return s


def _examples_artifact(span, artifact_id):
    from tfx.types import standard_artifacts
    examples = standard_artifacts.Examples()
    examples.set_int_custom_property(C.SPAN_PROPERTY, span)
    examples.id = artifact_id
    return examples


def _statistics_artifact(tmp_path, name, stats_list, artifact_id):
    from tfx.types import artifact_utils, standard_artifacts
    artifact = standard_artifacts.ExampleStatistics()
    artifact.uri = str(tmp_path / name)
    artifact.id = artifact_id
    artifact.split_names = artifact_utils.encode_split_names(["train", "eval"])
    for split in ("train", "eval"):
        folder = tmp_path / name / f"{C.SPLIT_PREFIX}{split}"
        folder.mkdir(parents=True)
        (folder / C.STATISTICS_FILE).write_bytes(stats_list.SerializeToString())
    return artifact


def run_gate(tmp_path, current, baseline=None):
    """The gate's executor on artifacts in tmp_path; returns the DriftReport artifact."""
    from google.protobuf import text_format
    from tfx.types import standard_artifacts
    schema_artifact = standard_artifacts.Schema()
    schema_artifact.uri = str(tmp_path / "schema")
    os.makedirs(schema_artifact.uri)
    with open(os.path.join(schema_artifact.uri, "schema.pbtxt"), "w") as f:
        f.write(text_format.MessageToString(schema()))
    inputs = {"examples": [_examples_artifact(2, 11)],
              "statistics": [_statistics_artifact(tmp_path, "current", current, 12)],
              "schema": [schema_artifact]}
    if baseline is not None:
        inputs["baseline"] = [_statistics_artifact(tmp_path, "baseline", baseline, 7)]
        inputs["baseline_examples"] = [_examples_artifact(1, 6)]
    report = drift_gate.DriftReport()
    report.uri = str(tmp_path / "report")
    executor = drift_gate.DriftGate.EXECUTOR_SPEC.executor_class()
    executor.Do(inputs, {C.DRIFT_REPORT_KEY: [report]}, {})
    return report


def test_measure_drift_reports_every_compared_feature_with_its_threshold():
    rows = drift_gate.measure_drift({"train": stats()}, {"train": stats()}, schema())
    assert {(r["feature"], r["measure"], r["threshold"]) for r in rows} == {
        ("amount", "Jensen-Shannon", 0.15), ("kind", "L-infinity", 0.2)}
    assert all(r["passed"] and r["distance"] == pytest.approx(0.0) for r in rows)


def test_first_span_passes_and_records_no_baseline(tmp_path):
    report = run_gate(tmp_path, stats())
    assert report.get_int_custom_property(C.PASSED_PROPERTY) == 1
    assert report.get_string_custom_property(C.BASELINE_PROPERTY) == drift_gate.NO_BASELINE
    recorded = read_drift_report(report.uri)
    assert recorded["baseline"] is None and recorded["features"] == []
    assert recorded["passed"] is True and recorded["span"] == 2
    # What later spans' baseline resolution reads.
    assert report.get_int_custom_property(C.SPAN_PROPERTY) == 2
    assert report.get_int_custom_property(C.STATISTICS_ID_PROPERTY) == 12
    assert report.get_int_custom_property(C.EXAMPLES_ID_PROPERTY) == 11


def test_similar_span_passes_and_records_the_distances(tmp_path):
    report = run_gate(tmp_path, stats(amount_scale=1.05, basic=55), baseline=stats())
    recorded = read_drift_report(report.uri)
    assert recorded["baseline"]["span"] == 1 and recorded["baseline"]["statistics_id"] == 7
    rows = {(r["split"], r["feature"]): r for r in recorded["features"]}
    # Measured on the train split, the largest sample of the span.
    assert set(rows) == {("train", feature) for feature in ("amount", "kind")}
    assert rows["train", "kind"]["distance"] == pytest.approx(0.05)
    assert 0 < rows["train", "amount"]["distance"] < 0.15
    assert report.get_int_custom_property(C.BASELINE_SPAN_PROPERTY) == 1
    assert report.get_float_custom_property("train/kind") == pytest.approx(0.05)


def test_a_scaled_amount_stops_with_distance_and_threshold(tmp_path):
    with pytest.raises(drift_gate.DataDrifted) as stopped:
        run_gate(tmp_path, stats(amount_scale=5.0), baseline=stats())
    message = str(stopped.value)
    assert "span 2 drifted from span 1" in message
    lines = message.splitlines()[1:]
    assert len(lines) == 1  # amount on the train split; kind did not move
    assert all("feature 'amount'" in line and "Jensen-Shannon" in line
               and "threshold 0.1500" in line for line in lines)
    assert not os.path.exists(tmp_path / "report" / C.DRIFT_REPORT_FILE)


def test_describe_drift_lists_only_failed_measurements_largest_excess_first():
    rows = [{"feature": "amount", "split": "train", "measure": "Jensen-Shannon",
             "distance": 0.2, "threshold": 0.15, "passed": False},
            {"feature": "region", "split": "eval", "measure": "L-infinity",
             "distance": 0.5, "threshold": 0.2, "passed": False},
            {"feature": "duration", "split": "train", "measure": "Jensen-Shannon",
             "distance": 0.01, "threshold": 0.2, "passed": True}]
    assert describe_drift(rows) == [
        "feature 'region' (eval split): L-infinity 0.5000 > threshold 0.2000",
        "feature 'amount' (train split): Jensen-Shannon 0.2000 > threshold 0.1500"]


def test_report_file_is_plain_json(tmp_path):
    report = run_gate(tmp_path, stats(), baseline=stats())
    with open(os.path.join(report.uri, C.DRIFT_REPORT_FILE)) as f:
        assert json.load(f) == read_drift_report(report.uri)


# --- the readers ---------------------------------------------------------------------------------

ROW = {"feature": "amount", "split": "train", "measure": "Jensen-Shannon",
       "distance": 0.0953, "threshold": 0.15, "passed": True}


def test_report_page_shows_the_distances_and_the_missing_baseline():
    from tabflow.review.page import drift_html
    passed = drift_html({"state": "COMPLETE", "report": {
        "baseline": {"span": 1, "statistics_id": 5, "statistics_uri": "/s"}, "features": [ROW]}})
    assert "against span 1" in passed and "amount" in passed and "0.0953" in passed
    assert "0.1500" in passed and "Jensen-Shannon" in passed
    first = drift_html({"state": "COMPLETE", "report": {"baseline": None, "features": []}})
    assert "no baseline" in first
    stopped = drift_html({"state": "FAILED", "report": None})
    assert "stopped the run" in stopped
    assert "no drift gate" in drift_html(None)


def test_lineage_text_lists_the_gate_measurements():
    from tabflow.lineage.text import drift_gate_lines
    lines = drift_gate_lines("B", {"state": "COMPLETE", "baseline_span": 1,
                                   "baseline_statistics_id": 5, "features": [ROW]})
    assert lines[0] == "B: COMPLETE, baseline span 1 (statistics #5)"
    assert "amount" in lines[1] and "0.0953 / 0.1500 ok" in lines[1]
    assert drift_gate_lines("A", {"state": "COMPLETE", "baseline_span": None,
                                  "baseline_statistics_id": None, "features": []}) == [
        "A: COMPLETE, no baseline"]
