"""The data gate's checks on a span's values that a TFDV schema cannot state, run by the
AnomalyGate on the span's examples (all splits together: a split of a few hundred rows is too
noisy to judge a share on).

- Outlier share: a feature may carry a *typical* range in the schema, as a FloatDomain named
  "typical" in its annotation's extra_metadata (schema/README.md). The hard float/int domain
  stops impossible values one by one; this stops a span where too many values are merely
  unusual (a tenth of the fares entered in cents, say), which a hard bound wide enough for
  legitimate outliers lets through.
- Labels: a span whose label is missing, one class or nearly (classification), or constant
  (regression) stops. A label a dataset derives from raw columns (the taxi's) is derived with
  the dataset's own hook, the function its transform uses.
- Size: a span with fewer examples than the spec's min_examples stops.

Pure numpy over {column: array}, numbers as floats (NaN where missing) and text as objects
(None where missing); reading the examples is the gate's (pipeline/components.py).
"""
from typing import Dict, List, Mapping, Sequence

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
        # Text where numbers were expected is the schema check's to report.
        if name not in columns or columns[name].dtype == object:
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


def _class_name(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def label_problems(labels: np.ndarray, label: str, problem_type: str, classes: Sequence[str],
                   min_share: float) -> List[str]:
    """Problems with a span's labels: missing labels; for classification a class below
    min_share of the examples (naming every class's share), a value that is no class of the
    spec; for regression a label that never varies.

    `labels` holds numbers (NaN: missing) or text (None: missing)."""
    labels = np.asarray(labels, dtype=object)
    if not labels.size:
        return []
    missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in labels])
    problems = []
    if missing.any():
        problems.append(f"label '{label}': {int(missing.sum())} of {labels.size} examples have "
                        f"no label value")
    present = labels[~missing]
    if not present.size:
        return problems
    if problem_type == "regression":
        values = present.astype(float)
        if np.all(values == values[0]):
            problems.append(f"label '{label}': every example has the value {values[0]:g}; a "
                            f"model would learn a constant")
        return problems
    names = [_class_name(v) for v in present]
    expected = list(classes) if classes else ["0", "1"]
    if problem_type == "binary" and not classes:
        # A label a hook derives (or 0/1 numbers): truth values count as classes 1 and 0.
        names = ["1" if v not in ("0", "0.0", "False", "false") else "0" for v in names]
    unknown = sorted(set(names) - set(expected))
    if unknown:
        problems.append(f"label '{label}': values {unknown[:5]} are no class of the spec "
                        f"(classes: {expected})")
    counts = {cls: names.count(cls) for cls in expected}
    total = len(names)
    if min(counts.values()) / total < min_share:
        shares = ", ".join(f"{cls}: {n / total:.1%} ({n} of {total})"
                           for cls, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        problems.append(f"label '{label}': class shares {shares}; the rarest class is below "
                        f"min_label_share {min_share:.1%}, so a model would learn (and be "
                        f"judged on) almost without it")
    return problems


def size_problems(count: int, min_examples: int) -> List[str]:
    """One line when the span holds fewer examples than the spec's min_examples."""
    if count >= min_examples:
        return []
    return [f"the span has {count} examples, fewer than min_examples {min_examples} in the "
            f"dataset's spec: too few to train and judge a model on"]
