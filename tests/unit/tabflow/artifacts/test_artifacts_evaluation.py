"""The TFMA output readers against files written by TFMA's own protos, TensorFlow's TFRecord
writer and the TFRecord format written by hand."""
import json

import pytest

from tabflow.artifacts import evaluation, protos
from tabflow.artifacts.tfrecord import CorruptRecord
from tests.support.tfrecords import metrics_record, record_offsets, write_records


def tf_write(path, messages):
    import tensorflow as tf
    with tf.io.TFRecordWriter(str(path)) as writer:
        for message in messages:
            writer.write(message.SerializeToString())


def test_evaluator_metrics_and_verdict_are_read_without_tfma(tmp_path):
    pb2 = protos.metrics_for_slice_pb2()
    write_records(tmp_path / "metrics-00000-of-00001.tfrecord", [
        metrics_record(pb2, "candidate", "auc", 0.91),
        metrics_record(pb2, "baseline", "auc", 0.90),
        metrics_record(pb2, "candidate", "auc", 0.01, is_diff=True),
        metrics_record(pb2, "candidate", "auc", 0.5, slice_feature="hour"),
    ])
    # ValidationResult{validation_ok: true (field 1), validation_details (field 4, bytes)}.
    write_records(tmp_path / "validations.tfrecord", [b"\x22\x02\x08\x01\x08\x01"])
    assert evaluation.overall_metrics(str(tmp_path)) == {
        "candidate": {"auc": 0.91}, "baseline": {"auc": 0.90}, "diff": {"auc": 0.01}}
    assert evaluation.validation_ok(str(tmp_path)) is True
    write_records(tmp_path / "validations.tfrecord", [b"\x22\x00"])  # proto3 omits false
    assert evaluation.validation_ok(str(tmp_path)) is False


def test_a_flipped_byte_in_a_slice_record_fails_the_overall_readers_too(tmp_path):
    """The overall metrics and plots read one slice, but every record of the file is checked."""
    pb2 = protos.metrics_for_slice_pb2()
    for prefix, overall, sliced in (
            ("metrics", metrics_record(pb2, "candidate", "auc", 0.9),
             metrics_record(pb2, "candidate", "auc", 0.5, slice_feature="hour")),
            ("plots", pb2.PlotsForSlice().SerializeToString(),
             _sliced_plots(pb2).SerializeToString())):
        path = tmp_path / f"{prefix}-00000-of-00001.tfrecord"
        payloads = [overall, sliced, overall]
        write_records(path, payloads)
        raw = bytearray(path.read_bytes())
        raw[record_offsets(payloads)[1][1] + len(sliced) - 1] ^= 0x01
        path.write_bytes(bytes(raw))
    with pytest.raises(CorruptRecord, match="metrics-00000-of-00001.tfrecord: bad data checksum"):
        evaluation.overall_metrics(str(tmp_path))
    with pytest.raises(CorruptRecord, match="plots-00000-of-00001.tfrecord: bad data checksum"):
        evaluation.overall_plots(str(tmp_path))
    with pytest.raises(CorruptRecord, match="metrics-00000-of-00001.tfrecord"):
        evaluation.metrics_by_slice(str(tmp_path))


def _sliced_plots(pb2):
    plots = pb2.PlotsForSlice()
    plots.slice_key.single_slice_keys.add(column="kind", bytes_value=b"red")
    return plots


def test_a_record_that_is_not_the_expected_message_names_the_file(tmp_path):
    write_records(tmp_path / "metrics-00000-of-00001.tfrecord", [b"\xff\xff\xff"])
    with pytest.raises(CorruptRecord, match="metrics-00000-of-00001.tfrecord: not a "
                                            "MetricsForSlice record"):
        evaluation.overall_metrics(str(tmp_path))
    write_records(tmp_path / "validations.tfrecord", [b"\x12\x05\x01"])
    with pytest.raises(CorruptRecord, match="validations.tfrecord: not a ValidationResult"):
        evaluation.validation(str(tmp_path))


