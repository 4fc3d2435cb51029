"""TFMA Evaluator output read without TFMA: metrics by slice, plots, thresholds, validation,
and the headline metric the evaluation was gated on.

TFMA's loaders import TensorFlow and Beam (seconds); these read the same files with protobuf
and a TFRecord reader that checks every record's checksums, so lineage and report commands stay
fast.
"""
import glob
import json
import math
import os
import re
from typing import Dict, List, Optional, Tuple

from tabflow.artifacts import protos, tfrecord, wire
from tabflow.artifacts.errors import CorruptRecord, reading
from tabflow.artifacts.files import read_json
from tabflow.contract import (BASELINE_MODEL_NAME, EVAL_CONFIG_FILE, METRICS_PREFIX,
                               PLOTS_PREFIX, VALIDATIONS_FILE)
from tabflow.dataset import HEADLINE

# A per-class metric's name: TFMA keys it by the metric's name and a sub key (class id), which
# would otherwise overwrite the overall metric of the same name.
SUB_KEY_NAMES = (("class_id", "class"), ("k", "k"), ("top_k", "top"))


def per_class(metric: str, class_id: int) -> str:
    """The name this module gives `metric` of one class: "recall/class 0"."""
    return f"{metric}/class {class_id}"


def class_metric(name: str) -> Optional[Tuple[str, int]]:
    """(metric, class id) of a per-class name ("recall/class 0"); None for any other name."""
    metric, _, class_id = name.partition("/class ")
    return (metric, int(class_id)) if class_id.isdigit() else None


def key_name(key) -> str:
    """A MetricKey's name, with its sub key when it has one ("recall/class 0", "recall/top 1")."""
    name = key.name
    if key.HasField("sub_key"):
        for field, label in SUB_KEY_NAMES:
            if key.sub_key.HasField(field):
                name += f"/{label} {getattr(key.sub_key, field).value}"
    return name


def _metric_value(value) -> Optional[float]:
    kind = value.WhichOneof("type")
    if kind == "double_value":
        return value.double_value.value
    if kind == "bounded_value":
        return value.bounded_value.value.value
    return None


def overall_metrics(evaluation_uri: str) -> Dict[str, Dict[str, float]]:
    """Overall-slice metrics: {"candidate": {name: value}, "baseline": {...}, "diff": {...}}.

    "baseline" and "diff" (candidate minus baseline) are empty when the evaluation had no
    baseline model.
    """
    pb2 = protos.metrics_for_slice_pb2()
    items = [item for metrics in _overall_slice(evaluation_uri, METRICS_PREFIX,
                                                pb2.MetricsForSlice)
             for item in metrics.metric_keys_and_values]
    return _grouped(items)


def _overall_slice(uri: str, prefix: str, message_class):
    """The overall-slice records of TFMA's `prefix`-* files, parsed (every record of the files
    is checked, whichever slice it holds)."""
    for message in _messages(uri, prefix, message_class):
        if not message.slice_key.single_slice_keys:
            yield message


def _grouped(metric_keys_and_values) -> Dict[str, Dict[str, float]]:
    """{"candidate", "baseline", "diff"} -> {metric name: value}.

    TFMA also reports the model's own compiled Keras metrics ("auc", "accuracy", "loss") under
    keys without example_weighted; where the eval config computes a metric of the same name,
    the config's value wins.
    """
    groups: Dict[str, Dict[str, float]] = {"candidate": {}, "baseline": {}, "diff": {}}
    for item in sorted(metric_keys_and_values,
                       key=lambda item: item.key.HasField("example_weighted")):
        value = _metric_value(item.value)
        if value is None:
            continue
        if item.key.is_diff:
            group = "diff"
        elif item.key.model_name == BASELINE_MODEL_NAME:
            group = "baseline"
        else:
            group = "candidate"
        groups[group][key_name(item.key)] = value
    return groups


