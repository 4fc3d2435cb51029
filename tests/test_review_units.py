"""The review's TFMA readers against files written by TFMA's own protos and TensorFlow's
TFRecord writer, and the page's rendering decisions on hand-made review data."""
import json
import re

import pytest

from lineage import evaluation
from review import charts, page


def write_records(path, messages):
    import tensorflow as tf
    with tf.io.TFRecordWriter(str(path)) as writer:
        for message in messages:
            writer.write(message.SerializeToString())


def test_failed_validation_is_read_with_slice_metric_value_and_message(tmp_path):
    from tensorflow_model_analysis.proto import validation_result_pb2 as vr
    result = vr.ValidationResult(validation_ok=False, missing_thresholds=True)
    per_slice = result.metric_validations_per_slice.add()
    key = per_slice.slice_key.single_slice_keys.add(column="payment_type", bytes_value=b"Cash")
    assert key.column == "payment_type"
    failure = per_slice.failures.add(message="AUC 0.61 is below 0.7")
    failure.metric_key.name = "auc"
    failure.metric_key.model_name = "candidate"
    failure.metric_value.double_value.value = 0.61
    failure.metric_threshold.value_threshold.lower_bound.value = 0.7
    change = result.metric_validations_per_slice.add().failures.add(message="AUC fell")
    change.metric_key.name = "auc"
    change.metric_key.is_diff = True
    change.metric_value.double_value.value = -0.05
    result.missing_slices.add(feature_keys=["trip_start_hour"])
    write_records(tmp_path / "validations.tfrecord", [result])

    got = evaluation.validation(str(tmp_path))

    assert got["ok"] is False and got["missing_thresholds"] is True
    assert got["missing_slices"] == 1 and got["rubber_stamp"] is False
    first, second = got["failures"]
    assert first == {"slice": ("payment_type", "Cash"), "metric": "auc", "model": "candidate",
                     "is_diff": False, "value": pytest.approx(0.61),
                     "message": "AUC 0.61 is below 0.7"}
    assert second["slice"] is None and second["is_diff"] is True
    assert second["value"] == pytest.approx(-0.05)


def test_passed_validation_and_missing_file(tmp_path):
    from tensorflow_model_analysis.proto import validation_result_pb2 as vr
    assert evaluation.validation(str(tmp_path)) is None
    write_records(tmp_path / "validations.tfrecord", [vr.ValidationResult(validation_ok=True)])
    assert evaluation.validation(str(tmp_path))["ok"] is True


def test_metrics_by_slice_prefers_configured_metrics_and_splits_models(tmp_path):
    from tensorflow_model_analysis.proto import metrics_for_slice_pb2 as mfs
    overall = mfs.MetricsForSlice()
    hour = mfs.MetricsForSlice()
    hour.slice_key.single_slice_keys.add(column="trip_start_hour", int64_value=7)
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
    write_records(tmp_path / "metrics-00000-of-00001.tfrecord", [hour, overall])

    entries = evaluation.metrics_by_slice(str(tmp_path))

    assert [e["slice"] for e in entries] == [None, ("trip_start_hour", "7")]
    assert entries[0]["metrics"] == {"candidate": {"auc": 0.8},
                                     "baseline": {"auc": pytest.approx(0.75)},
                                     "diff": {"auc": 0.05}}
    assert entries[1]["metrics"]["candidate"]["auc"] == 0.9


def test_corrupt_metrics_file_names_the_file(tmp_path):
    from lineage.tfrecord import CorruptRecord
    from tensorflow_model_analysis.proto import metrics_for_slice_pb2 as mfs
    path = tmp_path / "metrics-00000-of-00001.tfrecord"
    write_records(path, [mfs.MetricsForSlice()] * 2)
    data = bytearray(path.read_bytes())
    data[-6] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptRecord, match="metrics-00000-of-00001"):
        evaluation.metrics_by_slice(str(tmp_path))


def test_thresholds_from_eval_config_json(tmp_path):
    from pipeline.eval_config import create_eval_config
    from google.protobuf import json_format
    config = create_eval_config(0.7, 0.01, with_baseline=True)
    (tmp_path / "eval_config.json").write_text(json.dumps(
        {"evalConfig": json_format.MessageToDict(config), "version": "0.47.1"}))

    [auc] = evaluation.thresholds(str(tmp_path))

    assert auc["metric"] == "auc" and auc["slices"] == ["overall"]
    assert auc["lower_bound"] == 0.7 and auc["change_absolute"] == pytest.approx(-0.01)
    assert auc["direction"] == "HIGHER_IS_BETTER"


