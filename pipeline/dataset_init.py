"""Start a dataset folder from CSV files: what `tabflow init` decides without TensorFlow.

`tabflow init` (tabflow/console/init.py) copies a user's CSV data into a new dataset folder
(tabflow/dataset.py) and writes the spec the pipeline runs from. This module holds every
decision it makes on the data itself, pure Python over the CSV text:

- where the data is (one file, a folder of CSV files, or a folder of span-<N> folders);
- which column names need rewriting: a name becomes a feature (`<name>_xf`), a Keras input
  and a TF op name, so anything but letters, digits and '_' (or a leading digit) is rewritten
  to lowercase snake_case, and two names that differ only in case are told apart by a number,
  as CsvCheck rejects them;
- each column's type, by tfx_bsl's rule (the one CsvExampleGen and TFDV apply): INT when every
  value is an int64, else FLOAT when every value parses as a float, else a string;
- the problem type and classes from the label's values, the thresholds measured on them, the
  slices to report, and dataset.yaml and README.md as text.
"""
import csv
import dataclasses
import fnmatch
import math
import os
import re
import textwrap
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from pipeline import csv_check
from tabflow import dataset

INT, FLOAT, STRING = "int", "float", "string"
_KIND_ORDER = {INT: 0, FLOAT: 1, STRING: 2}
_INT64 = (-2 ** 63, 2 ** 63 - 1)

SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# An integer label with at most this many distinct values is a class id, not a quantity.
MAX_INT_CLASSES = 20
# More classes than this is no class list to write into a spec (nor a model to learn them from
# a CSV's worth of rows).
MAX_CLASSES = 50
# Report slices: columns whose values name a handful of groups, each reported on its own.
SLICE_VALUES = (2, 12)
MAX_REPORT_SLICES = 2
# The multiclass threshold asks a model to beat always answering the majority class by this.
MULTICLASS_MARGIN = 0.05
MAX_MULTICLASS_THRESHOLD = 0.95
# A regression candidate may lose this share of the mean-predictor's RMSE against the baseline.
REGRESSION_MAX_REGRESSION_SHARE = 0.05
# Distinct values tracked per column: past this, a column is neither a class list nor a slice.
_TRACKED_VALUES = MAX_CLASSES
_SHOWN_COLUMNS = 20


class InitError(ValueError):
    """Data `init` cannot start a dataset from; one line naming the file (and line)."""


def value_kind(cell: str) -> Optional[str]:
    """tfx_bsl's type of one CSV cell: None for an empty (missing) one."""
    if not cell:
        return None
    try:
        return INT if _INT64[0] <= int(cell) <= _INT64[1] else STRING
    except ValueError:
        pass
    try:
        float(cell)
    except ValueError:
        return STRING
    return FLOAT


def feature_names(raw: Sequence[str]) -> List[str]:
    """The name each column gets in the dataset, in order: a safe name is kept (upper case
    too); any other becomes lowercase snake_case. A name that would repeat another, ignoring
    case, gets the first free `_2`, `_3`, ... suffix; kept names are served first."""
    taken = {name.lower() for name in raw if SAFE_NAME.fullmatch(name)}
    kept_seen = set()
    out = []
    for name in raw:
        if SAFE_NAME.fullmatch(name) and name.lower() not in kept_seen:
            kept_seen.add(name.lower())
            out.append(name)
            continue
        base = name if SAFE_NAME.fullmatch(name) else _snake_case(name)
        candidate, n = base, 2
        while candidate.lower() in taken:
            candidate, n = f"{base}_{n}", n + 1
        taken.add(candidate.lower())
        out.append(candidate)
    return out


