"""The eval config of each problem type, run by TFMA itself on a tiny model with the two
signatures the Trainer exports, and the evaluation read back by tabflow's readers."""
import json

import numpy as np
import pytest

from tabflow import dataset
from tabflow.artifacts import evaluation

CLASSES = ("Adelie", "Chinstrap", "Gentoo")
GROUPS = ("a", "b")
N = 48


def _spec(problem_type, threshold, max_regression=0.01, **changes):
    fields = dict(name="tiny", folder="/nowhere", label="y", problem_type=problem_type,
                  classes=CLASSES if problem_type == dataset.MULTICLASS else (),
                  report_slices=("group",),
                  gated_slices=(dataset.GatedSlice("group", "a", 0.02),),
                  threshold=threshold, max_regression=max_regression)
    fields.update(changes)
    return dataset.DatasetSpec(**fields)


def _label(problem_type, i):
    if problem_type == dataset.BINARY:
        return float(i % 2)
    if problem_type == dataset.MULTICLASS:
        return float(i % 3)
    return float(i)


def _x(problem_type, i):
    """The one feature. Multiclass: the class id, but the next class for every 8th example, so
    the model below is right on 14 of each class's 16 examples."""
    if problem_type == dataset.MULTICLASS:
        return float((i + (i % 8 == 0)) % 3)
    return i / N