def test_failed_validation_is_read_with_slice_metric_value_and_message(tmp_path):
    from tensorflow_model_analysis.proto import validation_result_pb2 as vr
    result = vr.ValidationResult(validation_ok=False, missing_thresholds=True)
    per_slice = result.metric_validations_per_slice.add()
    key = per_slice.slice_key.single_slice_keys.add(column="kind", bytes_value=b"red")
    assert key.column == "kind"
    failure = per_slice.failures.add(message="AUC 0.61 is below 0.7")
    failure.metric_key.name = "auc"
    failure.metric_key.model_name = "candidate"
    failure.metric_value.double_value.value = 0.61
    failure.metric_threshold.value_threshold.lower_bound.value = 0.7
    change = result.metric_validations_per_slice.add().failures.add(message="AUC fell")
    change.metric_key.name = "auc"
    change.metric_key.is_diff = True
    change.metric_value.double_value.value = -0.05
    result.missing_slices.add(feature_keys=["hour"])
    tf_write(tmp_path / "validations.tfrecord", [result])

    got = evaluation.validation(str(tmp_path))

    assert got["ok"] is False and got["missing_thresholds"] is True
    assert got["missing_slices"] == 1 and got["rubber_stamp"] is False
    first, second = got["failures"]
    assert first == {"slice": ("kind", "red"), "metric": "auc", "model": "candidate",
                     "is_diff": False, "value": pytest.approx(0.61),
                     "message": "AUC 0.61 is below 0.7"}
    assert second["slice"] is None and second["is_diff"] is True
    assert second["value"] == pytest.approx(-0.05)
    assert evaluation.validation_ok(str(tmp_path)) is False


def test_passed_validation_and_missing_file(tmp_path):
    from tensorflow_model_analysis.proto import validation_result_pb2 as vr
    assert evaluation.validation(str(tmp_path)) is None
    assert evaluation.validation_ok(str(tmp_path)) is None
    tf_write(tmp_path / "validations.tfrecord", [vr.ValidationResult(validation_ok=True)])
    assert evaluation.validation(str(tmp_path))["ok"] is True
    assert evaluation.validation_ok(str(tmp_path)) is True


def test_metrics_by_slice_prefers_configured_metrics_and_splits_models(tmp_path):
    from tensorflow_model_analysis.proto import metrics_for_slice_pb2 as mfs
    overall = mfs.MetricsForSlice()
    hour = mfs.MetricsForSlice()
    hour.slice_key.single_slice_keys.add(column="hour", int64_value=7)
    for message, keras_auc, config_auc in ((overall, 0.1, 0.8), (hour, 0.2, 0.9)):
        keras = message.metric_keys_and_values.add()  # the model's compiled metric
        keras.key.name, keras.key.model_name = "auc", "candidate"
        keras.value.double_value.value = keras_auc
        configured = message.metric_keys_and_values.add()
        configured.key.name, configured.key.model_name = "auc", "candidate"
        configured.key.example_weighted.value = False
        configured.value.double_value.value = config_auc
        base = message.metric_keys_and_values.add()
        base.key.name, base.key.model_name = "auc", "baseline"
        base.key.example_weighted.value = False
        base.value.bounded_value.value.value = config_auc - 0.05
        diff = message.metric_keys_and_values.add()
        diff.key.name, diff.key.model_name, diff.key.is_diff = "auc", "candidate", True
        diff.key.example_weighted.value = False
        diff.value.double_value.value = 0.05
    tf_write(tmp_path / "metrics-00000-of-00001.tfrecord", [hour, overall])

    entries = evaluation.metrics_by_slice(str(tmp_path))

    assert [e["slice"] for e in entries] == [None, ("hour", "7")]
    assert entries[0]["metrics"] == {"candidate": {"auc": 0.8},
                                     "baseline": {"auc": pytest.approx(0.75)},
                                     "diff": {"auc": 0.05}}
    assert entries[1]["metrics"]["candidate"]["auc"] == 0.9
    assert evaluation.overall_metrics(str(tmp_path)) == entries[0]["metrics"]


def test_corrupt_metrics_file_names_the_file(tmp_path):
    from tensorflow_model_analysis.proto import metrics_for_slice_pb2 as mfs
    path = tmp_path / "metrics-00000-of-00001.tfrecord"
    tf_write(path, [mfs.MetricsForSlice()] * 2)
    data = bytearray(path.read_bytes())
    data[-6] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptRecord, match="metrics-00000-of-00001"):
        evaluation.metrics_by_slice(str(tmp_path))


def _binary_spec(**gates):
    from tabflow import dataset
    raw = {"name": "example", "label": "label", "problem_type": "binary",
           "slices": {"report": ["hour", "kind"],
                      "gate": [{"column": "kind", "value": "dark red", "max_regression": 0.02}]},
           "thresholds": {"threshold": 0.6, "max_regression": 0.05}}
    return dataset.parse(raw, "/example", "/example/dataset.yaml").with_gates(**gates)


def _write_eval_config(folder, config):
    from google.protobuf import json_format
    (folder / "eval_config.json").write_text(json.dumps(
        {"evalConfig": json_format.MessageToDict(config), "version": "0.47.1"}))


