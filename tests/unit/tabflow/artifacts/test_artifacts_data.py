"""The data artifacts' readers: schemas, statistics and drift, anomalies, tuner and data files,
on real tensorflow_metadata protos written into artifact-shaped folders."""
import csv
import json
import math
from pathlib import Path

import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from tabflow.artifacts import anomalies, drift, files, schema, statistics, tuning
from tabflow.contract import (ANOMALIES_FILE, HYPERPARAMETERS_FILE, STATISTICS_FILE,
                               TUNER_RESULTS_FILE)

REPO = Path(__file__).resolve().parents[4]
DATASETS = sorted(p.parent for p in (REPO / "data").glob("*/dataset.yaml"))


@pytest.mark.parametrize("folder", DATASETS, ids=lambda folder: folder.name)
def test_curated_schema_is_read_with_every_feature(folder):
    parsed = schema.read_schema(str(folder))
    assert parsed == schema.load_schema(folder / "schema.pbtxt")
    features = schema.schema_features(str(folder))
    assert list(features) == [f.name for f in parsed.feature]
    # Every column of the dataset's span files, counted from the data rather than the schema.
    span_files = sorted(folder.glob("spans/span-*/*.csv"))
    assert span_files
    for path in span_files:
        with open(path, newline="") as f:
            assert sorted(features) == sorted(next(csv.reader(f))), path
    for feature in parsed.feature:
        kind = schema_pb2.FeatureType.Name(feature.type)
        shape = "fixed shape" if feature.HasField("shape") else "varlen"
        assert features[feature.name] == f"{kind}, {shape}", feature.name


def test_the_curated_schemas_hold_every_type_in_both_shapes():
    # So the test above reads each kind of description from a real schema.
    seen = set()
    for folder in DATASETS:
        seen |= set(schema.schema_features(str(folder)).values())
    assert {f"{kind}, {shape}" for kind in ("INT", "FLOAT", "BYTES")
            for shape in ("fixed shape", "varlen")} <= seen


def test_schema_as_schemagen_writes_it(tmp_path):
    # Canonical text, with a string holding braces and a '#'.
    written = schema_pb2.Schema()
    feature = written.feature.add(name="a", type=schema_pb2.BYTES)
    feature.shape.dim.add(size=1)
    feature.string_domain.value.extend(["{x}", "# not a comment"])
    written.feature.add(name="b", type=schema_pb2.FLOAT).presence.min_fraction = 0.5
    (tmp_path / "schema.pbtxt").write_text(text_format.MessageToString(written))
    assert schema.read_schema(str(tmp_path)) == written
    assert schema.schema_features(str(tmp_path)) == {"a": "BYTES, fixed shape",
                                                     "b": "FLOAT, varlen"}
    assert schema.schema_features(str(tmp_path / "missing")) is None


def test_schema_parse_error_names_the_file(tmp_path):
    (tmp_path / "schema.pbtxt").write_text('feature { name: "x" type: NOT_A_TYPE }\n')
    with pytest.raises(ValueError, match="schema.pbtxt: not a valid text-format Schema"):
        schema.schema_features(str(tmp_path))


def test_schema_differences_name_added_removed_and_changed_features():
    old = {"a": "INT, fixed shape", "b": "FLOAT, varlen"}
    new = {"a": "INT, varlen", "c": "BYTES, varlen"}
    assert schema.schema_differences(old, new) == [
        "+ c (BYTES, varlen)", "- b", "~ a: INT, fixed shape -> INT, varlen"]
    assert schema.schema_differences(None, new) == []


def test_linf_distance_over_normalized_counts():
    assert drift.linf_distance({"a": 1, "b": 1}, {"a": 2, "b": 2}) == 0.0
    assert drift.linf_distance({"a": 3, "b": 1}, {"a": 1, "b": 1}) == pytest.approx(0.25)
    assert drift.linf_distance({"a": 1}, {"b": 5}) == 1.0


def test_jensen_shannon_divergence_bounds_and_rebucketing():
    same = [(0.0, 1.0, 10.0), (1.0, 2.0, 30.0)]
    assert drift.js_divergence(same, [(0.0, 1.0, 1.0), (1.0, 2.0, 3.0)]) == pytest.approx(0.0)
    assert drift.js_divergence([(0.0, 1.0, 5.0)], [(2.0, 3.0, 5.0)]) == pytest.approx(1.0)
    # One wide bucket spread uniformly equals two halves with the same counts.
    assert drift.js_divergence([(0.0, 2.0, 10.0)],
                               [(0.0, 1.0, 5.0), (1.0, 2.0, 5.0)]) == pytest.approx(0.0)
    # Half the mass moved to a new interval: JS(p, q) with p=(1,0), q=(.5,.5).
    expected = 0.5 * (1 * math.log2(1 / 0.75)) + 0.5 * (
        0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25))
    assert drift.js_divergence([(0.0, 1.0, 4.0)],
                               [(0.0, 1.0, 2.0), (1.0, 2.0, 2.0)]) == pytest.approx(expected)


def _dataset(region_counts, amount_buckets, num_examples=100):
    dataset = statistics_pb2.DatasetFeatureStatistics(num_examples=num_examples)
    region = dataset.features.add(type=statistics_pb2.FeatureNameStatistics.STRING)
    region.path.step.append("region")
    region.string_stats.unique = len(region_counts)
    region.string_stats.common_stats.num_non_missing = num_examples
    region.string_stats.common_stats.tot_num_values = num_examples
    region.string_stats.common_stats.max_num_values = 1
    for value, count in region_counts.items():
        region.string_stats.top_values.add(value=value, frequency=count)
    amount = dataset.features.add(type=statistics_pb2.FeatureNameStatistics.FLOAT)
    amount.path.step.append("amount")
    amount.num_stats.mean = 12.5
    amount.num_stats.common_stats.num_non_missing = num_examples
    amount.num_stats.common_stats.tot_num_values = num_examples - 10  # 10 empty cells
    amount.num_stats.common_stats.max_num_values = 1
    histogram = amount.num_stats.histograms.add(type=statistics_pb2.Histogram.STANDARD)
    for low, high, count in amount_buckets:
        histogram.buckets.add(low_value=low, high_value=high, sample_count=count)
    return dataset


