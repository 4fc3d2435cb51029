"""Propose updates to the curated schema from a freshly inferred one.

Pure functions over ``tensorflow_metadata`` Schema protos, read with
``tabflow.artifacts.schema.load_schema``. Deliberately imports only
``tensorflow_metadata`` and ``google.protobuf`` (no TensorFlow, TFX or TFDV)
so that it is fast to import and to test.

The curated schema (``data/taxi/schema.pbtxt``) is the reviewed source of truth.
``propose_update`` starts from it and only:

* adds features that the inferred schema has and the curated one lacks
  (copied as inferred),
* reports features the curated schema has and the inferred one lacks
  (kept unchanged),
* adopts a changed feature type from the inferred schema (reported), adapting
  or dropping a value domain that no longer fits the new type (reported),
* widens closed string domains with values the inferred schema has seen
  (each new value reported),
* given the data's statistics, proposes value constraints (TFDV infers none)
  by the rule in schema/README.md: a range for every numeric feature that
  lacks one, ``disallow_nan``/``disallow_inf`` for float features whose data
  has neither, and a typical range (pipeline/span_values.py) for a new
  feature with a long tail.

Everything else in the curated schema (value ranges, presence, shapes,
value counts, environments) is kept as is. Text-format comments do not
survive a proto round trip, so a proposal is comment-free; a reviewer merges
it into the curated file by hand. Nothing here ever writes to the curated
schema file.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from tabflow.artifacts.schema import PathLike, load_schema
from pipeline.span_values import TYPICAL_DOMAIN

# The value-constraint rule (schema/README.md): the observed range widened by this many of its
# widths on each side (10x the maximum for a quantity starting at 0), never below 0 for a
# quantity that never was; a typical maximum of this many times the 90th percentile.
# A feature with fewer values than this gets no proposed range.
MIN_VALUES_FOR_RANGE = 100
RANGE_WIDENING = 9
TYPICAL_P90_FACTOR = 4


def schema_to_text(schema: schema_pb2.Schema) -> str:
    """Text-format rendering of a Schema (stable for identical protos)."""
    return text_format.MessageToString(schema)


def _type_name(value: int) -> str:
    return schema_pb2.FeatureType.Name(value)


def _first_by_name(features) -> Dict[str, schema_pb2.Feature]:
    out: Dict[str, schema_pb2.Feature] = {}
    for feature in features:
        out.setdefault(feature.name, feature)
    return out


def _string_domain(
    schema: schema_pb2.Schema, feature: schema_pb2.Feature
) -> Optional[schema_pb2.StringDomain]:
    """The (mutable) string domain a feature uses, or None if it has none."""
    which = feature.WhichOneof("domain_info")
    if which == "string_domain":
        return feature.string_domain
    if which == "domain":
        for domain in schema.string_domain:
            if domain.name == feature.domain:
                return domain
    return None


def _adapt_domain_to_type(
    feature: schema_pb2.Feature, new_type: int
) -> Optional[str]:
    """Make the feature's value domain fit ``new_type``.

    Returns a description of what was done, or None if nothing was needed.
    """
    which = feature.WhichOneof("domain_info")
    if which is None:
        return None
    if new_type == schema_pb2.FLOAT and which == "int_domain":
        old = schema_pb2.IntDomain()
        old.CopyFrom(feature.int_domain)
        feature.ClearField("int_domain")
        domain = feature.float_domain
        domain.SetInParent()
        if old.HasField("min"):
            domain.min = float(old.min)
        if old.HasField("max"):
            domain.max = float(old.max)
        return "int_domain converted to float_domain with the same range"
    if new_type == schema_pb2.INT and which == "float_domain":
        old_f = schema_pb2.FloatDomain()
        old_f.CopyFrom(feature.float_domain)
        feature.ClearField("float_domain")
        domain = feature.int_domain
        domain.SetInParent()
        if old_f.HasField("min") and math.isfinite(old_f.min):
            domain.min = math.ceil(old_f.min)
        if old_f.HasField("max") and math.isfinite(old_f.max):
            domain.max = math.floor(old_f.max)
        return "float_domain converted to int_domain (range rounded inwards)"
    compatible = {
        schema_pb2.INT: {"int_domain", "bool_domain"},
        schema_pb2.FLOAT: {"float_domain"},
        schema_pb2.BYTES: {"domain", "string_domain", "bool_domain"},
    }.get(new_type, set())
    if which in compatible:
        return None
    feature.ClearField(which)
    return f"{which} dropped (does not fit the new type); review its range"


def _unique_domain_name(schema: schema_pb2.Schema, wanted: str) -> str:
    taken = {d.name for d in schema.string_domain}
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}_{n}" in taken:
        n += 1
    return f"{wanted}_{n}"


def _round_outward(value: float, up: bool) -> float:
    """value rounded away from the observed data to two significant digits."""
    if value == 0 or not math.isfinite(value):
        return value
    step = 10.0 ** (math.floor(math.log10(abs(value))) - 1)
    return (math.ceil if up else math.floor)(value / step) * step


def _p90(stats: statistics_pb2.NumericStatistics) -> Optional[float]:
    for histogram in stats.histograms:
        if histogram.type != statistics_pb2.Histogram.QUANTILES:
            continue
        total = sum(b.sample_count for b in histogram.buckets)
        seen = 0.0
        for bucket in histogram.buckets:
            seen += bucket.sample_count
            if total and seen >= 0.9 * total - 1e-9:
                return bucket.high_value
    return None


def _has_nan(stats: statistics_pb2.NumericStatistics) -> bool:
    return any(h.num_nan for h in stats.histograms)


def numeric_statistics(
    statistics: statistics_pb2.DatasetFeatureStatistics,
) -> Dict[str, statistics_pb2.NumericStatistics]:
    """{feature name: numeric statistics} of one dataset's statistics."""
    return {(f.path.step[-1] if f.path.step else f.name): f.num_stats
            for f in statistics.features if f.HasField("num_stats")}