# tensorflow_model_analysis/proto/validation_result.proto field numbers.
_VR_OK, _VR_PER_SLICE, _VR_MISSING_SLICES, _VR_MISSING_THRESHOLDS, _VR_RUBBER_STAMP = 1, 2, 3, 6, 7
_MVS_SLICE_KEY, _MVS_FAILURES = 2, 3
_FAILURE_KEY, _FAILURE_VALUE, _FAILURE_MESSAGE = 1, 3, 4


def validation_ok(evaluation_uri: str) -> Optional[bool]:
    """ValidationResult.validation_ok (field 1), read from the protobuf wire format.

    Parsing the whole ValidationResult would need TFMA's config proto, whose generated module
    imports the tensorflow_model_analysis package; field 1 is all this needs.
    """
    path = os.path.join(evaluation_uri, VALIDATIONS_FILE)
    if not os.path.exists(path):
        return None
    for offset, record in tfrecord.read_records(path):
        with reading(path, "a ValidationResult record", offset):
            return bool(wire.varint_field(record, _VR_OK))
    return None


OVERALL = None  # the slice key of the overall slice


def slice_of(slice_key) -> Optional[Tuple[str, str]]:
    """(column, value as text) of a single-column slice; OVERALL for the overall slice;
    "a=1, b=2"-style column and value for crossed slices."""
    keys = list(slice_key.single_slice_keys)
    if not keys:
        return OVERALL
    parts = []
    for key in keys:
        kind = key.WhichOneof("kind")
        value = getattr(key, kind) if kind else ""
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        parts.append((key.column, str(value)))
    if len(parts) == 1:
        return parts[0]
    return " x ".join(c for c, _ in parts), ", ".join(f"{c}={v}" for c, v in parts)


def _messages(uri: str, prefix: str, message_class):
    """Every record of TFMA's `prefix`-* shards, checked and parsed as `message_class`."""
    for path in sorted(glob.glob(os.path.join(uri, f"{prefix}-*"))):
        for offset, record in tfrecord.read_records(path):
            with reading(path, f"a {message_class.__name__} record", offset):
                message = protos.parse(message_class, record)
            yield message


def metrics_by_slice(uri: str) -> List[dict]:
    """One entry per slice: {"slice": (column, value) or None, "metrics": {"candidate": {...},
    "baseline": {...}, "diff": {...}}}, overall slice first."""
    pb2 = protos.metrics_for_slice_pb2()
    out = []
    for metrics in _messages(uri, METRICS_PREFIX, pb2.MetricsForSlice):
        out.append({"slice": slice_of(metrics.slice_key),
                    "metrics": _grouped(metrics.metric_keys_and_values)})
    out.sort(key=lambda entry: entry["slice"] is not OVERALL)
    return out


def _finite(value: float) -> Optional[float]:
    return None if value is None or math.isnan(value) or math.isinf(value) else value


def overall_plots(uri: str) -> Dict[str, dict]:
    """{model name: {"calibration": [...], "confusion": [...], "multiclass_confusion": [...]}}
    for the overall slice.

    calibration: buckets with lower/upper bound, examples, label and prediction sums;
    confusion: per threshold tp, fp, tn, fn, precision, recall, false_positive_rate;
    multiclass_confusion: per actual and predicted class id, the examples (top prediction).
    """
    pb2 = protos.metrics_for_slice_pb2()
    out: Dict[str, dict] = {}
    for plots in _overall_slice(uri, PLOTS_PREFIX, pb2.PlotsForSlice):
        for item in plots.plot_keys_and_values:
            model = item.key.model_name or "candidate"
            entry = out.setdefault(model, {"calibration": [], "confusion": [],
                                           "multiclass_confusion": []})
            value = item.value
            if value.HasField("calibration_histogram_buckets"):
                entry["calibration"] = [{
                    "lower": _finite(b.lower_threshold_inclusive),
                    "upper": _finite(b.upper_threshold_exclusive),
                    "examples": b.num_weighted_examples.value,
                    "label_sum": b.total_weighted_label.value,
                    "prediction_sum": b.total_weighted_refined_prediction.value,
                } for b in value.calibration_histogram_buckets.buckets]
            if value.HasField("confusion_matrix_at_thresholds"):
                entry["confusion"] = [{
                    "threshold": m.threshold, "tp": m.true_positives,
                    "fp": m.false_positives, "tn": m.true_negatives,
                    "fn": m.false_negatives, "precision": _finite(m.precision),
                    "recall": _finite(m.recall),
                    "false_positive_rate": _finite(m.false_positive_rate),
                } for m in value.confusion_matrix_at_thresholds.matrices]
            # One matrix per threshold; the config asks for TFMA's default, threshold 0 (every
            # example counted at its top class).
            matrices = value.multi_class_confusion_matrix_at_thresholds.matrices
            if matrices:
                entry["multiclass_confusion"] = [{
                    "actual": e.actual_class_id, "predicted": e.predicted_class_id,
                    "examples": e.num_weighted_examples} for e in matrices[0].entries]
    return out


