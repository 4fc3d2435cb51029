"""TFMA evaluation config: metrics, slices and the thresholds that bless a model, by the
dataset's problem type (tabflow/dataset.py names each type's headline metric)."""
import json
from typing import List

import tensorflow_model_analysis as tfma

from tabflow import dataset

# TFMA's defaults (10,000 thresholds and buckets, for every slice and both models) made the
# Evaluator the slowest component; these resolutions are ample for 5,000 eval examples.
AUC_THRESHOLDS = 1000
PLOT_THRESHOLDS = 200
CALIBRATION_BUCKETS = 100
HISTOGRAM_METRICS = "pipeline.tfma_metrics"


def _thresholds(n: int) -> str:
    return json.dumps({"num_thresholds": n})


def _direction(headline: dataset.Headline) -> int:
    return (tfma.MetricDirection.HIGHER_IS_BETTER if headline.higher_is_better
            else tfma.MetricDirection.LOWER_IS_BETTER)


def _no_worse_than_baseline(headline: dataset.Headline,
                            max_regression: float) -> tfma.GenericChangeThreshold:
    """TFMA compares candidate minus baseline with the limit: at least -max_regression when
    higher is better, at most +max_regression when lower is."""
    limit = -max_regression if headline.higher_is_better else max_regression
    return tfma.GenericChangeThreshold(direction=_direction(headline),
                                       absolute={"value": limit})


def _gates(spec: dataset.DatasetSpec, with_baseline: bool) -> List[tfma.PerSliceMetricThreshold]:
    """The headline's bound on the overall slice and, with a baseline, its change overall and
    within each gated slice.

    No other slice is gated: small slices are noise, and TFMA reports AUC 0 for a slice whose
    examples all have one label.
    """
    headline = spec.headline
    bound = {"value": spec.threshold}
    overall = tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(
        **({"lower_bound": bound} if headline.higher_is_better else {"upper_bound": bound})))
    if with_baseline:
        overall.change_threshold.CopyFrom(_no_worse_than_baseline(headline, spec.max_regression))
    # The message is copied in: `overall` is complete by now.
    gates = [tfma.PerSliceMetricThreshold(slicing_specs=[tfma.SlicingSpec()], threshold=overall)]
    if with_baseline:
        gates += [tfma.PerSliceMetricThreshold(
            slicing_specs=[gated_slice(s)],
            threshold=tfma.MetricThreshold(
                change_threshold=_no_worse_than_baseline(headline, s.max_regression)))
            for s in spec.gated_slices]
    return gates


def gated_slice(gated: dataset.GatedSlice) -> tfma.SlicingSpec:
    return tfma.SlicingSpec(feature_values={gated.column: gated.value})


def _binary_metrics(gates) -> List[tfma.MetricsSpec]:
    metrics = [
        tfma.MetricConfig(class_name="ExampleCount"),
        tfma.MetricConfig(class_name="AUC", config=_thresholds(AUC_THRESHOLDS),
                          per_slice_thresholds=gates),
        tfma.MetricConfig(class_name="AUCPrecisionRecall", config=_thresholds(AUC_THRESHOLDS)),
        # Read from the histogram AUC builds anyway (pipeline/tfma_metrics.py), under TFMA's
        # names: no pass over the examples of their own.
        *[tfma.MetricConfig(class_name=f"Histogram{name}", module=HISTOGRAM_METRICS)
          for name in ("BinaryAccuracy", "Precision", "Recall", "MeanLabel", "MeanPrediction",
                       "Calibration")],
        # The log loss Keras reported as the model's compiled "loss", computed by TFMA itself.
        tfma.MetricConfig(class_name="BinaryCrossEntropy"),
        tfma.MetricConfig(class_name="CalibrationPlot",
                          config=json.dumps({"num_buckets": CALIBRATION_BUCKETS})),
        tfma.MetricConfig(class_name="ConfusionMatrixPlot", config=_thresholds(PLOT_THRESHOLDS)),
    ]
    return [tfma.MetricsSpec(metrics=metrics)]


def _multiclass_metrics(gates, classes: int) -> List[tfma.MetricsSpec]:
    overall = [
        tfma.MetricConfig(class_name="ExampleCount"),
        # Named "accuracy", the key the headline (tabflow/dataset.py) and the readers use.
        tfma.MetricConfig(class_name="SparseCategoricalAccuracy",
                          config=json.dumps({"name": "accuracy"}), per_slice_thresholds=gates),
        tfma.MetricConfig(class_name="SparseCategoricalCrossentropy"),
        tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
    ]
    # One recall and precision per class (keyed by sub_key.class_id): the class's predicted
    # probability against 0.5, the label one-hot from the class id.
    per_class = [tfma.MetricConfig(class_name="Recall"),
                 tfma.MetricConfig(class_name="Precision")]
    return [tfma.MetricsSpec(metrics=overall),
            tfma.MetricsSpec(metrics=per_class, binarize=tfma.BinarizationOptions(
                class_ids={"values": list(range(classes))}))]


def _regression_metrics(gates) -> List[tfma.MetricsSpec]:
    metrics = [
        tfma.MetricConfig(class_name="ExampleCount"),
        tfma.MetricConfig(class_name="MeanSquaredError"),
        tfma.MetricConfig(class_name="MeanAbsoluteError"),
        # Keras' metric, keyed "root_mean_squared_error": the headline, in the label's units.
        tfma.MetricConfig(class_name="RootMeanSquaredError", per_slice_thresholds=gates),
        tfma.MetricConfig(class_name="MeanLabel"),
        tfma.MetricConfig(class_name="MeanPrediction"),
    ]
    return [tfma.MetricsSpec(metrics=metrics)]


def _slicing_specs(spec: dataset.DatasetSpec) -> List[tfma.SlicingSpec]:
    """Overall, one per report column and each gated slice whose column is not reported: TFMA
    fails validation when a threshold's slice was not computed."""
    specs = [tfma.SlicingSpec()] + [tfma.SlicingSpec(feature_keys=[column])
                                    for column in spec.report_slices]
    specs += [gated_slice(s) for s in spec.gated_slices if s.column not in spec.report_slices]
    return specs


def create_eval_config(spec: dataset.DatasetSpec, with_baseline: bool) -> tfma.EvalConfig:
    """The evaluation of `spec`'s problem type; with_baseline=False drops the comparisons
    against the last blessed model (overall and within the gated slices)."""
    gates = _gates(spec, with_baseline)
    if spec.problem_type == dataset.BINARY:
        metrics_specs = _binary_metrics(gates)
    elif spec.problem_type == dataset.MULTICLASS:
        metrics_specs = _multiclass_metrics(gates, len(spec.classes))
    else:
        metrics_specs = _regression_metrics(gates)
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(
            # Named, TFMA loads each model once, through its signatures. Unnamed, it loads each
            # model twice more as a Keras model: once to find its type, once to add the Keras
            # compiled metrics (loss and accuracy, which BinaryCrossEntropy and BinaryAccuracy
            # give). Those loads were 18 of the Evaluator's 29 s with a baseline.
            model_type=tfma.TF_GENERIC,
            signature_name="serving_default",
            # The transform writes the label as <label>_xf: 0/1, the class id or the value.
            label_key=f"{spec.label}_xf",
            preprocessing_function_names=["transform_features"],
        )],
        metrics_specs=metrics_specs,
        slicing_specs=_slicing_specs(spec),
    )
