"""The AnomalyGate's reading and describing of anomalies, on real tensorflow_metadata Anomalies
protos and artifact layouts."""
import pytest
from tensorflow_metadata.proto.v0 import anomalies_pb2

from artifacts.anomalies import describe_anomalies
from pipeline.components import read_anomalies
from pipeline.contract import ANOMALIES_FILE


def feature_anomaly():
    a = anomalies_pb2.Anomalies()
    info = a.anomaly_info["payment_type"]
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
    fare = a.anomaly_info["fare"]
    for short, desc in [("Out-of-range values", "Unexpectedly low value: -1."),
                        ("Column dropped", "")]:
        r = fare.reason.add()
        r.short_description, r.description = short, desc
    tips = a.anomaly_info["tips"]
    tips.short_description = "Column missing"  # no reasons, only the summary
    return a


def test_feature_anomaly_line():
    lines = describe_anomalies({"eval": feature_anomaly()})
    assert lines == ["feature 'payment_type' (eval split): "
                     "Examples contain values missing from the schema: Bitcoin (<1%)."]


def test_dataset_anomaly_line():
    lines = describe_anomalies({"train": dataset_anomaly()})
    assert len(lines) == 1
    assert "dataset" in lines[0] and "train split" in lines[0]
    assert "lower than expected 100" in lines[0]


def test_reasons_joined_and_fallbacks():
    lines = describe_anomalies({"train": two_features_anomaly()})
    assert lines == [
        "feature 'fare' (train split): Unexpectedly low value: -1.; Column dropped",
        "feature 'tips' (train split): Column missing",
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
    assert lines[0].startswith("feature 'payment_type' (train split)")
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
        "feature 'payment_type' (eval split): "
        "Examples contain values missing from the schema: Bitcoin (<1%)."]


def test_read_anomalies_missing_split_file_fails(anomalies_artifact, tmp_path):
    (tmp_path / "Split-eval" / ANOMALIES_FILE).unlink()
    with pytest.raises(Exception, match="SchemaDiff.pb|Split-eval|No such file|NotFound"):
        read_anomalies(anomalies_artifact)