def thresholds(uri: str) -> List[dict]:
    """The thresholds the evaluation was configured with (eval_config.json, as TFMA wrote it):
    metric, slices it applies to ("overall" or feature keys), bounds and change limits."""
    document = read_json(uri, EVAL_CONFIG_FILE)
    if document is None:
        return []
    try:
        return _thresholds(document.get("evalConfig", {}))
    except (AttributeError, TypeError, KeyError) as e:  # JSON, but not shaped as TFMA writes it
        raise CorruptRecord(os.path.join(uri, EVAL_CONFIG_FILE),
                            f"not a TFMA eval config: {type(e).__name__}: {e}") from e


def _thresholds(config: dict) -> List[dict]:
    out = []
    for spec in config.get("metricsSpecs", []):
        for metric in spec.get("metrics", []):
            name = metric_name(metric)
            found = [(["all slices"], metric["threshold"])] if "threshold" in metric else []
            for per_slice in metric.get("perSliceThresholds", []):
                slices = [_slicing_spec_text(s) for s in per_slice.get("slicingSpecs", [])]
                found.append((slices, per_slice.get("threshold", {})))
            for slices, threshold in found:
                value = threshold.get("valueThreshold", {})
                change = threshold.get("changeThreshold", {})
                out.append({
                    "metric": name, "slices": slices,
                    "lower_bound": value.get("lowerBound"),
                    "upper_bound": value.get("upperBound"),
                    "change_absolute": change.get("absolute"),
                    "change_relative": change.get("relative"),
                    "direction": change.get("direction"),
                })
    return out


def headline(uri: str) -> Optional[dict]:
    """The metric the evaluation was gated on, from its recorded config: the one with a value
    threshold on the overall slice. {"metric", "title", "higher_is_better", "threshold",
    "problem_type"}; None without such a threshold (or without the config file)."""
    return headline_of(thresholds(uri))


def headline_of(configured: List[dict]) -> Optional[dict]:
    """The headline among thresholds as `thresholds` reads them (see `headline`)."""
    known = {h.metric: (problem_type, h.title) for problem_type, h in HEADLINE.items()}
    for t in configured:
        if t["slices"] != ["overall"] or (t["lower_bound"] is None and t["upper_bound"] is None):
            continue
        higher = t["lower_bound"] is not None
        problem_type, title = known.get(t["metric"], (None, t["metric"]))
        return {"metric": t["metric"], "title": title, "higher_is_better": higher,
                "threshold": t["lower_bound"] if higher else t["upper_bound"],
                "problem_type": problem_type}
    return None