def test_feature_drifts_rank_features_by_distance():
    old = _dataset({"north": 50, "south": 50}, [(0, 10, 50), (10, 20, 50)])
    new = _dataset({"north": 90, "south": 10}, [(0, 10, 50), (10, 20, 50)])
    drifts = drift.feature_drifts(old, new)
    assert [(d.feature, d.measure) for d in drifts] == [
        ("region", "L-infinity"), ("amount", "Jensen-Shannon")]
    assert drifts[0].distance == pytest.approx(0.4)
    assert drifts[1].distance == pytest.approx(0.0)


def test_statistics_are_read_per_split_and_summarised(tmp_path):
    for split, rows in (("train", 100), ("eval", 50)):
        (tmp_path / f"Split-{split}").mkdir()
        stats_list = statistics_pb2.DatasetFeatureStatisticsList()
        stats_list.datasets.add().CopyFrom(_dataset({"north": 3, "south": 1}, [(0, 10, rows)],
                                                    num_examples=rows))
        (tmp_path / f"Split-{split}" / STATISTICS_FILE).write_bytes(
            stats_list.SerializeToString())
    (tmp_path / "Split-empty").mkdir()

    assert list(statistics.read_statistics(str(tmp_path))) == ["eval", "train"]
    assert statistics.row_counts(str(tmp_path)) == {"eval": 50, "train": 100}
    summary = statistics.statistics_summary(str(tmp_path))["train"]
    assert summary["examples"] == 100
    amount, region = summary["features"]
    assert amount["name"] == "amount" and amount["kind"] == "numeric" and amount["type"] == "FLOAT"
    assert amount["mean"] == 12.5 and amount["histogram"] == [[0, 10, 100]]
    assert amount["missing_fraction"] == pytest.approx(0.1)
    assert region["kind"] == "categorical" and region["top"] == [["north", 3], ["south", 1]]
    assert region["missing_fraction"] == 0.0
    assert statistics.read_statistics(str(tmp_path / "missing")) == {}


def _feature_and_dataset_anomalies():
    a = anomalies_pb2.Anomalies()
    info = a.anomaly_info["region"]
    reason = info.reason.add()
    reason.short_description = "Unexpected string values"
    reason.description = "Examples contain values missing from the schema: east (<1%)."
    dropped = a.anomaly_info["weight"]
    dropped.description = "The feature was present in fewer examples than expected."
    dropped.short_description = "Column dropped"
    dataset_reason = a.dataset_anomaly_info.reason.add()
    dataset_reason.short_description = "Low num examples in dataset."
    dataset_reason.description = "The dataset has 3 examples, which is lower than expected 100."
    return a


def test_anomalies_become_problems_and_both_presentations(tmp_path):
    by_split = {"train": anomalies_pb2.Anomalies(), "eval": _feature_and_dataset_anomalies()}
    assert anomalies.problems(by_split) == [
        anomalies.Problem("eval", "region",
                          "Examples contain values missing from the schema: east (<1%).",
                          "Unexpected string values"),
        anomalies.Problem("eval", "weight",
                          "The feature was present in fewer examples than expected.",
                          "Column dropped"),
        anomalies.Problem("eval", None,
                          "The dataset has 3 examples, which is lower than expected 100.",
                          "Low num examples in dataset.")]
    assert anomalies.describe_anomalies(by_split) == [
        "feature 'region' (eval split): "
        "Examples contain values missing from the schema: east (<1%).",
        "feature 'weight' (eval split): The feature was present in fewer examples than expected.",
        "dataset (eval split): The dataset has 3 examples, which is lower than expected 100."]

    for split, proto in by_split.items():
        (tmp_path / f"Split-{split}").mkdir()
        (tmp_path / f"Split-{split}" / ANOMALIES_FILE).write_bytes(proto.SerializeToString())
    (tmp_path / "Split-unvalidated").mkdir()
    assert anomalies.read_anomalies(str(tmp_path)) == by_split
    assert anomalies.anomaly_lines(str(tmp_path)) == {
        "eval": ["region: Unexpected string values", "weight: Column dropped",
                 "(dataset): Low num examples in dataset."],
        "train": []}


def test_tuner_and_data_files(tmp_path):
    assert tuning.hyperparameters(str(tmp_path)) is None
    assert tuning.tuner_trials(str(tmp_path)) is None
    (tmp_path / HYPERPARAMETERS_FILE).write_text(json.dumps(
        {"space": [], "values": {"learning_rate": 0.01, "hidden_units": 64}}))
    (tmp_path / TUNER_RESULTS_FILE).write_text(json.dumps([{"trial": "0", "score": 0.8}]))
    (tmp_path / "Split-train").mkdir()
    (tmp_path / "Split-train" / "data.gz").write_bytes(b"12345")
    assert tuning.hyperparameters(str(tmp_path)) == {"learning_rate": 0.01, "hidden_units": 64}
    assert tuning.tuner_trials(str(tmp_path)) == [{"trial": "0", "score": 0.8}]
    assert files.split_dirs(str(tmp_path)) == {"train": str(tmp_path / "Split-train")}
    assert files.data_files(str(tmp_path / "Split-train")) == [{"path": "data.gz", "bytes": 5}]
