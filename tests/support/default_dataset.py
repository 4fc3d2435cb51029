"""What the end-to-end tests need to know of the dataset they run (the config's default one),
read from its spec, curated schema and feature plan rather than named: a test that breaks,
scales or slices a column picks it here by its role."""
import csv
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
from tensorflow_metadata.proto.v0 import schema_pb2

from tabflow import dataset
from tabflow.config import PipelineConfig


@dataclass(frozen=True)
class DatasetFacts:
    name: str
    label: str
    # The first slice the spec reports, an integer category column: the tests write text into
    # a third of its cells to make a span the data gate must stop.
    slice_column: str
    report_slices: Tuple[str, ...]
    # The spec's first gated slice (column, value), if it gates one.
    gated_slice: Tuple[str, str]
    # A numeric model input with a drift comparator in the curated schema that can be scaled
    # DRIFT_SCALE-fold in the latest span and still fit the schema's range, without changing
    # any label: the tests scale it to make a span only the drift gate stops.
    drift_column: str
    # Columns with a drift comparator in the curated schema.
    drift_columns: Tuple[str, ...]
    # A float column and a string column of the schema, as OpenLineage's schema facet types
    # them.
    float_column: str
    string_column: str


DRIFT_SCALE = 5.0


def latest_span_files(data_root: str) -> List[Path]:
    """The CSV files of the newest span under data_root, as the pipeline lists span folders
    (canonical span-N names only)."""
    from pipeline.components import span_folders
    spans = {n: files for n, files in span_folders(data_root).items() if files}
    newest = max(spans)
    return [Path(data_root) / f"span-{newest}" / name for name in sorted(spans[newest])
            if name.endswith(".csv")]


def _latest_span_columns(spec) -> Dict[str, List[str]]:
    columns: Dict[str, List[str]] = {}
    for path in latest_span_files(spec.data_root):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                for key, value in row.items():
                    columns.setdefault(key, []).append(value)
    return columns


def _numbers(cells: List[str]) -> np.ndarray:
    return np.array([float(c) if c else np.nan for c in cells])


def _labels(spec, columns: Dict[str, np.ndarray]):
    if not spec.hooks:
        return None  # the label is a column of its own, which no other column changes
    from modules import hooks
    return np.asarray(hooks.load(spec.hooks).label_from_raw(columns)).tolist()


def _scalable(spec, features, candidates, cells) -> List[str]:
    numeric = {k: _numbers(v) for k, v in cells.items()
               if features.get(k) is not None and features[k].type != schema_pb2.BYTES}
    labels = _labels(spec, numeric)
    out = []
    for name in candidates:
        feature, values = features[name], numeric[name]
        domain = (feature.float_domain if feature.HasField("float_domain")
                  else feature.int_domain)
        high = np.nanmax(values) * DRIFT_SCALE
        if domain.HasField("max") and high > domain.max:
            continue
        if labels is not None and _labels(spec, {**numeric, name: values * DRIFT_SCALE}) != labels:
            continue
        out.append(name)
    return out


@functools.lru_cache(maxsize=None)
def facts() -> DatasetFacts:
    from pipeline.feature_plan import build_plan
    from tabflow.artifacts.schema import load_schema

    spec = dataset.load(PipelineConfig().data.dataset)
    schema = load_schema(spec.schema_path)
    plan = build_plan(spec, schema)
    features = {f.name: f for f in schema.feature}
    int_slices = [c for c in spec.report_slices if features[c].type == schema_pb2.INT]
    drifting = tuple(f.name for f in schema.feature
                     if f.HasField("drift_comparator") and f.name not in spec.label_sources)
    numeric = _scalable(spec, features, [c for c in plan["dense"] if c in drifting],
                        _latest_span_columns(spec))
    gated = spec.gated_slices[0] if spec.gated_slices else None
    return DatasetFacts(
        name=spec.name, label=spec.label, slice_column=int_slices[0],
        report_slices=tuple(spec.report_slices),
        gated_slice=(gated.column, str(gated.value)) if gated else ("", ""),
        drift_column=numeric[0], drift_columns=drifting,
        float_column=next(f.name for f in schema.feature if f.type == schema_pb2.FLOAT),
        string_column=next(f.name for f in schema.feature if f.type == schema_pb2.BYTES))