def _value_constraints(
    feature: schema_pb2.Feature, stats: statistics_pb2.NumericStatistics, typical: bool
) -> List[str]:
    """Add what the rule gives and ``feature`` lacks; returns what was added."""
    if feature.type not in (schema_pb2.INT, schema_pb2.FLOAT) or not (
            math.isfinite(stats.min) and math.isfinite(stats.max)):
        return []
    if stats.common_stats.num_non_missing < MIN_VALUES_FOR_RANGE:
        # Too few values to say what is typical, and a split holding none of them gets an INT
        # column's min as 0 in the statistics, which a range would report (schema/README.md).
        return []
    expected = "int_domain" if feature.type == schema_pb2.INT else "float_domain"
    if feature.WhichOneof("domain_info") not in (None, expected):
        return []
    domain = getattr(feature, expected)
    domain.SetInParent()
    width = stats.max - stats.min
    low = 0.0 if stats.min >= 0 else _round_outward(stats.min - RANGE_WIDENING * width, False)
    high = _round_outward(stats.max + RANGE_WIDENING * width, True)
    cast = int if feature.type == schema_pb2.INT else float
    added = []
    if not domain.HasField("min"):
        domain.min = cast(low)
        added.append(f"min {cast(low)}")
    if not domain.HasField("max"):
        domain.max = cast(high)
        added.append(f"max {cast(high)}")
    if feature.type == schema_pb2.FLOAT and not _has_nan(stats):
        for flag in ("disallow_nan", "disallow_inf"):
            if not getattr(domain, flag):
                setattr(domain, flag, True)
                added.append(flag)
    p90 = _p90(stats)
    if typical and stats.min >= 0 and p90 and stats.max > TYPICAL_P90_FACTOR * p90:
        bound = schema_pb2.FloatDomain(name=TYPICAL_DOMAIN,
                                       max=_round_outward(TYPICAL_P90_FACTOR * p90, True))
        feature.annotation.extra_metadata.add().Pack(bound)
        added.append(f"typical max {bound.max:g}")
    return added