def test_thresholds_from_eval_config_json(tmp_path):
    from pipeline.eval_config import create_eval_config
    spec = _binary_spec(threshold=0.7, max_regression=0.01, max_slice_regression=0.03)
    _write_eval_config(tmp_path, create_eval_config(spec, with_baseline=True))

    [auc, slice_auc] = evaluation.thresholds(str(tmp_path))

    assert auc["metric"] == "auc" and auc["slices"] == ["overall"]
    assert auc["lower_bound"] == 0.7 and auc["change_absolute"] == pytest.approx(-0.01)
    assert auc["direction"] == "HIGHER_IS_BETTER"
    # The gated slice is gated on its change against the baseline only.
    [gated] = spec.gated_slices
    assert slice_auc["metric"] == "auc"
    assert slice_auc["slices"] == [f"{gated.column}={gated.value}"]
    assert slice_auc["lower_bound"] is None
    assert slice_auc["change_absolute"] == pytest.approx(-0.03)
    assert slice_auc["direction"] == "HIGHER_IS_BETTER"
    assert evaluation.headline(str(tmp_path)) == {
        "metric": "auc", "title": "AUC", "higher_is_better": True, "threshold": 0.7,
        "problem_type": "binary"}
    assert evaluation.slice_columns(str(tmp_path)) == list(spec.report_slices)


def test_headline_of_a_lower_is_better_metric():
    thresholds = [{"metric": "root_mean_squared_error", "slices": ["island=Biscoe"],
                   "lower_bound": None, "upper_bound": None, "change_absolute": 1.0,
                   "change_relative": None, "direction": "LOWER_IS_BETTER"},
                  {"metric": "root_mean_squared_error", "slices": ["overall"],
                   "lower_bound": None, "upper_bound": 54.5, "change_absolute": 2.0,
                   "change_relative": None, "direction": "LOWER_IS_BETTER"}]
    assert evaluation.headline_of(thresholds) == {
        "metric": "root_mean_squared_error", "title": "RMSE", "higher_is_better": False,
        "threshold": 54.5, "problem_type": "regression"}
    assert evaluation.headline_of(thresholds[:1]) is None


def test_an_evaluation_without_its_config_has_no_headline(tmp_path):
    assert evaluation.headline(str(tmp_path)) is None
    assert evaluation.slice_columns(str(tmp_path)) == []


def test_per_class_metrics_keep_their_class(tmp_path):
    pb2 = protos.metrics_for_slice_pb2()
    metrics = pb2.MetricsForSlice()
    metrics.slice_key.SetInParent()
    for class_id, value in ((None, 0.9), (0, 0.8), (2, 0.7)):
        item = metrics.metric_keys_and_values.add()
        item.key.name, item.key.model_name = "recall", "candidate"
        if class_id is not None:
            item.key.sub_key.class_id.value = class_id
        item.value.double_value.value = value
    write_records(tmp_path / "metrics-00000-of-00001.tfrecord", [metrics.SerializeToString()])
    candidate = evaluation.overall_metrics(str(tmp_path))["candidate"]
    assert candidate == {"recall": 0.9, "recall/class 0": 0.8, "recall/class 2": 0.7}
    assert evaluation.per_class("recall", 2) == "recall/class 2"
    assert evaluation.class_metric("recall/class 2") == ("recall", 2)
    assert evaluation.class_metric("recall") is None


def test_no_slice_threshold_without_baseline():
    from pipeline.eval_config import create_eval_config
    metrics = create_eval_config(_binary_spec(), with_baseline=False).metrics_specs[0].metrics
    [auc] = [m for m in metrics if m.class_name == "AUC"]
    [only] = auc.per_slice_thresholds
    [overall] = only.slicing_specs
    assert not overall.feature_keys and not overall.feature_values


def test_models_are_loaded_through_their_signatures_only():
    # A named model type keeps TFMA from loading each model twice more as Keras (to guess the
    # type, and for the compiled metrics); the compiled loss comes from TFMA's own metric.
    import tensorflow_model_analysis as tfma
    from pipeline.eval_config import create_eval_config
    config = create_eval_config(_binary_spec(), with_baseline=True)
    assert [spec.model_type for spec in config.model_specs] == [tfma.TF_GENERIC]
    names = {m.class_name for m in config.metrics_specs[0].metrics}
    assert {"BinaryCrossEntropy", "HistogramBinaryAccuracy"} <= names


@pytest.mark.parametrize("class_name, config, expected", [
    ("AUC", "", "auc"), ("AUCPrecisionRecall", "", "auc_precision_recall"),
    ("BinaryAccuracy", "{}", "binary_accuracy"), ("ExampleCount", "", "example_count"),
    ("AUC", '{"name": "auc_1000"}', "auc_1000")])
def test_metric_names_follow_tfma(class_name, config, expected):
    assert evaluation.metric_name({"className": class_name, "config": config}) == expected