def slice_columns(uri: str) -> List[str]:
    """The columns the evaluation was sliced by, in the config's order (crossed columns as
    "a x b", as `slice_of` names them); slices of one value only (a gated slice outside the
    report) are left out."""
    document = read_json(uri, EVAL_CONFIG_FILE)
    if document is None:
        return []
    try:
        specs = document.get("evalConfig", {}).get("slicingSpecs", [])
        return [" x ".join(s["featureKeys"]) for s in specs
                if s.get("featureKeys") and not s.get("featureValues")]
    except (AttributeError, TypeError, KeyError) as e:
        raise CorruptRecord(os.path.join(uri, EVAL_CONFIG_FILE),
                            f"not a TFMA eval config: {type(e).__name__}: {e}") from e


def metric_name(metric: dict) -> str:
    """The metric key name TFMA gives a configured metric: its config's "name", else the class
    name in snake case (AUCPrecisionRecall -> auc_precision_recall)."""
    try:
        configured = json.loads(metric.get("config") or "{}").get("name")
    except (json.JSONDecodeError, AttributeError):
        configured = None
    if configured:
        return configured
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", metric.get("className", ""))
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _slicing_spec_text(spec: dict) -> str:
    keys = spec.get("featureKeys", [])
    values = spec.get("featureValues", {})
    if not keys and not values:
        return "overall"
    return ", ".join(keys + [f"{k}={v}" for k, v in sorted(values.items())])


def validation(uri: str) -> Optional[dict]:
    """The Evaluator's ValidationResult: ok, each failed threshold (slice, metric, model, value,
    TFMA's message), missing slices and missing thresholds. None when there is none.

    The MetricKey, MetricValue and SliceKey parts are parsed with TFMA's metrics proto; the rest
    is read from the wire format (the full ValidationResult proto module imports TFMA itself).
    """
    path = os.path.join(uri, VALIDATIONS_FILE)
    if not os.path.exists(path):
        return None
    pb2 = protos.metrics_for_slice_pb2()
    for offset, record in tfrecord.read_records(path):
        with reading(path, "a ValidationResult record", offset):
            return _validation_result(record, pb2)
    return None


def _validation_result(data: bytes, pb2) -> dict:
    # A field whose wire type is not the declared one is skipped, as protobuf's own parsers
    # skip it as an unknown field.
    V, L = wire.VARINT, wire.LENGTH_DELIMITED
    result = {"ok": False, "failures": [], "missing_slices": 0,
              "missing_thresholds": False, "rubber_stamp": False}
    for number, wire_type, value in wire.fields(data):
        field = (number, wire_type)
        if field == (_VR_OK, V):
            result["ok"] = bool(value)
        elif field == (_VR_MISSING_THRESHOLDS, V):
            result["missing_thresholds"] = bool(value)
        elif field == (_VR_RUBBER_STAMP, V):
            result["rubber_stamp"] = bool(value)
        elif field == (_VR_MISSING_SLICES, L):
            result["missing_slices"] += 1
        elif field == (_VR_PER_SLICE, L):
            result["failures"].extend(_slice_failures(pb2, value))
    return result


def _slice_failures(pb2, data: bytes) -> List[dict]:
    L = wire.LENGTH_DELIMITED
    slice_key, failures = OVERALL, []
    for number, wire_type, value in wire.fields(data):
        if wire_type != L:
            continue
        if number == _MVS_SLICE_KEY:
            slice_key = slice_of(protos.parse(pb2.SliceKey, value))
        elif number == _MVS_FAILURES:
            failure = {"metric": None, "model": None, "value": None, "message": ""}
            for f_number, f_wire_type, f_value in wire.fields(value):
                if f_wire_type != L:
                    continue
                if f_number == _FAILURE_KEY:
                    key = protos.parse(pb2.MetricKey, f_value)
                    failure["metric"], failure["model"] = key_name(key), key.model_name
                    failure["is_diff"] = key.is_diff
                elif f_number == _FAILURE_VALUE:
                    failure["value"] = _metric_value(protos.parse(pb2.MetricValue, f_value))
                elif f_number == _FAILURE_MESSAGE:
                    failure["message"] = f_value.decode("utf-8", "replace")
            failures.append(failure)
    for failure in failures:
        failure["slice"] = slice_key
    return failures