def propose_update(
    curated: schema_pb2.Schema, inferred: schema_pb2.Schema,
    statistics: Optional[statistics_pb2.DatasetFeatureStatistics] = None,
) -> Tuple[schema_pb2.Schema, List[str]]:
    """Merge what ``inferred`` (and the ``statistics`` it was inferred from, when given)
    has learnt into a copy of ``curated``.

    Returns the proposed schema and human-readable change descriptions, in a
    deterministic order: first per curated feature (in curated order), then
    new features (in inferred order). Neither input is modified. An empty
    list means the proposal is identical to the curated schema.
    """
    numeric = numeric_statistics(statistics) if statistics is not None else {}
    proposed = schema_pb2.Schema()
    proposed.CopyFrom(curated)
    changes: List[str] = []

    curated_names = [f.name for f in proposed.feature]
    proposed_by_name = _first_by_name(proposed.feature)
    inferred_by_name = _first_by_name(inferred.feature)

    for name in dict.fromkeys(curated_names):
        feature = proposed_by_name[name]
        seen = inferred_by_name.get(name)
        if seen is None:
            changes.append(
                f"feature '{name}': in the curated schema but absent from the "
                "inferred one (kept; check whether the column was dropped upstream)"
            )
            continue

        if seen.type != feature.type:
            old_type = feature.type
            feature.type = seen.type
            changes.append(
                f"feature '{name}': type changed from {_type_name(old_type)} "
                f"to {_type_name(seen.type)} (adopted inferred type)"
            )
            adapted = _adapt_domain_to_type(feature, seen.type)
            if adapted:
                changes.append(f"feature '{name}': {adapted}")
            continue

        if name in numeric:
            added = _value_constraints(feature, numeric[name], typical=False)
            if added:
                changes.append(f"feature '{name}': value constraints from the statistics: "
                               f"{', '.join(added)}")
        if feature.type != schema_pb2.BYTES:
            continue
        closed = _string_domain(proposed, feature)
        observed = _string_domain(inferred, seen)
        if closed is None or observed is None:
            # Open curated domain stays open; no inferred domain means there
            # is nothing to learn from.
            continue
        known = set(closed.value)
        label = (
            f"string domain '{closed.name}'"
            if feature.WhichOneof("domain_info") == "domain"
            else "its string domain"
        )
        for value in sorted(set(observed.value) - known):
            closed.value.append(value)
            changes.append(
                f"feature '{name}': new value '{value}' added to {label}"
            )

    for seen in inferred.feature:
        if seen.name in proposed_by_name:
            continue
        feature = proposed.feature.add()
        feature.CopyFrom(seen)
        proposed_by_name[seen.name] = feature
        detail = ""
        observed = _string_domain(inferred, seen)
        if seen.WhichOneof("domain_info") == "domain" and observed is not None:
            # Copy the referenced top-level domain, renamed if the curated
            # schema already uses that domain name for something else.
            domain_name = _unique_domain_name(proposed, observed.name)
            new_domain = proposed.string_domain.add()
            new_domain.CopyFrom(observed)
            new_domain.name = domain_name
            feature.domain = domain_name
        if observed is not None:
            detail = f", closed string domain with {len(observed.value)} values"
        if seen.name in numeric:
            added = _value_constraints(feature, numeric[seen.name], typical=True)
            detail += f", value constraints {', '.join(added)}" if added else ""
        changes.append(
            f"feature '{seen.name}': new in the inferred schema, added as "
            f"inferred ({_type_name(seen.type)}{detail}); review its "
            "presence and domain"
        )

    return proposed, changes


def unified_diff(old_text: str, new_text: str, old_name: str, new_name: str) -> str:
    """Unified diff of two texts; empty string when they are identical.

    To review a proposal without noise from comments, diff
    ``schema_to_text(curated)`` against ``schema_to_text(proposed)``.
    """

    def lines(text: str) -> List[str]:
        out = text.splitlines(keepends=True)
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        return out

    return "".join(
        difflib.unified_diff(
            lines(old_text), lines(new_text), fromfile=old_name, tofile=new_name
        )
    )


def write_proposal(
    curated_path: PathLike, inferred_path: PathLike, out_path: PathLike,
    statistics_path: Optional[PathLike] = None,
) -> List[str]:
    """Write the proposed schema for ``curated_path`` + ``inferred_path`` (+ the statistics
    file, a StatisticsGen FeatureStats.pb, for value constraints).

    The proposal goes to ``out_path`` only; a ValueError is raised if
    ``out_path`` is (or resolves to) the curated schema file, which is never
    overwritten. Returns the change descriptions from ``propose_update``.
    """
    curated_path = Path(curated_path)
    out_path = Path(out_path)
    if out_path.resolve() == curated_path.resolve() or (
        out_path.exists() and curated_path.exists() and out_path.samefile(curated_path)
    ):
        raise ValueError(
            f"refusing to write the proposal over the curated schema {curated_path}; "
            "choose another output path and merge the proposal by review"
        )
    curated = load_schema(curated_path)
    inferred = load_schema(inferred_path)
    statistics = None
    if statistics_path is not None:
        statistics = statistics_pb2.DatasetFeatureStatisticsList.FromString(
            Path(statistics_path).read_bytes()).datasets[0]
    proposed, changes = propose_update(curated, inferred, statistics)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(schema_to_text(proposed), encoding="utf-8")
    return changes
