"""A dataset's spec: what a folder of spans asks the pipeline to learn, and how to judge it.

A dataset is a folder (data/<name>/ for the shipped ones) holding `dataset.yaml`, its curated
schema (`schema.pbtxt`), its spans (`spans/span-<N>/*.csv`) and, only when the data needs code,
a hooks module. Everything the core knows about one dataset (label, problem type, slices,
thresholds, splits, minimum size) comes from here; nothing else names a column of one dataset.

Reads YAML only (no TensorFlow): the console, the runners and the readers load it cheaply.
"""
import dataclasses
import math
import os
from typing import Any, Dict, Mapping, Optional, Tuple

SPEC_FILE = "dataset.yaml"
SCHEMA_FILE = "schema.pbtxt"
SPANS_FOLDER = "spans"

BINARY, MULTICLASS, REGRESSION = "binary", "multiclass", "regression"
PROBLEM_TYPES = (BINARY, MULTICLASS, REGRESSION)


@dataclasses.dataclass(frozen=True)
class Headline:
    """The metric a problem type is gated on: its TFMA key, direction and a label for people."""
    metric: str
    higher_is_better: bool
    title: str


HEADLINE = {
    BINARY: Headline("auc", True, "AUC"),
    MULTICLASS: Headline("accuracy", True, "accuracy"),
    REGRESSION: Headline("root_mean_squared_error", False, "RMSE"),
}

# Default gates where the spec sets none. Regression has no default: an RMSE bound is in the
# label's units, so `init` writes one measured on the data (the RMSE of predicting the mean).
DEFAULT_THRESHOLD = {BINARY: 0.6, MULTICLASS: 0.5}
DEFAULT_MAX_REGRESSION = {BINARY: 0.01, MULTICLASS: 0.02}
DEFAULT_SPLITS = {"train": 3, "eval": 1, "test": 1}
DEFAULT_MIN_EXAMPLES = 100
DEFAULT_MIN_LABEL_SHARE = 0.05
DEFAULT_MAX_OUTLIER_SHARE = 0.01

_TOP_KEYS = {"name", "label", "problem_type", "classes", "features", "splits", "min_examples",
             "slices", "thresholds", "data_gate", "hooks", "description"}
_SECTION_KEYS = {
    "features": {"exclude", "bucketize", "label_sources"},
    "slices": {"report", "gate"},
    "thresholds": {"threshold", "max_regression"},
    "data_gate": {"min_label_share", "max_outlier_share"},
}


@dataclasses.dataclass(frozen=True)
class GatedSlice:
    """A slice whose headline metric may lose at most max_regression against the baseline."""
    column: str
    value: str
    max_regression: float


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    name: str
    folder: str
    label: str
    problem_type: str
    classes: Tuple[str, ...] = ()
    exclude: Tuple[str, ...] = ()
    bucketize: Mapping[str, int] = dataclasses.field(default_factory=dict)
    label_sources: Tuple[str, ...] = ()
    splits: Mapping[str, int] = dataclasses.field(default_factory=lambda: dict(DEFAULT_SPLITS))
    min_examples: int = DEFAULT_MIN_EXAMPLES
    report_slices: Tuple[str, ...] = ()
    gated_slices: Tuple[GatedSlice, ...] = ()
    threshold: float = 0.0
    max_regression: float = 0.0
    min_label_share: float = DEFAULT_MIN_LABEL_SHARE
    max_outlier_share: float = DEFAULT_MAX_OUTLIER_SHARE
    hooks: Optional[str] = None
    description: str = ""

    @property
    def spec_path(self) -> str:
        return os.path.join(self.folder, SPEC_FILE)

    @property
    def data_root(self) -> str:
        return os.path.join(self.folder, SPANS_FOLDER)

    @property
    def schema_path(self) -> str:
        return os.path.join(self.folder, SCHEMA_FILE)

    @property
    def headline(self) -> Headline:
        return HEADLINE[self.problem_type]

    @property
    def is_classification(self) -> bool:
        return self.problem_type in (BINARY, MULTICLASS)

    def with_gates(self, threshold: Optional[float] = None,
                   max_regression: Optional[float] = None,
                   max_slice_regression: Optional[float] = None,
                   min_label_share: Optional[float] = None,
                   max_outlier_share: Optional[float] = None) -> "DatasetSpec":
        """This spec with the gate settings a run's configuration overrides (None keeps the
        spec's)."""
        changes: Dict[str, Any] = {}
        for name, value in (("threshold", threshold), ("max_regression", max_regression),
                            ("min_label_share", min_label_share),
                            ("max_outlier_share", max_outlier_share)):
            if value is not None:
                changes[name] = float(value)
        if max_slice_regression is not None:
            changes["gated_slices"] = tuple(dataclasses.replace(s, max_regression=float(
                max_slice_regression)) for s in self.gated_slices)
        return dataclasses.replace(self, **changes)


