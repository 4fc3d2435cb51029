"""The data gate's checks on a span's values that a TFDV schema cannot state, run by the
AnomalyGate on the span's examples (all splits together: a split of a few hundred rows is too
noisy to judge a share on).

- Outlier share: a feature may carry a *typical* range in the schema, as a FloatDomain named
  "typical" in its annotation's extra_metadata (schema/README.md). The hard float/int domain
  stops impossible values one by one; this stops a span where too many values are merely
  unusual (a tenth of the fares entered in cents, say), which a hard bound wide enough for
  legitimate outliers lets through.
- Label balance: the training code derives the label from raw columns, so TFDV never sees it;
  the gate derives it with the same function (a dotted path) and stops a span whose label is
  one class, or nearly.

Pure numpy over {column: float array, NaN where a value is missing}; reading the examples is
the gate's (pipeline/components.py).
"""
import importlib
from typing import Callable, Dict, List, Mapping

import numpy as np
from tensorflow_metadata.proto.v0 import schema_pb2

TYPICAL_DOMAIN = "typical"


def typical_ranges(schema: schema_pb2.Schema) -> Dict[str, schema_pb2.FloatDomain]:
    """{feature: its typical range} for every feature whose annotation carries one."""
    ranges = {}
    for feature in schema.feature:
        for extra in feature.annotation.extra_metadata:
            domain = schema_pb2.FloatDomain()
            if extra.Is(domain.DESCRIPTOR) and extra.Unpack(domain) \
                    and domain.name == TYPICAL_DOMAIN:
                ranges[feature.name] = domain
    return ranges


def _bounds(domain: schema_pb2.FloatDomain) -> str:
    low = f"{domain.min:g}" if domain.HasField("min") else "-inf"
    high = f"{domain.max:g}" if domain.HasField("max") else "inf"
    return f"{low}..{high}"


def outlier_problems(columns: Mapping[str, np.ndarray],
                     ranges: Mapping[str, schema_pb2.FloatDomain],
                     max_share: float) -> List[str]:
    """One line per feature whose share of present values outside its typical range exceeds
    max_share (a feature absent from `columns` is the schema check's to report)."""
    problems = []
    for name, domain in sorted(ranges.items()):
        if name not in columns:
            continue
        values = columns[name][~np.isnan(columns[name])]
        if not values.size:
            continue
        outside = np.zeros(values.shape, bool)
        if domain.HasField("min"):
            outside |= values < domain.min
        if domain.HasField("max"):
            outside |= values > domain.max
        share = outside.mean()
        if share > max_share:
            problems.append(
                f"feature '{name}': {share:.1%} of its values ({outside.sum()} of {values.size}) "
                f"lie outside its typical range {_bounds(domain)}, more than max_outlier_share "
                f"{max_share:.1%} (a share of values scaled or in the wrong unit?)")
    return problems


def load_label_fn(dotted: str) -> Callable[[Mapping[str, np.ndarray]], np.ndarray]:
    """The function `package.module.name` that derives the label from raw columns."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def label_problems(labels: np.ndarray, label: str, min_share: float) -> List[str]:
    """One line when the binary label's rarer class holds less than min_share of the
    examples, naming both classes' shares."""
    labels = np.asarray(labels).astype(bool)
    if not labels.size:
        return []
    positives = int(labels.sum())
    counts = {1: positives, 0: labels.size - positives}
    if min(counts.values()) / labels.size >= min_share:
        return []
    shares = ", ".join(f"{cls}: {n / labels.size:.1%} ({n} of {labels.size})"
                       for cls, n in counts.items())
    return [f"label '{label}': class shares {shares}; the rarer class is below "
            f"min_label_share {min_share:.1%}, so a model would learn (and be judged on) "
            f"almost one class"]
