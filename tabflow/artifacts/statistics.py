"""StatisticsGen's output (one DatasetFeatureStatisticsList per split): statistics, row counts
and the per-feature summary a review shows."""
import os
from typing import Dict

from tensorflow_metadata.proto.v0 import statistics_pb2

from tabflow.artifacts import protos
from tabflow.artifacts.errors import reading
from tabflow.artifacts.files import split_dirs
from tabflow.contract import STATISTICS_FILE


def read_statistics(uri: str) -> Dict[str, statistics_pb2.DatasetFeatureStatistics]:
    """{split: DatasetFeatureStatistics} for an ExampleStatistics artifact."""
    out = {}
    for split, folder in split_dirs(uri).items():
        path = os.path.join(folder, STATISTICS_FILE)
        if os.path.exists(path):
            with open(path, "rb") as f:
                data = f.read()
            with reading(path, "a DatasetFeatureStatisticsList", 0):
                stats_list = protos.parse(statistics_pb2.DatasetFeatureStatisticsList, data)
            if stats_list.datasets:
                out[split] = stats_list.datasets[0]
    return out


def row_counts(uri: str) -> Dict[str, int]:
    """{split: number of examples} for an ExampleStatistics artifact."""
    return {split: int(ds.num_examples) for split, ds in read_statistics(uri).items()}


def feature_name(feature) -> str:
    """A FeatureNameStatistics' name: its path joined with dots, else its plain name."""
    return ".".join(feature.path.step) if feature.HasField("path") else feature.name


def _numeric_summary(feature) -> dict:
    num = feature.num_stats
    histogram = []
    for h in num.histograms:
        if h.type == h.STANDARD:
            histogram = [[b.low_value, b.high_value, b.sample_count] for b in h.buckets]
    median = None
    for h in num.histograms:
        if h.type == h.QUANTILES and h.buckets:
            median = h.buckets[len(h.buckets) // 2].low_value
    return {"kind": "numeric", "mean": num.mean, "std_dev": num.std_dev, "min": num.min,
            "median": median, "max": num.max, "zeros": num.num_zeros,
            "common": num.common_stats, "histogram": histogram}


def _string_summary(feature) -> dict:
    strings = feature.string_stats
    top = [[v.value, v.frequency] for v in strings.top_values[:5]]
    return {"kind": "categorical", "unique": strings.unique, "top": top,
            "common": strings.common_stats}


def _missing_fraction(common) -> float:
    """Share of examples without a value. An empty CSV cell becomes an empty list, which TFDV
    counts as present (num_non_missing), so single-valued features count values instead."""
    total = common.num_non_missing + common.num_missing
    if not total:
        return 0.0
    if common.max_num_values <= 1:
        return 1.0 - min(common.tot_num_values, common.num_non_missing) / total
    return common.num_missing / total


def _type_name(feature) -> str:
    """The feature's type name; the number for a type this tensorflow_metadata does not know
    (proto3 keeps unknown enum values)."""
    value = feature.DESCRIPTOR.fields_by_name["type"].enum_type.values_by_number.get(feature.type)
    return value.name if value is not None else str(feature.type)


def statistics_summary(uri: str) -> Dict[str, dict]:
    """{split: {"examples": n, "features": [...]}} from an ExampleStatistics artifact; a
    feature is {"name", "type", "kind": "numeric" or "categorical", "missing_fraction", ...}
    with mean, std_dev, min, median, max, zeros and histogram, or unique and top values."""
    out = {}
    for split, dataset in read_statistics(uri).items():
        features = []
        for feature in dataset.features:
            if feature.HasField("num_stats"):
                summary = _numeric_summary(feature)
            elif feature.HasField("string_stats"):
                summary = _string_summary(feature)
            else:
                continue
            common = summary.pop("common")
            summary.update(name=feature_name(feature), type=_type_name(feature),
                           missing_fraction=_missing_fraction(common))
            features.append(summary)
        out[split] = {"examples": int(dataset.num_examples),
                      "features": sorted(features, key=lambda f: f["name"])}
    return out
