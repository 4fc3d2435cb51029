"""Binary metrics read from the calibration histogram TFMA already builds for AUC.

TFMA's own BinaryAccuracy, Precision and Recall (at 0.5) and MeanLabel, MeanPrediction and
Calibration each add a combiner that walks every example of every slice in Python, once per
model: with a baseline, those two combiners were 37% of the Evaluator's time (10x the taxi
rows: 78 s -> 49.5 s without them). Every one of these figures is a sum over the 10,000-bucket
histogram that AUC, AUC-PR and the plots share, so these classes derive them from it and add
no pass over the examples. Their class names differ from TFMA's (TFMA would pick its own
class for a registered name whatever the module), their metric names are TFMA's, so readers
see the same keys.

One difference from TFMA's exact path: a prediction of exactly 0.5 counts as positive here (its
bucket starts at 0.5), where TFMA's `prediction > 0.5` counts it negative.
"""
from typing import Callable, Dict, List, Optional

from tensorflow_model_analysis.metrics import calibration_histogram
from tensorflow_model_analysis.metrics import metric_types
from tensorflow_model_analysis.metrics import metric_util

THRESHOLD = 0.5
NAN = float("nan")


class Totals:
    """Weighted counts of a histogram, split at THRESHOLD."""

    def __init__(self, histogram: calibration_histogram.Histogram, num_buckets: int):
        # Bucket i >= 1 holds predictions in [(i - 1) / n, i / n); 0 and n + 1 hold what falls
        # below 0 and from 1 up. So bucket n * THRESHOLD + 1 is the first above the threshold.
        first_positive = int(num_buckets * THRESHOLD) + 1
        self.examples = self.labels = self.predictions = 0.0
        self.tp = self.fp = 0.0
        for bucket in histogram:
            self.examples += bucket.weighted_examples
            self.labels += bucket.weighted_labels
            self.predictions += bucket.weighted_predictions
            if bucket.bucket_id >= first_positive:
                self.tp += bucket.weighted_labels
                self.fp += bucket.weighted_examples - bucket.weighted_labels
        self.fn = self.labels - self.tp
        self.tn = self.examples - self.labels - self.fp


def _ratio(numerator: float, denominator: float) -> float:
    # NaN on an empty denominator, as TFMA reports it.
    return numerator / denominator if denominator > 0 else NAN


def _from_histogram(value: Callable[[Totals], float]):
    """A computations function for metric_util.merge_per_key_computations: TFMA's default
    histogram (deduplicated with AUC's by its key) and one derived value."""
    def computations(name: str, eval_config=None, model_name: str = "", output_name: str = "",
                     sub_key: Optional[metric_types.SubKey] = None, aggregation_type=None,
                     class_weights: Optional[Dict[int, float]] = None,
                     example_weighted: bool = False) -> metric_types.MetricComputations:
        key = metric_types.MetricKey(name=name, model_name=model_name, output_name=output_name,
                                     sub_key=sub_key, example_weighted=example_weighted)
        computations: List = calibration_histogram.calibration_histogram(
            eval_config=eval_config, model_name=model_name, output_name=output_name,
            sub_key=sub_key, aggregation_type=aggregation_type, class_weights=class_weights,
            example_weighted=example_weighted)
        histogram_key = computations[-1].keys[-1]

        def result(metrics):
            totals = Totals(metrics[histogram_key], calibration_histogram.DEFAULT_NUM_BUCKETS)
            return {key: value(totals)}

        computations.append(metric_types.DerivedMetricComputation(keys=[key], result=result))
        return computations
    return computations


class _HistogramMetric(metric_types.Metric):
    """A metric that is one value of the Totals; NAME is TFMA's name for it."""
    NAME = ""

    def __init__(self, name: Optional[str] = None):
        super().__init__(metric_util.merge_per_key_computations(_from_histogram(self.value)),
                         name=name or self.NAME)

    @staticmethod
    def value(totals: Totals) -> float:
        raise NotImplementedError


class HistogramBinaryAccuracy(_HistogramMetric):
    NAME = "binary_accuracy"

    @staticmethod
    def value(totals: Totals) -> float:
        return _ratio(totals.tp + totals.tn, totals.examples)


class HistogramPrecision(_HistogramMetric):
    NAME = "precision"

    @staticmethod
    def value(totals: Totals) -> float:
        return _ratio(totals.tp, totals.tp + totals.fp)


class HistogramRecall(_HistogramMetric):
    NAME = "recall"

    @staticmethod
    def value(totals: Totals) -> float:
        return _ratio(totals.tp, totals.tp + totals.fn)


class HistogramMeanLabel(_HistogramMetric):
    NAME = "mean_label"

    @staticmethod
    def value(totals: Totals) -> float:
        return _ratio(totals.labels, totals.examples)


class HistogramMeanPrediction(_HistogramMetric):
    NAME = "mean_prediction"

    @staticmethod
    def value(totals: Totals) -> float:
        return _ratio(totals.predictions, totals.examples)


class HistogramCalibration(_HistogramMetric):
    """Weighted predictions over weighted labels."""
    NAME = "calibration"

    @staticmethod
    def value(totals: Totals) -> float:
        return _ratio(totals.predictions, totals.labels)
