"""The AnomalyGate's reading and describing of anomalies, on real tensorflow_metadata Anomalies
protos and artifact layouts."""
import numpy as np
import pytest
from tensorflow_metadata.proto.v0 import anomalies_pb2

from tabflow.artifacts.anomalies import describe_anomalies
from pipeline import span_values
from pipeline.components import read_anomalies, read_columns
from tabflow.contract import ANOMALIES_FILE


def feature_anomaly():
    a = anomalies_pb2.Anomalies()
    info = a.anomaly_info["kind"]
    info.severity = anomalies_pb2.AnomalyInfo.ERROR
    info.description = "Examples contain values missing from the schema: Bitcoin (<1%)."
    info.short_description = "Unexpected string values"
    reason = info.reason.add()
    reason.type = anomalies_pb2.AnomalyInfo.ENUM_TYPE_UNEXPECTED_STRING_VALUES
    reason.short_description = "Unexpected string values"
    reason.description = "Examples contain values missing from the schema: Bitcoin (<1%)."
    return a


def dataset_anomaly():
    a = anomalies_pb2.Anomalies()
    info = a.dataset_anomaly_info
    info.severity = anomalies_pb2.AnomalyInfo.ERROR
    reason = info.reason.add()
    reason.type = anomalies_pb2.AnomalyInfo.DATASET_LOW_NUM_EXAMPLES
    reason.short_description = "Low num examples in dataset."
    reason.description = "The dataset has 3 examples, which is lower than expected 100."
    return a


def two_features_anomaly():
    a = anomalies_pb2.Anomalies()
    amount = a.anomaly_info["amount"]
    for short, desc in [("Out-of-range values", "Unexpectedly low value: -1."),
                        ("Column dropped", "")]:
        r = amount.reason.add()
        r.short_description, r.description = short, desc
    duration = a.anomaly_info["duration"]
    duration.short_description = "Column missing"  # no reasons, only the summary
    return a


def test_feature_anomaly_line():
    lines = describe_anomalies({"eval": feature_anomaly()})
    assert lines == ["feature 'kind' (eval split): "
                     "Examples contain values missing from the schema: Bitcoin (<1%)."]


def test_dataset_anomaly_line():
    lines = describe_anomalies({"train": dataset_anomaly()})
    assert len(lines) == 1
    assert "dataset" in lines[0] and "train split" in lines[0]
    assert "lower than expected 100" in lines[0]


def test_reasons_joined_and_fallbacks():
    lines = describe_anomalies({"train": two_features_anomaly()})
    assert lines == [
        "feature 'amount' (train split): Unexpectedly low value: -1.; Column dropped",
        "feature 'duration' (train split): Column missing",
    ]


def test_empty_anomalies_give_no_lines():
    assert describe_anomalies({}) == []
    assert describe_anomalies({"train": anomalies_pb2.Anomalies(),
                               "eval": anomalies_pb2.Anomalies()}) == []


def test_lines_per_split_sorted():
    both = feature_anomaly()
    both.dataset_anomaly_info.CopyFrom(dataset_anomaly().dataset_anomaly_info)
    lines = describe_anomalies({"train": both, "eval": anomalies_pb2.Anomalies()})
    assert len(lines) == 2
    assert lines[0].startswith("feature 'kind' (train split)")
    assert lines[1].startswith("dataset (train split)")
    lines = describe_anomalies({"train": feature_anomaly(), "eval": feature_anomaly()})
    assert ["(eval split)" in lines[0], "(train split)" in lines[1]] == [True, True]


@pytest.fixture
def anomalies_artifact(tmp_path):
    from tfx.types import artifact_utils, standard_artifacts
    for split, proto in [("train", anomalies_pb2.Anomalies()), ("eval", feature_anomaly())]:
        (tmp_path / f"Split-{split}").mkdir()
        (tmp_path / f"Split-{split}" / ANOMALIES_FILE).write_bytes(proto.SerializeToString())
    artifact = standard_artifacts.ExampleAnomalies()
    artifact.uri = str(tmp_path)
    artifact.split_names = artifact_utils.encode_split_names(["train", "eval"])
    return artifact


def test_read_anomalies_from_artifact(anomalies_artifact):
    by_split = read_anomalies(anomalies_artifact)
    assert set(by_split) == {"train", "eval"}
    assert by_split["train"] == anomalies_pb2.Anomalies()
    assert by_split["eval"] == feature_anomaly()
    assert describe_anomalies(by_split) == [
        "feature 'kind' (eval split): "
        "Examples contain values missing from the schema: Bitcoin (<1%)."]


def test_read_anomalies_missing_split_file_fails(anomalies_artifact, tmp_path):
    (tmp_path / "Split-eval" / ANOMALIES_FILE).unlink()
    with pytest.raises(Exception, match="SchemaDiff.pb|Split-eval|No such file|NotFound"):
        read_anomalies(anomalies_artifact)


# --- the gate's checks on span values (pipeline/span_values.py) -------------------------