class SpecError(ValueError):
    """A dataset spec that cannot be used; the message is one line naming file and key."""


def _fail(path: str, key: str, message: str) -> None:
    raise SpecError(f"{path}: {key}: {message}")


def _number(path, key, value, low=None, high=None, integer=False):
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or (not integer and not math.isfinite(value)):
        _fail(path, key, f"must be {'an integer' if integer else 'a number'}, got {value!r}")
    if low is not None and value < low:
        _fail(path, key, f"must be >= {low}, got {value}")
    if high is not None and value > high:
        _fail(path, key, f"must be <= {high}, got {value}")
    return value


def _names(path, key, value) -> Tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        _fail(path, key, f"must be a list of column names, got {value!r}")
    if len(set(value)) != len(value):
        _fail(path, key, f"names a column twice: {value!r}")
    return tuple(value)


def _section(path, raw, name) -> dict:
    section = raw.get(name) or {}
    if not isinstance(section, dict):
        _fail(path, name, f"must be a mapping, got {section!r}")
    unknown = sorted(set(section) - _SECTION_KEYS[name])
    if unknown:
        _fail(path, f"{name}.{unknown[0]}",
              f"unknown key; known: {', '.join(sorted(_SECTION_KEYS[name]))}")
    return section


def parse(raw: Any, folder: str, path: str) -> DatasetSpec:
    """The spec in `raw` (the YAML document) for the dataset in `folder`; SpecError names the
    key at fault."""
    if not isinstance(raw, dict):
        _fail(path, "(top)", "must be a mapping of keys to values")
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        _fail(path, unknown[0], f"unknown key; known: {', '.join(sorted(_TOP_KEYS))}")
    for key in ("label", "problem_type"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            _fail(path, key, "is required (a non-empty string)")
    problem_type = raw["problem_type"]
    if problem_type not in PROBLEM_TYPES:
        _fail(path, "problem_type", f"must be one of {', '.join(PROBLEM_TYPES)}, "
                                    f"got {problem_type!r}")
    name = raw.get("name") or os.path.basename(os.path.normpath(folder))
    if not isinstance(name, str) or not name.replace("-", "_").isidentifier():
        _fail(path, "name", f"must be letters, digits, '_' or '-', got {name!r}")

    classes = raw.get("classes") or []
    if not isinstance(classes, list) or any(isinstance(c, (dict, list)) for c in classes):
        _fail(path, "classes", f"must be a list of label values, got {classes!r}")
    classes = tuple(str(c) for c in classes)
    if len(set(classes)) != len(classes):
        _fail(path, "classes", f"names a class twice: {list(classes)}")
    if problem_type == MULTICLASS and len(classes) < 3:
        _fail(path, "classes", "a multiclass label needs every class listed (3 or more); "
                               "two classes are problem_type: binary")
    if problem_type == BINARY and len(classes) not in (0, 2):
        _fail(path, "classes", f"a binary label has 2 classes [negative, positive], "
                               f"got {list(classes)}")
    if problem_type == REGRESSION and classes:
        _fail(path, "classes", "a regression label has no classes")

    features = _section(path, raw, "features")
    exclude = _names(path, "features.exclude", features.get("exclude"))
    label_sources = _names(path, "features.label_sources", features.get("label_sources"))
    bucketize = features.get("bucketize") or {}
    if not isinstance(bucketize, dict):
        _fail(path, "features.bucketize", f"must map column to bucket count, got {bucketize!r}")
    for column, count in bucketize.items():
        _number(path, f"features.bucketize.{column}", count, low=2, integer=True)

    splits = raw.get("splits") or dict(DEFAULT_SPLITS)
    if not isinstance(splits, dict) or set(splits) != set(DEFAULT_SPLITS):
        _fail(path, "splits", f"must give hash buckets for train, eval and test, got {splits!r}")
    for split, buckets in splits.items():
        _number(path, f"splits.{split}", buckets, low=1, integer=True)

    slices = _section(path, raw, "slices")
    report = _names(path, "slices.report", slices.get("report"))
    gate_entries = slices.get("gate") or []
    if not isinstance(gate_entries, list):
        _fail(path, "slices.gate", "must be a list of {column, value, max_regression}")
    thresholds = _section(path, raw, "thresholds")
    threshold = thresholds.get("threshold", DEFAULT_THRESHOLD.get(problem_type))
    max_regression = thresholds.get("max_regression", DEFAULT_MAX_REGRESSION.get(problem_type))
    if threshold is None or max_regression is None:
        _fail(path, "thresholds", "a regression dataset must set threshold (the largest RMSE "
                                  "to bless, in the label's units) and max_regression")
    high = 1.0 if problem_type != REGRESSION else None
    _number(path, "thresholds.threshold", threshold, low=0.0, high=high)
    _number(path, "thresholds.max_regression", max_regression, low=0.0, high=high)
    gated = []
    for i, entry in enumerate(gate_entries):
        key = f"slices.gate[{i}]"
        if not isinstance(entry, dict) or set(entry) - {"column", "value", "max_regression"} \
                or "column" not in entry or "value" not in entry:
            _fail(path, key, f"must be {{column, value, max_regression}}, got {entry!r}")
        slice_regression = entry.get("max_regression", max_regression)
        _number(path, f"{key}.max_regression", slice_regression, low=0.0, high=high)
        gated.append(GatedSlice(str(entry["column"]), str(entry["value"]),
                                float(slice_regression)))

    data_gate = _section(path, raw, "data_gate")
    min_label_share = data_gate.get("min_label_share", DEFAULT_MIN_LABEL_SHARE)
    _number(path, "data_gate.min_label_share", min_label_share, low=0.0, high=0.5)
    max_outlier_share = data_gate.get("max_outlier_share", DEFAULT_MAX_OUTLIER_SHARE)
    _number(path, "data_gate.max_outlier_share", max_outlier_share, low=0.0, high=1.0)
    min_examples = raw.get("min_examples", DEFAULT_MIN_EXAMPLES)
    _number(path, "min_examples", min_examples, low=1, integer=True)

    label = raw["label"]
    for key, columns in (("features.exclude", exclude), ("features.label_sources", label_sources),
                         ("features.bucketize", tuple(bucketize)), ("slices.report", report)):
        if label in columns:
            _fail(path, key, f"names the label {label!r}, which is never a model input")

    hooks = raw.get("hooks")
    if hooks is not None:
        if not isinstance(hooks, str) or not hooks.endswith(".py"):
            _fail(path, "hooks", f"must be a .py file in the dataset folder, got {hooks!r}")
        hooks = os.path.join(folder, hooks)
        if not os.path.isfile(hooks):
            _fail(path, "hooks", f"no such file: {hooks}")
    description = raw.get("description") or ""
    return DatasetSpec(
        name=name, folder=folder, label=label, problem_type=problem_type, classes=classes,
        exclude=exclude, bucketize={str(k): int(v) for k, v in bucketize.items()},
        label_sources=label_sources, splits={k: int(splits[k]) for k in DEFAULT_SPLITS},
        min_examples=int(min_examples), report_slices=report, gated_slices=tuple(gated),
        threshold=float(threshold), max_regression=float(max_regression),
        min_label_share=float(min_label_share), max_outlier_share=float(max_outlier_share),
        hooks=hooks, description=str(description))


def load(folder: str) -> DatasetSpec:
    """The spec of the dataset in `folder`. A missing folder or file, YAML that does not parse
    and a bad key are each a SpecError of one line."""
    import yaml  # PyYAML, pinned by TFX; imported here so the ground floor stays light

    folder = os.path.abspath(os.path.expanduser(folder))
    path = os.path.join(folder, SPEC_FILE)
    if not os.path.isdir(folder):
        raise SpecError(f"dataset: no such folder: {folder}")
    if not os.path.isfile(path):
        raise SpecError(f"{path}: missing: a dataset folder holds its spec in {SPEC_FILE}")
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SpecError(f"{path}{where}: not valid YAML: {problem}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"{path}: cannot be read: {e}") from None
    return parse(raw, folder, path)
