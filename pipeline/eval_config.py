"""TFMA evaluation config: metrics, slices and the thresholds that bless a model."""
import json

import tensorflow_model_analysis as tfma

from modules import features as F
from pipeline import contract

# TFMA's defaults (10,000 thresholds and buckets, for every slice and both models) made the
# Evaluator the slowest component; these resolutions are ample for 5,000 eval examples.
AUC_THRESHOLDS = 1000
PLOT_THRESHOLDS = 200
CALIBRATION_BUCKETS = 100


# The one slice with its own AUC gate: card payments, where tips are recorded. Overall AUC
# mostly measures payment type (cash trips are almost all negatives); within this slice the
# model has to tell tippers apart. Only this slice is gated: TFMA reports AUC 0 for slices with
# a single label, and small slices' AUC is noise.
GATED_SLICE_COLUMN, GATED_SLICE_VALUE = contract.GATED_SLICE


def _thresholds(n: int) -> str:
    return json.dumps({"num_thresholds": n})


def _no_worse_than_baseline(max_regression: float) -> tfma.GenericChangeThreshold:
    return tfma.GenericChangeThreshold(direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                                       absolute={"value": -max_regression})


def gated_slice() -> tfma.SlicingSpec:
    return tfma.SlicingSpec(feature_values={GATED_SLICE_COLUMN: GATED_SLICE_VALUE})


def create_eval_config(min_auc: float, max_auc_regression: float,
                       max_slice_auc_regression: float = 1.0,
                       with_baseline: bool = True) -> tfma.EvalConfig:
    """with_baseline=False drops the comparisons against the last blessed model (overall and
    within the gated slice)."""
    auc_threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": min_auc}))
    if with_baseline:
        auc_threshold.change_threshold.CopyFrom(_no_worse_than_baseline(max_auc_regression))
    # The message is copied in: auc_threshold is complete by now.
    auc_gates = [tfma.PerSliceMetricThreshold(slicing_specs=[tfma.SlicingSpec()],
                                              threshold=auc_threshold)]
    if with_baseline:
        auc_gates.append(tfma.PerSliceMetricThreshold(
            slicing_specs=[gated_slice()],
            threshold=tfma.MetricThreshold(
                change_threshold=_no_worse_than_baseline(max_slice_auc_regression))))
    metrics = [
        tfma.MetricConfig(class_name="ExampleCount"),
        # Gate on the overall slice and the gated slice only: small slices (e.g. payment_type
        # "No Charge") have no positives and an undefined AUC.
        tfma.MetricConfig(class_name="AUC", config=_thresholds(AUC_THRESHOLDS),
                          per_slice_thresholds=auc_gates),
        tfma.MetricConfig(class_name="AUCPrecisionRecall", config=_thresholds(AUC_THRESHOLDS)),
        tfma.MetricConfig(class_name="BinaryAccuracy"),
        tfma.MetricConfig(class_name="Precision"),
        tfma.MetricConfig(class_name="Recall"),
        # The log loss Keras reported as the model's compiled "loss", computed by TFMA itself.
        tfma.MetricConfig(class_name="BinaryCrossEntropy"),
        tfma.MetricConfig(class_name="MeanLabel"),
        tfma.MetricConfig(class_name="MeanPrediction"),
        tfma.MetricConfig(class_name="Calibration"),
        tfma.MetricConfig(class_name="CalibrationPlot",
                          config=json.dumps({"num_buckets": CALIBRATION_BUCKETS})),
        tfma.MetricConfig(class_name="ConfusionMatrixPlot", config=_thresholds(PLOT_THRESHOLDS)),
    ]
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(
            # Named, TFMA loads each model once, through its signatures. Unnamed, it loads each
            # model twice more as a Keras model: once to find its type, once to add the Keras
            # compiled metrics (loss and accuracy, which BinaryCrossEntropy and BinaryAccuracy
            # give). Those loads were 18 of the Evaluator's 29 s with a baseline.
            model_type=tfma.TF_GENERIC,
            signature_name="serving_default",
            label_key=F.LABEL_KEY,
            preprocessing_function_names=["transform_features"],
        )],
        metrics_specs=[tfma.MetricsSpec(metrics=metrics)],
        slicing_specs=[tfma.SlicingSpec()] + [
            tfma.SlicingSpec(feature_keys=[key]) for key in contract.SLICE_COLUMNS],
    )