def typical_schema(**bounds):
    from tensorflow_metadata.proto.v0 import schema_pb2
    schema = schema_pb2.Schema()
    for name, (low, high) in bounds.items():
        domain = schema_pb2.FloatDomain(name=span_values.TYPICAL_DOMAIN)
        if low is not None:
            domain.min = low
        if high is not None:
            domain.max = high
        schema.feature.add(name=name).annotation.extra_metadata.add().Pack(domain)
    other = schema.feature.add(name="other")
    other.annotation.extra_metadata.add().Pack(schema_pb2.FloatDomain(name="elsewhere", max=1))
    return schema


def test_typical_ranges_read_from_annotations_only_by_name():
    ranges = span_values.typical_ranges(typical_schema(x=(None, 10.0), y=(0.0, None)))
    assert set(ranges) == {"x", "y"}
    assert ranges["x"].max == 10.0 and not ranges["y"].HasField("max")


def test_outlier_share_counts_present_values_against_the_limit():
    ranges = span_values.typical_ranges(typical_schema(x=(None, 10.0), y=(-1.0, 1.0)))
    x = np.array([1.0] * 97 + [50.0] * 3 + [np.nan] * 50)
    y = np.array([0.0] * 99 + [-5.0])
    [line] = span_values.outlier_problems({"x": x, "y": y}, ranges, max_share=0.02)
    assert line.startswith("feature 'x': 3.0% of its values (3 of 100) lie outside its "
                           "typical range -inf..10, more than max_outlier_share 2.0%"), line
    assert span_values.outlier_problems({"x": x, "y": y}, ranges, max_share=0.03) == []
    # A feature the span lacks is the schema check's to report.
    assert span_values.outlier_problems({}, ranges, max_share=0.0) == []


def test_label_share_below_the_minimum_names_every_class():
    labels = np.array([True] * 3 + [False] * 97)
    [line] = span_values.label_problems(labels, "is_large", "binary", (), min_share=0.05)
    assert line.startswith("label 'is_large': class shares 0: 97.0% (97 of 100), "
                           "1: 3.0% (3 of 100); the rarest class is below min_label_share "
                           "5.0%"), line
    assert span_values.label_problems(labels, "is_large", "binary", (), min_share=0.03) == []
    [line] = span_values.label_problems(np.zeros(10, int), "y", "binary", (), min_share=0.05)
    assert "1: 0.0% (0 of 10)" in line


def test_multiclass_labels_name_a_missing_class_an_unknown_value_and_missing_labels():
    classes = ("Adelie", "Chinstrap", "Gentoo")
    labels = np.array(["Adelie"] * 60 + ["Gentoo"] * 40, dtype=object)
    [line] = span_values.label_problems(labels, "species", "multiclass", classes, 0.05)
    assert "Chinstrap: 0.0% (0 of 100)" in line
    labels = np.array(["Adelie", "Chinstrap", "Gentoo", "Emperor", None] * 20, dtype=object)
    problems = span_values.label_problems(labels, "species", "multiclass", classes, 0.05)
    assert problems[0] == "label 'species': 20 of 100 examples have no label value"
    assert problems[1].startswith("label 'species': values ['Emperor'] are no class")


def test_a_constant_or_missing_regression_label_is_named():
    [line] = span_values.label_problems(np.full(50, 3.0), "y", "regression", (), 0.05)
    assert line == "label 'y': every example has the value 3; a model would learn a constant"
    labels = np.array([1.0, 2.0, np.nan])
    assert span_values.label_problems(labels, "y", "regression", (), 0.05) == [
        "label 'y': 1 of 3 examples have no label value"]


def test_a_span_below_min_examples_is_named():
    assert span_values.size_problems(100, 100) == []
    [line] = span_values.size_problems(99, 100)
    assert line.startswith("the span has 99 examples, fewer than min_examples 100")


def test_columns_read_from_an_examples_artifact(tmp_path):
    import tensorflow as tf
    from tfx.types import artifact_utils, standard_artifacts

    def example(**values):
        features = {}
        for name, value in values.items():
            if isinstance(value, float):
                features[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
            elif isinstance(value, int):
                features[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
            else:
                features[name] = tf.train.Feature(
                    bytes_list=tf.train.BytesList(value=[value] if value else []))
        return tf.train.Example(features=tf.train.Features(feature=features))

    rows = {"train": [example(amount=1.5, secs=60, kind=b"a"), example(amount=float("nan"))],
            "eval": [example(amount=2.0, secs=b"late")]}
    for split, examples in rows.items():
        (tmp_path / f"Split-{split}").mkdir()
        path = str(tmp_path / f"Split-{split}" / "data_tfrecord-00000-of-00001.gz")
        with tf.io.TFRecordWriter(path, options="GZIP") as writer:
            for e in examples:
                writer.write(e.SerializeToString())
    artifact = standard_artifacts.Examples()
    artifact.uri = str(tmp_path)
    artifact.split_names = artifact_utils.encode_split_names(["train", "eval"])
    columns = read_columns(artifact)
    assert set(columns) == {"amount", "secs", "kind"}
    # Splits in the artifact's order; missing numbers are NaN, missing text None; a column
    # with any text is text (the schema check reports the type).
    assert np.allclose(columns["amount"], [1.5, np.nan, 2.0], equal_nan=True)
    assert columns["kind"].tolist() == ["a", None, None]
    assert columns["secs"].tolist() == [60.0, None, "late"]
