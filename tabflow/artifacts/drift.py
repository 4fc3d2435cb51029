"""Drift between two statistics of the same features, measured as TFDV's skew/drift
comparators do, in pure Python (what `lineage diff` shows between any two runs):
- categorical and string features: L-infinity distance between the two normalized value-count
  distributions (top_values, else rank_histogram);
- numeric features: Jensen-Shannon divergence (log base 2, so in [0, 1]) between the two
  standard histograms, after re-bucketing both onto the union of their bucket boundaries
  (a bucket's count is spread uniformly over its width).

And the drift gate's own record (pipeline/drift_gate.py: the distances TFDV measured with the
curated schema's comparators, against the last span that passed): its rows, the lines its
failure message and the readers show, and the reader of its JSON file.
"""
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from tabflow.artifacts.files import read_json
from tabflow.artifacts.statistics import feature_name
from tabflow.contract import DRIFT_REPORT_FILE

# tensorflow_metadata DriftSkewInfo.Measurement.Type, as the gate's rows name them.
MEASURE_NAMES = {1: "L-infinity", 2: "Jensen-Shannon", 3: "normalized absolute difference"}


def _categorical_counts(feature) -> Optional[Dict[str, float]]:
    if not feature.HasField("string_stats"):
        return None
    string_stats = feature.string_stats
    counts: Dict[str, float] = {}
    if string_stats.top_values:
        pairs = [(v.value, v.frequency) for v in string_stats.top_values]
    else:
        pairs = [(b.label, b.sample_count) for b in string_stats.rank_histogram.buckets]
    for label, count in pairs:
        counts[label] = counts.get(label, 0.0) + count
    return counts


def _numeric_histogram(feature) -> Optional[List[Tuple[float, float, float]]]:
    if not feature.HasField("num_stats"):
        return None
    for histogram in feature.num_stats.histograms:
        if histogram.type == histogram.STANDARD:
            # A negative or infinite count (only a damaged file holds one) weighs nothing.
            return [(b.low_value, b.high_value, b.sample_count) for b in histogram.buckets
                    if 0 <= b.sample_count < math.inf]
    return None


def linf_distance(a: Dict[str, float], b: Dict[str, float]) -> float:
    """L-infinity distance between two value-count maps, each normalized to sum 1."""
    total_a, total_b = sum(a.values()), sum(b.values())
    if not total_a or not total_b:
        return 0.0 if total_a == total_b else 1.0
    return max(abs(a.get(k, 0.0) / total_a - b.get(k, 0.0) / total_b) for k in set(a) | set(b))


def _rebucket(buckets: List[Tuple[float, float, float]], edges: List[float]) -> List[float]:
    """Counts of `buckets` over the intervals between consecutive `edges`."""
    out = [0.0] * (len(edges) - 1)
    for low, high, count in buckets:
        if high <= low:  # a point mass: goes to the interval holding it
            for i in range(len(out)):
                if edges[i] <= low <= edges[i + 1]:
                    out[i] += count
                    break
            continue
        for i in range(len(out)):
            overlap = min(high, edges[i + 1]) - max(low, edges[i])
            if overlap > 0:
                out[i] += count * overlap / (high - low)
    return out


def js_divergence(a: List[Tuple[float, float, float]],
                  b: List[Tuple[float, float, float]]) -> float:
    """Jensen-Shannon divergence (base 2) between two histograms of (low, high, count)."""
    edges = sorted({v for low, high, _ in a + b for v in (low, high)
                    if not (math.isnan(v) or math.isinf(v))})
    if len(edges) < 2:
        return 0.0
    p, q = _rebucket(a, edges), _rebucket(b, edges)
    total_p, total_q = sum(p), sum(q)
    if not total_p or not total_q:
        return 0.0 if total_p == total_q else 1.0
    p = [x / total_p for x in p]
    q = [x / total_q for x in q]

    def kl(x, m):
        return sum(xi * math.log2(xi / mi) for xi, mi in zip(x, m) if xi > 0)

    mean = [(pi + qi) / 2 for pi, qi in zip(p, q)]
    return max(0.0, (kl(p, mean) + kl(q, mean)) / 2)


@dataclass
class FeatureDrift:
    feature: str
    measure: str  # "L-infinity" or "Jensen-Shannon"
    distance: float


def feature_drifts(old, new) -> List[FeatureDrift]:
    """Distances between two DatasetFeatureStatistics, largest first."""
    old_by_name = {feature_name(f): f for f in old.features}
    out = []
    for feature in new.features:
        name = feature_name(feature)
        before = old_by_name.get(name)
        if before is None:
            continue
        counts_new, counts_old = _categorical_counts(feature), _categorical_counts(before)
        if counts_new is not None and counts_old is not None:
            out.append(FeatureDrift(name, "L-infinity", linf_distance(counts_old, counts_new)))
            continue
        hist_new, hist_old = _numeric_histogram(feature), _numeric_histogram(before)
        if hist_new is not None and hist_old is not None:
            out.append(FeatureDrift(name, "Jensen-Shannon", js_divergence(hist_old, hist_new)))
    return sorted(out, key=lambda d: (-d.distance, d.feature))


def measurement_rows(split: str, drift_skew_info) -> List[dict]:
    """The gate's rows for one split from TFDV's Anomalies.drift_skew_info: {"feature",
    "split", "measure", "distance", "threshold", "passed"}, sorted by feature. A distance
    above its threshold fails, as TFDV decides."""
    rows = []
    for info in drift_skew_info:
        name = ".".join(info.path.step)
        for m in info.drift_measurements:
            rows.append({"feature": name, "split": split,
                         "measure": MEASURE_NAMES.get(m.type, f"measure {m.type}"),
                         "distance": float(m.value), "threshold": float(m.threshold),
                         "passed": not m.value > m.threshold})
    return sorted(rows, key=lambda r: (r["feature"], r["measure"]))


def drift_line(row: dict) -> str:
    """"feature 'distance' (train split): Jensen-Shannon 0.2571 > threshold 0.1500"."""
    sign = "<=" if row["passed"] else ">"
    return (f"feature '{row['feature']}' ({row['split']} split): {row['measure']} "
            f"{row['distance']:.4f} {sign} threshold {row['threshold']:.4f}")


def describe_drift(rows: List[dict]) -> List[str]:
    """One line per drifted feature and split, largest distance over threshold first."""
    drifted = [r for r in rows if not r["passed"]]
    drifted.sort(key=lambda r: (-(r["distance"] - r["threshold"]), r["feature"], r["split"]))
    return [drift_line(r) for r in drifted]


def read_drift_report(uri: str) -> Optional[dict]:
    """The drift gate's record in a local DriftReport artifact folder: {"passed", "span",
    "statistics_uri", "baseline": None or {"span", "statistics_id", "statistics_uri"},
    "features": [rows as measurement_rows makes them]}; None without the file."""
    return read_json(uri, DRIFT_REPORT_FILE)