@pytest.mark.parametrize("class_name, config, expected", [
    ("AUC", "", "auc"), ("AUCPrecisionRecall", "", "auc_precision_recall"),
    ("BinaryAccuracy", "{}", "binary_accuracy"), ("ExampleCount", "", "example_count"),
    ("AUC", '{"name": "auc_1000"}', "auc_1000")])
def test_metric_names_follow_tfma(class_name, config, expected):
    assert evaluation.metric_name({"className": class_name, "config": config}) == expected


def review_data(blessed=True, pushed=True, failed_at=(), evaluation_present=True):
    metrics = {"example_count": 100.0, "auc": 0.8, "mean_label": 0.3}
    evaluation_section = {
        "artifact": {"id": 5, "type": "ModelEvaluation", "uri": "/e", "run": "r1",
                     "reused": False},
        "state": "COMPLETE",
        "model": {"id": 3, "type": "Model", "uri": "/m", "run": "r1", "reused": False},
        "baseline": None, "has_baseline_metrics": False, "blessed": blessed,
        "blessing": None,
        "overall": {"candidate": metrics, "baseline": {}, "diff": {}},
        "slices": {"payment_type": [
            {"value": "Cash", "candidate": {"example_count": 5.0, "auc": 0.0,
                                            "mean_label": 0.0}, "baseline": {}},
            {"value": "Credit Card", "candidate": {"example_count": 95.0, "auc": 0.6,
                                                   "mean_label": 0.4}, "baseline": {}}],
            "trip_start_hour": []},
        "plots": {},
        "thresholds": [{"metric": "auc", "slices": ["overall"], "lower_bound": 0.7,
                        "upper_bound": None, "change_absolute": -0.01,
                        "change_relative": None, "direction": "HIGHER_IS_BETTER"}],
        "threshold_checks": [],
        "validation": {"ok": blessed, "failures": [], "missing_slices": 0,
                       "missing_thresholds": False, "rubber_stamp": False},
    }
    return {
        "pipeline": "taxi",
        "run": {"id": "local-x", "runner": "local", "status": "FAILED" if failed_at else
                "COMPLETE", "started": "s", "ended": "e", "seconds": 1.0,
                "failed_at": list(failed_at)},
        "components": [], "generated": "now", "lineage_svg": "<svg></svg>",
        "data": {"examples": None, "span": 1, "statistics": None, "summary": {},
                 "anomalies": {"train": ["trip_start_hour: unexpected string values"]}
                 if failed_at else {"train": []}, "gate": None},
        "evaluation": evaluation_section if evaluation_present else None,
        "push": {"id": 9, "state": "COMPLETE", "pushed": True, "destination": "/serving/1",
                 "version": 1} if pushed else None,
        "provenance": {"git_commit": "abc", "git_dirty": False, "runner": "local",
                       "code_sha256": "f00", "files": {"modules/model.py": "1"},
                       "config": {"min_auc": 0.7}, "artifact_id": 4},
    }


def test_verdicts():
    assert "BLESSED and pushed" in page.verdict(review_data())
    assert "NOT BLESSED" in page.verdict(review_data(blessed=False, pushed=False))
    gate = review_data(failed_at=["AnomalyGate"], evaluation_present=False, pushed=False)
    assert "STOPPED AT THE DATA GATE" in page.verdict(gate)
    html = page.render(gate)
    assert "unexpected string values" in html and "Headline metrics" not in html


def test_single_label_slice_auc_is_undefined_not_zero():
    html = page.slices_html(review_data()["evaluation"])
    cash_row = re.search(r"<tr><td>Cash.*?</tr>", html).group(0)
    assert "undefined" in cash_row and "few examples" in cash_row
    # No bar for Cash's undefined AUC; Credit Card's 0.6 is one, below the 0.7 threshold.
    chart = re.search(r'<svg[^>]*data-chart="slice-auc-payment_type".*?</svg>', html).group(0)
    assert chart.count('class="bar"') == 1 and "Credit Card: candidate 0.600" in chart
    assert 'class="worse" data-value="0.6"' in html


def test_page_is_self_contained():
    html = page.render(review_data())
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html


def test_bar_chart_scales_and_labels():
    svg = charts.bar_chart("c", "t", ["a", "b"], [("s", [2.0, None], "#000")], "y",
                           reference=("ref", 1.0))
    heights = [float(h) for h in re.findall(r'class="bar"[^>]*height="([0-9.]+)"', svg)]
    assert len(heights) == 1 and heights[0] > 0
    assert "ref 1.000" in svg