def _snake_case(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    split = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", ascii_name)
    snake = re.sub(r"[^a-z0-9]+", "_", split.lower()).strip("_") or "column"
    return f"col_{snake}" if snake[0].isdigit() else snake


def dataset_name(folder: str) -> str:
    """The default spec name for a dataset written to `folder`: its base name, made safe."""
    base = os.path.basename(os.path.normpath(os.path.abspath(folder)))
    return base if base.replace("-", "_").isidentifier() else _snake_case(base)


def find_sources(path: str) -> Dict[int, List[Path]]:
    """{span number: its CSV files in reading order} for a CSV file, a folder of CSV files
    (span 1) or a folder of span-<N> folders (their spans)."""
    root = Path(path)
    if root.is_file():
        return {1: [root]}
    if not root.is_dir():
        raise InitError(f"{path}: no such file or folder")
    entries = sorted(os.listdir(root))
    span_folders = {e: sorted(os.listdir(root / e)) for e in entries
                    if fnmatch.fnmatchcase(e, csv_check.SPAN_GLOB) and (root / e).is_dir()}
    files = [e for e in csv_check.csv_names(entries) if (root / e).is_file()]
    if span_folders and files:
        raise InitError(f"{path}: holds both CSV files ({files[0]}, ...) and span folders "
                        f"({next(iter(span_folders))}/, ...); give one or the other")
    if not span_folders:
        if not files:
            raise InitError(f"{path}: no {csv_check.CSV_GLOB} file and no span-<N> folder")
        return {1: [root / f for f in files]}
    folders = csv_check.sort_span_folders(span_folders)
    if folders.problems:
        raise InitError(f"{path}/{folders.problems[0]}")
    spans = {n: [root / f"span-{n}" / f for f in csv_check.csv_names(names)]
             for n, names in folders.spans.items()}
    for n, span_files in sorted(spans.items()):
        if not span_files:
            raise InitError(f"{root / f'span-{n}'}: no {csv_check.CSV_GLOB} file")
    return spans


def _records(path: Path) -> Iterator[Tuple[int, List[str]]]:
    """(first line, fields) of each record; blank lines are skipped, as CsvExampleGen does."""
    start = 1
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f, strict=True)
            for fields in reader:
                if fields:
                    yield start, fields
                start = reader.line_num + 1
    except UnicodeDecodeError as e:
        raise InitError(f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at or after "
                        f"line {start}); save it as UTF-8") from None
    except csv.Error as e:
        raise InitError(f"{path}:{start}: not readable as CSV: {e}") from None


def _check_header(path: Path, names: List[str]) -> None:
    for i, name in enumerate(names, 1):
        if not name.strip():
            raise InitError(f"{path}:1: column {i} has no name; the first line must be a "
                            f"header naming every column")
    if all(value_kind(name.strip()) in (INT, FLOAT) for name in names):
        raise InitError(f"{path}:1: the first line is all numbers ({','.join(names[:5])}"
                        f"{',...' if len(names) > 5 else ''}): data, not a header; add a "
                        f"header line naming the columns")
    seen: Dict[str, int] = {}
    for i, name in enumerate(names, 1):
        if name in seen:
            raise InitError(f"{path}:1: column {name!r} appears twice (columns {seen[name]} "
                            f"and {i})")
        seen[name] = i


def _shown(names: Sequence[str]) -> str:
    more = f", ... ({len(names)} in all)" if len(names) > _SHOWN_COLUMNS else ""
    return ", ".join(names[:_SHOWN_COLUMNS]) + more


@dataclasses.dataclass
class ColumnProfile:
    """What one column's values look like: tfx_bsl's type, how many are missing, and each
    value's count while there are at most _TRACKED_VALUES distinct ones (else None)."""
    name: str
    kind: Optional[str] = None
    present: int = 0
    missing: int = 0
    counts: Optional[Counter] = dataclasses.field(default_factory=Counter)

    def add(self, cell: str) -> None:
        if not cell:
            self.missing += 1
            return
        self.present += 1
        if self.kind != STRING:
            kind = value_kind(cell)
            if self.kind is None or _KIND_ORDER[kind] > _KIND_ORDER[self.kind]:
                self.kind = kind
        if self.counts is not None:
            self.counts[cell] += 1
            if len(self.counts) > _TRACKED_VALUES:
                self.counts = None


@dataclasses.dataclass
class Moments:
    """Running mean and variance (Welford) of the values that parse as numbers."""
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, cell: str) -> None:
        try:
            x = float(cell)
        except ValueError:
            return
        self.count += 1
        delta = x - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (x - self.mean)

    @property
    def std(self) -> float:
        """The population standard deviation: the RMSE of always predicting the mean."""
        return math.sqrt(self.m2 / self.count) if self.count else 0.0


@dataclasses.dataclass
class Copied:
    """The data as copied: output column names, the renames, each span's rows, a profile per
    column, the label's value counts per span and its moments."""
    columns: List[str]
    renames: Dict[str, str]
    label: str
    span_rows: Dict[int, int]
    profiles: Dict[str, ColumnProfile]
    label_counts: Dict[int, Counter]
    label_moments: Moments

    @property
    def rows(self) -> int:
        return sum(self.span_rows.values())