def _write_examples(path, problem_type):
    import tensorflow as tf
    with tf.io.TFRecordWriter(str(path)) as writer:
        for i in range(N):
            feature = {
                "x": tf.train.Feature(float_list=tf.train.FloatList(
                    value=[_x(problem_type, i)])),
                "group": tf.train.Feature(bytes_list=tf.train.BytesList(
                    value=[GROUPS[(i // 2) % 2].encode()])),
                "kind": tf.train.Feature(bytes_list=tf.train.BytesList(
                    value=[b"k" if i % 4 == 0 else b"j"])),
                "y": tf.train.Feature(float_list=tf.train.FloatList(
                    value=[_label(problem_type, i)])),
            }
            writer.write(tf.train.Example(
                features=tf.train.Features(feature=feature)).SerializeToString())


def _save_model(path, problem_type):
    """A Keras model with serving_default (raw examples without the label -> predictions) and
    transform_features (raw examples -> <label>_xf and the features), as the Trainer exports."""
    import tensorflow as tf
    # Untrained, with weights set: multiclass predicts the class id x holds; regression sees x
    # scaled back to the example's index and predicts 3 * index for a label of index.
    units, activation, kernel, bias = {
        dataset.BINARY: (1, "sigmoid", [[3.0]], [0.0]),
        dataset.MULTICLASS: (3, "softmax", [[-5.0, 0.0, 5.0]], [5.0, 2.5, -5.0]),
        dataset.REGRESSION: (1, None, [[3.0]], [0.0])}[problem_type]
    model = tf.keras.Sequential([tf.keras.layers.Dense(units, activation=activation,
                                                       input_shape=(1,))])
    model.set_weights([np.array(kernel), np.array(bias)])
    label_dtype = tf.float32 if problem_type == dataset.REGRESSION else tf.int64
    serving_spec = {"x": tf.io.FixedLenFeature([1], tf.float32)}
    raw_spec = {**serving_spec, "y": tf.io.FixedLenFeature([1], tf.float32)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(examples):
        raw = tf.io.parse_example(examples, serving_spec)
        return {"outputs": model(raw["x"] * (N if problem_type == dataset.REGRESSION else 1))}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(examples):
        raw = tf.io.parse_example(examples, raw_spec)
        return {"x_xf": raw["x"], "y_xf": tf.cast(raw["y"], label_dtype)}

    model.save(str(path), save_format="tf", signatures={
        "serving_default": serve.get_concrete_function(),
        "transform_features": transform_features.get_concrete_function()})


def _evaluate(tmp_path, spec):
    """What TFX's Evaluator does with the config (tfx/components/evaluator/executor.py), with
    the model as its own baseline; returns the output folder."""
    import tensorflow_model_analysis as tfma
    from pipeline.eval_config import create_eval_config

    data, model, out = tmp_path / "examples.tfrecord", tmp_path / "model", tmp_path / "eval"
    _write_examples(data, spec.problem_type)
    _save_model(model, spec.problem_type)
    config = tfma.utils.update_eval_config_with_defaults(
        create_eval_config(spec, with_baseline=True), has_baseline=True, rubber_stamp=True)
    tfma.utils.verify_eval_config(config)
    models = [tfma.default_eval_shared_model(eval_saved_model_path=str(model),
                                             model_name=s.name, eval_config=config)
              for s in config.model_specs]
    tfma.run_model_analysis(eval_shared_model=models, eval_config=config,
                            data_location=str(data), output_path=str(out))
    return str(out)


def _validation_failures(uri):
    result = evaluation.validation(uri)
    return result["ok"], {(f["metric"], f["slice"]) for f in result["failures"]}


@pytest.mark.parametrize("problem_type", dataset.PROBLEM_TYPES)
def test_configs_gate_the_headline_where_the_spec_says(problem_type):
    from pipeline.eval_config import create_eval_config
    spec = _spec(problem_type, 0.5, max_regression=0.03)
    headline = spec.headline
    config = create_eval_config(spec, with_baseline=True)
    [model_spec] = config.model_specs
    assert model_spec.label_key == "y_xf"
    assert list(model_spec.preprocessing_function_names) == ["transform_features"]
    assert [list(s.feature_keys) for s in config.slicing_specs] == [[], ["group"]]
    gated = [m for spec_ in config.metrics_specs for m in spec_.metrics
             if m.per_slice_thresholds]
    assert [evaluation.metric_name({"className": m.class_name, "config": m.config})
            for m in gated] == [headline.metric]
    overall, card = gated[0].per_slice_thresholds
    value = overall.threshold.value_threshold
    assert value.HasField("lower_bound") == headline.higher_is_better
    assert value.HasField("upper_bound") != headline.higher_is_better
    change = overall.threshold.change_threshold
    assert change.absolute.value == pytest.approx(-0.03 if headline.higher_is_better else 0.03)
    assert dict(card.slicing_specs[0].feature_values) == {"group": "a"}
    assert card.threshold.change_threshold.absolute.value == \
        pytest.approx(-0.02 if headline.higher_is_better else 0.02)

    without = create_eval_config(spec, with_baseline=False)
    [only] = [m for s in without.metrics_specs for m in s.metrics if m.per_slice_thresholds]
    [overall_only] = only.per_slice_thresholds
    assert not overall_only.threshold.HasField("change_threshold")


def test_a_gated_slice_outside_the_report_is_still_computed():
    from pipeline.eval_config import create_eval_config
    spec = _spec(dataset.BINARY, 0.5, gated_slices=(dataset.GatedSlice("kind", "k", 0.02),))
    config = create_eval_config(spec, with_baseline=True)
    assert [(list(s.feature_keys), dict(s.feature_values)) for s in config.slicing_specs] == \
        [([], {}), (["group"], {}), ([], {"kind": "k"})]


def test_binary_evaluation_runs_in_tfma(tmp_path):
    uri = _evaluate(tmp_path, _spec(dataset.BINARY, 0.0))
    assert _validation_failures(uri) == (True, set())
    assert evaluation.headline(uri) == {
        "metric": "auc", "title": "AUC", "higher_is_better": True, "threshold": 0.0,
        "problem_type": dataset.BINARY}
    overall = evaluation.overall_metrics(uri)
    assert {"auc", "auc_precision_recall", "binary_accuracy", "precision", "recall",
            "mean_label", "calibration", "example_count"} <= set(overall["candidate"])
    assert overall["diff"]["auc"] == pytest.approx(0.0)
    assert evaluation.slice_columns(uri) == ["group"]
    plots = evaluation.overall_plots(uri)["candidate"]
    assert plots["calibration"] and plots["confusion"]


def test_multiclass_evaluation_runs_in_tfma(tmp_path):
    uri = _evaluate(tmp_path, _spec(dataset.MULTICLASS, 0.0))
    assert _validation_failures(uri) == (True, set())
    assert evaluation.headline(uri)["metric"] == "accuracy"
    candidate = evaluation.overall_metrics(uri)["candidate"]
    assert candidate["example_count"] == N
    assert candidate["accuracy"] == pytest.approx(42 / 48)
    for class_id in range(3):
        assert candidate[evaluation.per_class("recall", class_id)] == pytest.approx(14 / 16)
        assert candidate[f"precision/class {class_id}"] == pytest.approx(14 / 16)
    # The per-class metrics do not stand in for overall ones of the same name.
    assert "recall" not in candidate and "precision" not in candidate
    matrix = evaluation.overall_plots(uri)["candidate"]["multiclass_confusion"]
    assert sum(cell["examples"] for cell in matrix) == N
    assert sorted((c["actual"], c["predicted"], c["examples"]) for c in matrix) == [
        (0, 0, 14), (0, 1, 2), (1, 1, 14), (1, 2, 2), (2, 0, 2), (2, 2, 14)]


def test_regression_evaluation_runs_in_tfma(tmp_path):
    spec = _spec(dataset.REGRESSION, 1000.0, max_regression=1.0,
                 gated_slices=(dataset.GatedSlice("kind", "k", 1.0),))
    uri = _evaluate(tmp_path, spec)
    assert _validation_failures(uri) == (True, set())
    assert evaluation.headline(uri) == {
        "metric": "root_mean_squared_error", "title": "RMSE", "higher_is_better": False,
        "threshold": 1000.0, "problem_type": dataset.REGRESSION}
    candidate = evaluation.overall_metrics(uri)["candidate"]
    assert candidate["root_mean_squared_error"] == pytest.approx(
        candidate["mean_squared_error"] ** 0.5, rel=1e-4)
    assert {"mean_absolute_error", "mean_label", "mean_prediction"} <= set(candidate)
    # The gated slice was computed although no report section names its column.
    assert evaluation.slice_columns(uri) == ["group"]
    slices = {e["slice"] for e in evaluation.metrics_by_slice(uri)}
    assert ("kind", "k") in slices


def test_regression_bound_is_an_upper_bound(tmp_path):
    uri = _evaluate(tmp_path, _spec(dataset.REGRESSION, 0.001, max_regression=1.0))
    ok, failures = _validation_failures(uri)
    assert not ok and failures == {("root_mean_squared_error", None)}
    with open(f"{uri}/eval_config.json") as f:
        assert "upperBound" in json.dumps(json.load(f))
