"""The histogram-read binary metrics agree with TFMA's own, computed by TFMA in the same
evaluation on the same rows, overall and per slice, with and without example weights."""
import math

import numpy as np
import pandas as pd
import pytest
import tensorflow_model_analysis as tfma

from pipeline import eval_config as E
from pipeline import tfma_metrics

NAMES = ("BinaryAccuracy", "Precision", "Recall", "MeanLabel", "MeanPrediction", "Calibration")


def _frame(n=2000, seed=3):
    rng = np.random.default_rng(seed)
    prediction = rng.uniform(0.0, 1.0, n)
    # Right around the threshold and the bucket edges next to it.
    prediction[:8] = [0.49990, 0.499999, 0.500001, 0.50009, 0.50011, 0.0, 0.99999, 0.25]
    label = (rng.uniform(0.0, 1.0, n) < prediction).astype(float)
    group = np.where(rng.uniform(0.0, 1.0, n) < 0.3, "a", "b").astype(object)
    # A slice with one class only: precision and recall have empty denominators.
    group[-20:] = "empty"
    label[-20:] = 0.0
    weight = rng.uniform(0.5, 2.0, n)
    return pd.DataFrame({"prediction": prediction, "label": label, "group": group,
                         "weight": weight})


def _name(class_name):
    return getattr(tfma_metrics, f"Histogram{class_name}").NAME


def _value(value):
    # TFMA's JSON view writes NaN as a string.
    return float(value) if value is not None else None


def _evaluate(frame, weighted):
    ours = [tfma.MetricConfig(class_name=f"Histogram{n}", module=E.HISTOGRAM_METRICS,
                              config=f'{{"name": "ours_{_name(n)}"}}')
            for n in NAMES]
    theirs = [tfma.MetricConfig(class_name=n) for n in NAMES] + [
        tfma.MetricConfig(class_name="AUC")]
    config = tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(label_key="label", prediction_key="prediction",
                                    **({"example_weight_key": "weight"} if weighted else {}))],
        metrics_specs=[tfma.MetricsSpec(metrics=ours + theirs,
                                        example_weights=tfma.ExampleWeightOptions(
                                            weighted=weighted, unweighted=not weighted))],
        slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=["group"])])
    result = tfma.analyze_raw_data(frame, config)
    return {key: {name: _value(value.get("doubleValue")) for name, value in metrics[""][""].items()}
            for key, metrics in result.slicing_metrics}


@pytest.mark.parametrize("weighted", [False, True])
def test_histogram_metrics_equal_tfmas_own(weighted):
    by_slice = _evaluate(_frame(), weighted)
    assert set(by_slice) == {(), (("group", "a"),), (("group", "b"),), (("group", "empty"),)}
    for key, metrics in by_slice.items():
        for name in NAMES:
            tfma_name = _name(name)
            theirs, ours = metrics[tfma_name], metrics[f"ours_{tfma_name}"]
            if math.isnan(theirs):  # recall and calibration without positives
                assert math.isnan(ours), (key, name, ours)
                continue
            assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12), (key, name, ours, theirs)


def test_the_pipelines_binary_config_adds_one_pass_for_all_six():
    """The six metrics add no combiner beyond the histogram AUC needs: the evaluation's
    combiners are the same with and without them."""
    from tensorflow_model_analysis.metrics import metric_specs, metric_types

    def combiners(metrics):
        config = tfma.EvalConfig(model_specs=[tfma.ModelSpec(label_key="label")],
                                 metrics_specs=[tfma.MetricsSpec(metrics=metrics)])
        computations = metric_specs.to_computations(list(config.metrics_specs), config)
        return {c.keys[0].name for c in computations
                if isinstance(c, metric_types.MetricComputation)}

    auc = [tfma.MetricConfig(class_name="AUC")]
    ours = [tfma.MetricConfig(class_name=f"Histogram{n}", module=E.HISTOGRAM_METRICS)
            for n in NAMES]
    assert combiners(auc + ours) == combiners(auc)
    assert len(combiners(auc + [tfma.MetricConfig(class_name=n) for n in NAMES])) > \
        len(combiners(auc))


def test_the_pipelines_binary_evaluation_walks_the_examples_twice_per_model():
    """Per model, the binary evaluation's per-example combiners are the histogram and the log
    loss (plus the counts): neither the 0.5-threshold matrices nor the weighted label sums."""
    from tensorflow_model_analysis.metrics import metric_specs, metric_types

    from tabflow import dataset
    spec = dataset.DatasetSpec(name="tiny", folder="/nowhere", label="y",
                               problem_type=dataset.BINARY, classes=(), report_slices=(),
                               gated_slices=(), threshold=0.5, max_regression=0.01)
    config = E.create_eval_config(spec, with_baseline=False)
    computations = metric_specs.to_computations(list(config.metrics_specs), config)
    walks = {type(c.combiner).__name__ for c in computations
             if isinstance(c, metric_types.MetricComputation)}
    assert walks == {"_ExampleCountCombiner", "_CalibrationHistogramCombiner",
                     "_BinaryCrossEntropyCombiner"}