def copy_spans(spans: Mapping[int, Sequence[Path]], label: str, out_root: Path) -> Copied:
    """Copy every span's files into out_root/span-<N>/data.csv (one file per span, columns
    renamed and in the first file's order, UTF-8, LF line ends) and profile the values.

    `label` names the label column by its name in the data or its new name. InitError names
    the file and line of the first problem: no header, a ragged row, an empty file or one
    without data rows, a missing label column or value, a file whose columns differ."""
    first: Optional[Tuple[Path, List[str]]] = None
    columns: List[str] = []
    label_index = -1
    profiles: List[ColumnProfile] = []
    span_rows: Dict[int, int] = {}
    label_counts: Dict[int, Counter] = {}
    moments = Moments()
    for n in sorted(spans):
        out = out_root / f"span-{n}" / "data.csv"
        out.parent.mkdir(parents=True)
        span_rows[n] = 0
        label_counts[n] = Counter()
        with open(out, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            for path in spans[n]:
                records = _records(path)
                header = next(records, None)
                if header is None:
                    raise InitError(f"{path}: empty file")
                names = header[1]
                _check_header(path, names)
                if first is None:
                    first = (path, names)
                    columns = feature_names([name.strip() for name in names])
                    label_index = _label_index(path, names, columns, label)
                    profiles = [ColumnProfile(c) for c in columns]
                    order = list(range(len(names)))
                else:
                    order = _column_order(path, names, *first)
                if path == spans[n][0]:
                    writer.writerow(columns)
                rows = 0
                for line, fields in records:
                    if len(fields) != len(names):
                        raise InitError(f"{path}:{line}: {len(fields)} fields, the header has "
                                        f"{len(names)}")
                    row = [fields[i] for i in order]
                    if not row[label_index]:
                        raise InitError(f"{path}:{line}: no value in the label column "
                                        f"{columns[label_index]!r}; every row needs one (drop "
                                        f"such rows, or choose another --label)")
                    for profile, cell in zip(profiles, row):
                        profile.add(cell)
                    label_counts[n][row[label_index]] += 1
                    moments.add(row[label_index])
                    writer.writerow(row)
                    rows += 1
                if not rows:
                    raise InitError(f"{path}: no data rows (header only)")
                span_rows[n] += rows
    renames = {raw: new for raw, new in zip(first[1], columns) if raw != new}
    return Copied(columns, renames, columns[label_index], span_rows,
                  {p.name: p for p in profiles}, label_counts, moments)


def _label_index(path: Path, names: List[str], columns: List[str], label: str) -> int:
    for candidates in (names, [name.strip() for name in names], columns):
        if label in candidates:
            return candidates.index(label)
    raise InitError(f"{path}:1: no column {label!r} (the --label); the columns are "
                    f"{_shown(names)}")


def _column_order(path: Path, names: List[str], first_path: Path,
                  first_names: List[str]) -> List[int]:
    """Where each of the first file's columns is in this file's header."""
    if sorted(names) != sorted(first_names):
        missing = [c for c in first_names if c not in names]
        extra = [c for c in names if c not in first_names]
        what = "; ".join(filter(None, [missing and "no " + _shown(missing),
                                       extra and "extra " + _shown(extra)]))
        raise InitError(f"{path}:1: columns differ from {first_path}'s ({what})")
    return [names.index(c) for c in first_names]


@dataclasses.dataclass(frozen=True)
class Problem:
    """The problem type, its classes (class id = position) and why, for the spec's comment."""
    problem_type: str
    classes: Tuple[str, ...]
    why: str


def _value_key(kind: Optional[str]):
    return {INT: int, FLOAT: float}.get(kind, str)


def infer_problem(profile: ColumnProfile, forced: Optional[str] = None) -> Problem:
    """The problem type the label's values ask for (or `forced`, checked against them).

    A string label with 2 values is binary, classes [majority, minority] (the positive class is
    the rarer one); an integer label with values 0 and 1 is binary without classes (with 2 other
    values, classes as for strings); a string label with 3 to MAX_CLASSES values or an integer
    one with 3 to MAX_INT_CLASSES is multiclass, classes sorted by value; any other numeric
    label is regression."""
    label, kind, counts = profile.name, profile.kind, profile.counts
    distinct = len(counts) if counts is not None else None
    values = f"{distinct} values" if distinct else f"more than {MAX_CLASSES} values"
    noun = {INT: "an integer label", FLOAT: "a numeric label"}.get(kind, "a string label")
    if distinct == 1:
        raise InitError(f"label {label!r} holds one value ({next(iter(counts))!r}) in all "
                        f"{profile.present} rows: there is nothing to predict; choose another "
                        f"--label (no --problem-type learns from one value)")
    problem_type = forced
    if problem_type is None:
        if kind == STRING:
            if distinct is None:
                raise InitError(f"label {label!r} has more than {MAX_CLASSES} distinct text "
                                f"values: too many classes for --problem-type binary or "
                                f"multiclass, and text is no regression label; choose "
                                f"another --label")
            problem_type = dataset.BINARY if distinct == 2 else dataset.MULTICLASS
        elif kind == INT and distinct == 2:
            problem_type = dataset.BINARY
        elif kind == INT and distinct is not None and distinct <= MAX_INT_CLASSES:
            problem_type = dataset.MULTICLASS
        else:
            problem_type = dataset.REGRESSION
    why = f"{noun} with {values}" + (" (--problem-type)" if forced else "")

    if problem_type == dataset.REGRESSION:
        if kind == STRING:
            raise InitError(f"--problem-type regression: label {label!r} holds text, not "
                            f"numbers")
        return Problem(problem_type, (), why)
    if problem_type == dataset.BINARY and distinct != 2:
        raise InitError(f"--problem-type binary: label {label!r} has {values}; a binary label "
                        f"has 2")
    if problem_type == dataset.MULTICLASS and (distinct is None or distinct < 3):
        hint = ("that is --problem-type binary" if distinct == 2 else
                f"too many classes (at most {MAX_CLASSES})"
                + ("; try --problem-type regression" if kind in (INT, FLOAT) else ""))
        raise InitError(f"--problem-type multiclass: label {label!r} has {values}: {hint}")
    key = _value_key(kind)
    if problem_type == dataset.BINARY:
        if kind == INT and {int(v) for v in counts} == {0, 1}:
            return Problem(problem_type, (), why + ", 0 and 1")
        majority, minority = sorted(counts, key=lambda v: (-counts[v], key(v)))
        return Problem(problem_type, (majority, minority),
                       why + f"; the rarer value {minority!r} is the positive class")
    return Problem(problem_type, tuple(sorted(counts, key=key)), why)


def ceil_to(value: float, decimals: int) -> float:
    """value rounded up to `decimals` decimals (float noise below 1e-9 ignored)."""
    scale = 10 ** decimals
    return math.ceil(round(value * scale, 9)) / scale


def significant(value: float, digits: int) -> float:
    return float(f"{value:.{digits}g}")


def floor_significant(value: float, digits: int) -> float:
    if value <= 0:
        return 0.0
    step = 10.0 ** (math.floor(math.log10(value)) - digits + 1)
    return significant(math.floor(round(value / step, 9)) * step, digits)


@dataclasses.dataclass(frozen=True)
class Gates:
    """The thresholds and data-gate settings measured on the data, each with why."""
    threshold: float
    threshold_why: str
    max_regression: float
    max_regression_why: str
    min_label_share: Optional[float] = None
    min_label_share_why: str = ""


def measure_gates(problem: Problem, copied: Copied) -> Gates:
    """Binary: the default AUC bounds. Multiclass: an accuracy the majority-class answer
    misses by MULTICLASS_MARGIN. Regression: the RMSE of always predicting the mean (the
    label's standard deviation), and a share of it for max_regression. Classification: a
    min_label_share at most half the rarest class's share in any span, so this data passes."""
    headline = dataset.HEADLINE[problem.problem_type]
    regression_why = (f"{headline.title} a candidate may "
                      f"{'lose' if headline.higher_is_better else 'add'} against the last "
                      f"blessed model")
    if problem.problem_type == dataset.REGRESSION:
        std = copied.label_moments.std
        if not math.isfinite(std):
            raise InitError(f"label {copied.label!r} holds non-finite values (nan or inf)")
        threshold = significant(std, 3)
        return Gates(
            threshold, f"largest test RMSE to bless; always predicting the mean "
                       f"({copied.label_moments.mean:.4g}) scores {std:.4g}",
            significant(REGRESSION_MAX_REGRESSION_SHARE * threshold, 3),
            f"{REGRESSION_MAX_REGRESSION_SHARE:.0%} of it: {regression_why}")
    totals = Counter()
    for counts in copied.label_counts.values():
        totals.update(counts)
    rarest = min(((counts[value] / copied.span_rows[n], value, n)
                  for n, counts in copied.label_counts.items() for value in totals),
                 key=lambda item: item[0])
    share, value, span = rarest
    where = f", span {span}" if len(copied.span_rows) > 1 else ""
    min_label_share = min(dataset.DEFAULT_MIN_LABEL_SHARE, floor_significant(share / 2, 2))
    label_why = (f"at most half the rarest class's share ({value}{where}: {share:.1%}), so "
                 f"this data passes")
    if problem.problem_type == dataset.BINARY:
        return Gates(dataset.DEFAULT_THRESHOLD[dataset.BINARY],
                     "smallest test AUC to bless (0.5 is guessing)",
                     dataset.DEFAULT_MAX_REGRESSION[dataset.BINARY], regression_why,
                     min_label_share, label_why)
    majority, count = max(totals.items(), key=lambda item: (item[1], item[0]))
    majority_share = count / copied.rows
    threshold = min(ceil_to(majority_share + MULTICLASS_MARGIN, 2), MAX_MULTICLASS_THRESHOLD)
    return Gates(threshold,
                 f"smallest test accuracy to bless; always answering {majority} scores "
                 f"{majority_share:.1%}",
                 dataset.DEFAULT_MAX_REGRESSION[dataset.MULTICLASS], regression_why,
                 min_label_share, label_why)


def min_examples(copied: Copied) -> int:
    """Half the smallest span's rows, at most the default: every span given passes."""
    return max(1, min(dataset.DEFAULT_MIN_EXAMPLES, min(copied.span_rows.values()) // 2))


def report_slices(copied: Copied) -> List[str]:
    """Up to MAX_REPORT_SLICES string or integer columns with 2..12 values, in column order."""
    low, high = SLICE_VALUES
    return [name for name in copied.columns if name != copied.label
            and copied.profiles[name].kind in (INT, STRING)
            and copied.profiles[name].counts is not None
            and low <= len(copied.profiles[name].counts) <= high][:MAX_REPORT_SLICES]


def outlier_share(files: Mapping[int, Path],
                  ranges: Mapping[str, Tuple[Optional[float], Optional[float]]]) -> float:
    """The largest share, over spans and features, of a feature's present values outside its
    typical range (low, high; None for no bound): what the data gate measures on a span."""
    worst = 0.0
    for path in files.values():
        outside, present = Counter(), Counter()
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                for name, (low, high) in ranges.items():
                    if not row.get(name):
                        continue
                    x = float(row[name])
                    present[name] += 1
                    outside[name] += (low is not None and x < low) or \
                        (high is not None and x > high)
        worst = max([worst] + [outside[n] / present[n] for n in present])
    return worst


def max_outlier_share(measured: Optional[float]) -> Tuple[float, str]:
    """The default bound, or twice the share this data has when that is larger; `measured`
    is None when no feature has a typical range."""
    what = "share of a feature's values allowed outside its typical range"
    if measured is None:
        return dataset.DEFAULT_MAX_OUTLIER_SHARE, f"{what} (none in schema.pbtxt yet)"
    if measured <= dataset.DEFAULT_MAX_OUTLIER_SHARE:
        return dataset.DEFAULT_MAX_OUTLIER_SHARE, f"{what} (this data: {measured:.1%})"
    return min(1.0, ceil_to(2 * measured, 2)), (
        f"{what}: twice this data's {measured:.1%}, so it passes")


_WIDTH = 99
_COMMENT_COLUMN = 26
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*(?: [A-Za-z0-9_.+-]+)*")


def yaml_scalar(value) -> str:
    """A YAML scalar for a number or string that reads back as itself (inside flow
    collections too): plain where YAML reads it back unchanged, else double-quoted."""
    import yaml  # PyYAML, pinned by TFX; only the text writer needs it
    if isinstance(value, float):
        text = repr(value)
        if "e" in text and "." not in text:  # PyYAML reads 1e-05 as a string
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, int):
        return str(value)
    if _PLAIN.fullmatch(value):
        loaded = yaml.safe_load(value)
        if isinstance(loaded, (str, int, float)) and not isinstance(loaded, bool) \
                and str(loaded) == value:
            return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _flow(values: Sequence) -> str:
    return "[" + ", ".join(yaml_scalar(v) for v in values) + "]"


def _line(text: str, why: str = "", indent: int = 0) -> str:
    """`text` indented, with `why` as a comment after it, or wrapped above it when long."""
    text = " " * indent + text
    inline = f"{text:<{max(_COMMENT_COLUMN, len(text) + 2)}}# {why}"
    if not why:
        return text
    if len(inline) <= _WIDTH:
        return inline
    prefix = " " * indent + "# "
    return "\n".join(textwrap.wrap(why, _WIDTH, initial_indent=prefix,
                                   subsequent_indent=prefix) + [text])


def spec_yaml(name: str, source: str, copied: Copied, problem: Problem, gates: Gates,
              slices: Sequence[str], outlier: Tuple[float, str]) -> str:
    """dataset.yaml's text, with a comment on where each value came from."""
    spans = len(copied.span_rows)
    made = (f"Made by `tabflow init` from {source} ({copied.rows:,} rows"
            f"{f' in {spans} spans' if spans > 1 else ''}, {len(copied.columns)} columns). "
            f"Every value below was measured on that data: review them before relying on "
            f"the gates.")
    lines = textwrap.wrap(made, _WIDTH, initial_indent="# ", subsequent_indent="# ",
                          break_on_hyphens=False, break_long_words=False) + [
        _line(f"name: {yaml_scalar(name)}", "the default pipeline name"),
        _line(f"label: {yaml_scalar(copied.label)}", "the column the model predicts"),
        _line(f"problem_type: {problem.problem_type}", problem.why),
    ]
    if problem.classes:
        order = ("[negative, positive]" if problem.problem_type == dataset.BINARY
                 else "class id = position, sorted by value")
        lines.append(_line(f"classes: {_flow(problem.classes)}", order))
    lines += [
        _line("splits: {" + ", ".join(f"{split}: {buckets}" for split, buckets
                                      in dataset.DEFAULT_SPLITS.items()) + "}",
              "hash-bucket ratios"),
        _line(f"min_examples: {min_examples(copied)}",
              "a span with fewer rows stops at the data gate"),
        "slices:",
        "  # The Evaluator reports the headline metric for each value of these columns. No slice",
        "  # is gated: add `gate: [{column, value, max_regression}]` for one that must not regress.",
        f"  report: {_flow(slices)}",
        "thresholds:",
        _line(f"threshold: {yaml_scalar(gates.threshold)}", gates.threshold_why, 2),
        _line(f"max_regression: {yaml_scalar(gates.max_regression)}",
              gates.max_regression_why, 2),
        "data_gate:",
    ]
    if gates.min_label_share is not None:
        lines.append(_line(f"min_label_share: {yaml_scalar(gates.min_label_share)}",
                           gates.min_label_share_why, 2))
    lines.append(_line(f"max_outlier_share: {yaml_scalar(outlier[0])}", outlier[1], 2))
    return "\n".join(lines) + "\n"


def readme_text(name: str, source: str, copied: Copied, problem: Problem,
                run_command: str) -> str:
    """README.md's text: where the data came from, what the folder holds, how to run it."""
    spans = ", ".join(f"span-{n}: {rows:,} rows" for n, rows in sorted(copied.span_rows.items()))
    classes = f" ({', '.join(problem.classes)})" if problem.classes else ""
    lines = [
        f"# {name}",
        "",
        f"Made by `tabflow init` from `{source}`.",
        "",
        f"- `spans/span-<N>/data.csv`: the data, copied ({spans}); CsvExampleGen reads the "
        f"latest span.",
        f"- `dataset.yaml`: the spec. Label `{copied.label}`, {problem.problem_type}{classes}; "
        f"the thresholds were measured on this data.",
        "- `schema.pbtxt`: the schema every span is validated against: TFDV's inferred schema "
        "with value constraints proposed from the data's statistics. Review it: it is the "
        "contract new spans must meet.",
    ]
    if copied.renames:
        lines += ["", "Columns renamed to safe feature names:", ""]
        lines += [f"- `{raw}` -> `{new}`" for raw, new in copied.renames.items()]
    lines += ["", "## Run it", "", f"    {run_command}", "",
              "A new span goes into `spans/span-<N+1>/` with the same columns."]
    return "\n".join(lines) + "\n"
