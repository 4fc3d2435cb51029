"""Model quality: a plain pandas + tf-keras script against the pipeline's model, on the same rows.

The plain script is generic: what it reads comes from the dataset's spec (dataset.yaml), its
curated schema and the feature plan the pipeline builds from them (pipeline/feature_plan.py),
and it names no column of any dataset. Every numeric input of the plan (z-scored, categorical
integer and bucketized columns alike) is z-scored on the train rows, a missing value taking the
train mean; every text input is one-hot over the values seen in train. The label is the
dataset's hooks' `label_from_raw` when it has one, else the label column: 0/1 for binary, the
class id (the position in the spec's classes) for multiclass, the value for regression (learnt
standardized, predicted in the label's units). The network is the pipeline's default size, two
hidden layers of 64 and 32 units, with a sigmoid, softmax or linear head by problem type.

Its metrics are the dataset's headline metric (AUC for binary, accuracy for multiclass, RMSE
for regression), with accuracy or the mean label where they make sense, overall, within each
gated slice and within each value of the report slices that has at least MIN_SLICE_ROWS rows.

Run as a script, it is scored against a pipeline run: it trains on exactly the rows of the
train split of the Examples the pipeline's newest blessed evaluation read (found through MLMD)
and is scored on that evaluation's test split; the pipeline's side is the Evaluator's TFMA
output. Both sides must have scored the same rows: the examples the evaluation read, and the
same number of rows in every slice. A difference stops the script with exit 1.

    .venv/bin/python benchmarks/plain_model.py [--dataset taxi|penguins|diabetes|FOLDER] \
        [--output-root outputs] [--train-steps N] [--batch-size N] [--json PATH]
    .venv/bin/python benchmarks/plain_model.py --examples-uri <Examples artifact folder> \
        --evaluation-uri <ModelEvaluation artifact folder>

Steps and batch size are the ones the pipeline's Trainer recorded in MLMD for the evaluated
model (else the pipeline config's training.train_steps and training.batch_size); a flag that
disagrees with what the Trainer recorded is an error, so both sides always train alike.
benchmarks/model_comparison.py imports the functions below for its folds. Prints a table and
writes JSON (--json, default <output-root>/model_quality.json).
"""
import argparse
import collections
import dataclasses
import glob
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from tabflow import contract  # noqa: E402
from tabflow import dataset as dataset_lib  # noqa: E402

# The smallest number of rows a report slice's value needs to be scored on its own.
MIN_SLICE_ROWS = 30
OVERALL = "overall"
# The network: the pipeline's DEFAULT_HPARAMS size (modules/model.py), learning rate included.
HIDDEN_UNITS = (64, 32)
LEARNING_RATE = 1e-3
DEFAULT_SEED = 42
PREDICT_BATCH = 4096
# Column kinds, from the curated schema.
INT, FLOAT, TEXT = "int", "float", "text"


class SettingError(ValueError):
    """A setting that cannot be used (unknown dataset, missing artifacts): one line, exit 2."""


class RowMismatch(ValueError):
    """The two sides did not score the same rows: the comparison is void."""


# --- the dataset ----------------------------------------------------------------------------

@dataclasses.dataclass
class Dataset:
    """A dataset as both sides see it: spec, curated schema, feature plan, hooks module."""
    spec: Any  # tabflow.dataset.DatasetSpec
    schema: Any  # tensorflow_metadata Schema
    plan: dict
    hooks: Any  # the hooks module, or None
    kinds: Dict[str, str]  # column -> INT, FLOAT or TEXT, every column the schema reads

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def problem_type(self) -> str:
        return self.spec.problem_type

    @property
    def headline(self) -> str:
        return self.spec.headline.metric


def dataset_folder(name_or_folder: str) -> str:
    """A dataset folder from a folder path or the name of a shipped dataset (data/<name>)."""
    if os.path.isdir(name_or_folder):
        return os.path.abspath(name_or_folder)
    shipped = PROJECT_ROOT / "data" / name_or_folder
    if os.sep not in name_or_folder and shipped.is_dir():
        return str(shipped)
    known = sorted(p.parent.name for p in (PROJECT_ROOT / "data").glob("*/dataset.yaml"))
    raise SettingError(f"dataset: {name_or_folder!r} is neither a dataset folder nor a shipped "
                       f"dataset ({', '.join(known)})")


def load_dataset(name_or_folder: str) -> Dataset:
    from modules import hooks as hooks_lib
    from pipeline.feature_plan import build_plan
    from tabflow.artifacts.schema import load_schema
    from tensorflow_metadata.proto.v0 import schema_pb2

    try:
        spec = dataset_lib.load(dataset_folder(name_or_folder))
    except dataset_lib.SpecError as e:
        raise SettingError(str(e)) from None
    if not os.path.isfile(spec.schema_path):
        raise SettingError(f"dataset: {spec.folder} has no curated schema ({spec.schema_path})")
    schema = load_schema(spec.schema_path)
    plan = build_plan(spec, schema)
    kind_of = {schema_pb2.INT: INT, schema_pb2.FLOAT: FLOAT, schema_pb2.BYTES: TEXT}
    kinds = {f.name: kind_of[f.type] for f in schema.feature if f.type in kind_of}
    return Dataset(spec=spec, schema=schema, plan=plan,
                   hooks=hooks_lib.load(spec.hooks) if spec.hooks else None, kinds=kinds)


def input_columns(plan: dict) -> Tuple[List[str], List[str]]:
    """(numeric inputs, text inputs) of a feature plan: what the plain script reads."""
    numeric = sorted([*plan["dense"], *plan["categorical_int"], *plan["bucketize"]])
    return numeric, sorted(plan["vocabulary"])


# --- values ---------------------------------------------------------------------------------

def value_text(value) -> Optional[str]:
    """A value as TFMA names a slice by it and dataset.yaml lists classes: text as it is, whole
    numbers without a decimal point; None when missing."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    value = float(value)
    if math.isnan(value):
        return None
    return str(int(value)) if value.is_integer() else repr(value)


def raw_columns(frame, ds: Dataset) -> Dict[str, Any]:
    """{column: numpy array} as the data gate hands them to label_from_raw: numbers as floats
    (NaN where missing; float columns in float32, the precision a tf.Example holds them in, so
    a comparison falls as it does in the transform), text as objects (None where missing)."""
    import numpy as np
    out = {}
    for column, kind in ds.kinds.items():
        if column not in frame:
            continue
        values = frame[column]
        if kind == TEXT:
            out[column] = np.asarray(values.where(values.notna(), None), dtype=object)
        else:
            out[column] = values.to_numpy(dtype=np.float32 if kind == FLOAT else np.float64,
                                          na_value=np.nan)
    return out


def labels_of(frame, ds: Dataset):
    """The label of each row as the model learns it: 0/1 (binary) or the class id (multiclass)
    as int64, the value (regression) as float64. A label that is missing or no class is an
    error: the data gate stops such spans."""
    import numpy as np
    spec = ds.spec
    if ds.hooks is not None and hasattr(ds.hooks, "label_from_raw"):
        values = np.asarray(ds.hooks.label_from_raw(raw_columns(frame, ds)))
    elif spec.label in frame:
        values = frame[spec.label].to_numpy()
    else:
        raise SettingError(f"{spec.spec_path}: label: no column {spec.label!r} in the data and "
                           "no hooks label_from_raw")
    if spec.problem_type == dataset_lib.REGRESSION:
        out = values.astype(np.float64)
        if np.isnan(out).any():
            raise SettingError(f"{spec.spec_path}: label: {int(np.isnan(out).sum())} rows "
                               "without a value")
        return out
    if values.dtype == bool or (not spec.classes and values.dtype.kind in "iuf"):
        out = values.astype(np.float64)
        if np.isnan(out).any():
            raise SettingError(f"{spec.spec_path}: label: rows without a value")
        return out.astype(np.int64)
    classes = list(spec.classes) or ["0", "1"]
    position = {c: i for i, c in enumerate(classes)}
    texts = [value_text(v) for v in values]
    unknown = sorted({str(t) for t in texts if t not in position})
    if unknown:
        raise SettingError(f"{spec.spec_path}: classes: label values {unknown[:5]} are no "
                           f"class of {classes}")
    return np.asarray([position[t] for t in texts], dtype=np.int64)


def row_digests(frame, kinds: Dict[str, str]) -> List[str]:
    """One sha256 per row over every schema column's value (floats at float32, the precision a
    tf.Example holds): two reads of the same rows give the same multiset of digests."""
    import numpy as np
    columns = sorted(c for c in kinds if c in frame)
    cells = []
    for column in columns:
        values = frame[column].tolist()
        if kinds[column] == FLOAT:
            cells.append(["" if v is None or (isinstance(v, float) and math.isnan(v))
                          else repr(float(np.float32(v))) for v in values])
        else:
            cells.append(["" if (t := value_text(v)) is None else t for v in values])
    return [hashlib.sha256("\x1f".join(f"{c}={row[i]}" for i, c in enumerate(columns))
                           .encode()).hexdigest()
            for row in zip(*cells)] if cells else []


def check_same_rows(plain_counts: Dict[str, int], pipeline_counts: Dict[str, Optional[int]],
                    plain_rows: Optional[Sequence[str]] = None,
                    pipeline_rows: Optional[Sequence[str]] = None) -> None:
    """Both sides scored the same rows: the same number in every slice the plain side scores,
    and, when both row lists (digests) are known, the same rows. RowMismatch otherwise."""
    problems = []
    for name, count in plain_counts.items():
        other = pipeline_counts.get(name)
        if other is None:
            problems.append(f"{name}: the pipeline's side has no such slice")
        elif int(other) != int(count):
            problems.append(f"{name}: plain script {count} rows, pipeline {int(other)}")
    if plain_rows is not None and pipeline_rows is not None:
        a, b = collections.Counter(plain_rows), collections.Counter(pipeline_rows)
        if a != b:
            problems.append(f"row sets differ: {sum((a - b).values())} rows only the plain "
                            f"script scored, {sum((b - a).values())} only the pipeline")
    if problems:
        raise RowMismatch("the two sides did not score the same rows: " + "; ".join(problems))


# --- slices and metrics ---------------------------------------------------------------------

def slice_name(column: str, value: str) -> str:
    return f"{column}={value}"


def eligible_slices(frame, spec, share: float = 1.0,
                    min_rows: int = MIN_SLICE_ROWS) -> List[Tuple[str, str]]:
    """[(column, value text)]: every gated slice, then each value of each report column with at
    least `min_rows` rows in `frame` scaled by `share` (the share of the rows a split will
    hold: 1 when `frame` is the split scored)."""
    out = [(s.column, str(s.value)) for s in spec.gated_slices]
    for column in spec.report_slices:
        counts = collections.Counter(t for t in map(value_text, frame[column].tolist())
                                     if t is not None)
        for value in sorted(counts, key=_value_order):
            if counts[value] * share >= min_rows and (column, value) not in out:
                out.append((column, value))
    return out


def _value_order(text: str):
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


def slice_masks(frame, slices: Sequence[Tuple[str, str]]) -> Dict[str, Any]:
    """{slice name: boolean mask over frame}, overall first."""
    import numpy as np
    out = {OVERALL: np.ones(len(frame), bool)}
    texts: Dict[str, List[Optional[str]]] = {}
    for column, value in slices:
        if column not in texts:
            texts[column] = [value_text(v) for v in frame[column].tolist()]
        out[slice_name(column, value)] = np.asarray([t == value for t in texts[column]], bool)
    return out


def auc(labels, scores) -> Optional[float]:
    """ROC AUC, exact (the Mann-Whitney rank statistic, ties counted half); None when one class
    is absent."""
    import numpy as np
    from scipy.stats import rankdata
    labels = np.asarray(labels)
    positives = int((labels == 1).sum())
    negatives = len(labels) - positives
    if not positives or not negatives:
        return None
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2)
                 / (positives * negatives))


def metrics_of(problem_type: str, labels, predictions) -> Dict[str, Any]:
    """The problem type's metrics of one set of rows. predictions: the positive class's
    probability (binary), one probability per class (multiclass), the value (regression)."""
    import numpy as np
    labels = np.asarray(labels)
    predictions = np.asarray(predictions)
    out: Dict[str, Any] = {"examples": int(len(labels))}
    if not len(labels):
        return out
    if problem_type == dataset_lib.BINARY:
        out["auc"] = auc(labels, predictions)
        out["accuracy"] = float(((predictions > 0.5) == (labels == 1)).mean())
        out["mean_label"] = float(labels.mean())
        out["positives"] = int((labels == 1).sum())
    elif problem_type == dataset_lib.MULTICLASS:
        out["accuracy"] = float((predictions.argmax(axis=1) == labels).mean())
    else:
        error = predictions.astype(np.float64) - labels.astype(np.float64)
        out["root_mean_squared_error"] = float(np.sqrt(np.mean(error ** 2)))
        out["mean_absolute_error"] = float(np.mean(np.abs(error)))
        out["mean_label"] = float(labels.mean())
    return out


def score_slices(frame, labels, predictions, problem_type: str,
                 slices: Sequence[Tuple[str, str]]) -> Dict[str, Dict[str, Any]]:
    """{slice name: metrics}: overall and each of `slices` (a slice without rows has only its
    count, 0)."""
    import numpy as np
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    return {name: metrics_of(problem_type, labels[mask], predictions[mask])
            for name, mask in slice_masks(frame, slices).items()}


# --- the plain script -----------------------------------------------------------------------

@dataclasses.dataclass
class Design:
    """The plain script's inputs, learnt on the train rows."""
    numeric: List[str]
    text: List[str]
    means: Dict[str, float]
    stds: Dict[str, float]
    levels: Dict[str, List[str]]

    @property
    def width(self) -> int:
        return len(self.numeric) + sum(len(v) for v in self.levels.values())

    def matrix(self, frame):
        """The rows of `frame` as a float32 matrix: z-scored numbers, one-hot text."""
        import numpy as np
        import pandas as pd
        parts = [((frame[c].astype(float).fillna(self.means[c]) - self.means[c])
                  / self.stds[c]).to_numpy(np.float32)[:, None] for c in self.numeric]
        for column in self.text:
            values = pd.Categorical(frame[column].fillna("").astype(str),
                                    categories=self.levels[column])
            parts.append(pd.get_dummies(values).to_numpy(np.float32))
        if not parts:
            return np.zeros((len(frame), 0), np.float32)
        return np.concatenate(parts, axis=1).astype(np.float32)


def fit_design(train, plan: dict) -> Design:
    numeric, text = input_columns(plan)
    means, stds = {}, {}
    for column in numeric:
        values = train[column].astype(float)
        mean = values.mean()
        means[column] = 0.0 if math.isnan(mean) else float(mean)
        std = values.std()
        stds[column] = float(std) if std and not math.isnan(std) else 1.0
    levels = {c: sorted(train[c].fillna("").astype(str).unique()) for c in text}
    return Design(numeric, text, means, stds, levels)


def fit_predict(train, frames: Sequence, ds: Dataset, steps: int, batch_size: int,
                seed: int = DEFAULT_SEED) -> List[Any]:
    """Trains the plain script on `train` (`steps` steps of `batch_size` rows) and returns its
    predictions for each frame of `frames`."""
    import numpy as np
    import tensorflow as tf
    from tabflow.compat.autograph import skip_autograph_for_tf_keras
    skip_autograph_for_tf_keras()
    design = fit_design(train, ds.plan)
    x_train = design.matrix(train)
    y_train = labels_of(train, ds)
    problem_type = ds.problem_type
    tf.keras.utils.set_random_seed(seed)
    layers = [tf.keras.layers.Input(shape=(x_train.shape[1],))]
    layers += [tf.keras.layers.Dense(units, activation="relu") for units in HIDDEN_UNITS]
    label_mean, label_std = 0.0, 1.0
    if problem_type == dataset_lib.BINARY:
        layers.append(tf.keras.layers.Dense(1, activation="sigmoid"))
        loss, y_fit = "binary_crossentropy", y_train.astype(np.float32)
    elif problem_type == dataset_lib.MULTICLASS:
        layers.append(tf.keras.layers.Dense(len(ds.spec.classes), activation="softmax"))
        loss, y_fit = "sparse_categorical_crossentropy", y_train
    else:
        # Learnt standardized, predicted in the label's units.
        label_mean, label_std = float(y_train.mean()), float(y_train.std()) or 1.0
        layers.append(tf.keras.layers.Dense(1))
        loss, y_fit = "mse", ((y_train - label_mean) / label_std).astype(np.float32)
    model = tf.keras.Sequential(layers)
    model.compile(optimizer=tf.keras.optimizers.Adam(LEARNING_RATE), loss=loss)
    data = (tf.data.Dataset.from_tensor_slices((x_train, y_fit))
            .shuffle(len(y_fit), seed=seed).repeat().batch(batch_size))
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    out = []
    for frame in frames:
        predicted = model.predict(design.matrix(frame), batch_size=PREDICT_BATCH, verbose=0)
        if problem_type == dataset_lib.MULTICLASS:
            out.append(predicted)
        elif problem_type == dataset_lib.BINARY:
            out.append(predicted.reshape(-1))
        else:
            out.append(predicted.reshape(-1).astype(np.float64) * label_std + label_mean)
    return out


# --- a pipeline run: its artifacts through MLMD ---------------------------------------------

def _store(output_root: str):
    from tabflow.config import from_sources
    from tabflow.metadata.store import open_store
    return open_store(from_sources(output_root=output_root).store)


def read_split(examples_uri: str, split: str, ds: Dataset):
    """The rows of one split of an Examples artifact (gzipped TFRecords of tf.train.Example),
    one column per schema column (NaN or None where an example holds no value)."""
    import pandas as pd
    import tensorflow as tf
    files = sorted(glob.glob(os.path.join(examples_uri, contract.SPLIT_PREFIX + split, "*")))
    if not files:
        raise SettingError(f"no files for split {split!r} under {examples_uri}")
    return frame_of_records((r.numpy() for r in tf.data.TFRecordDataset(
        files, compression_type="GZIP")), ds)


def frame_of_records(records, ds: Dataset):
    """Serialized tf.train.Examples as a frame of the schema's columns."""
    import numpy as np
    import pandas as pd
    import tensorflow as tf
    columns: Dict[str, list] = {c: [] for c in ds.kinds}
    for record in records:
        features = tf.train.Example.FromString(record).features.feature
        for column, kind in ds.kinds.items():
            value = None
            if column in features:
                feature = features[column]
                which = feature.WhichOneof("kind")
                values = getattr(feature, which).value if which else []
                if len(values):
                    value = values[0]
            if kind == TEXT:
                columns[column].append(value.decode("utf-8") if value is not None else None)
            else:
                columns[column].append(np.nan if value is None else float(value))
    return pd.DataFrame({c: pd.Series(v, dtype=object if ds.kinds[c] == TEXT else float)
                         for c, v in columns.items()})


def _execution_property(execution, name: str):
    for props in (execution.custom_properties, execution.properties):
        if name in props:
            value = props[name]
            return value.string_value or value.int_value or None
    return None


def trainer_settings(store, model_id: Optional[int]) -> Dict[str, Optional[int]]:
    """{"train_steps", "batch_size"} the Trainer that produced model `model_id` recorded
    (None each when unknown)."""
    from ml_metadata.proto import metadata_store_pb2
    out = {"train_steps": None, "batch_size": None}
    if not model_id:
        return out
    producers = [e.execution_id for e in store.get_events_by_artifact_ids([model_id])
                 if e.type == metadata_store_pb2.Event.OUTPUT]
    for execution in store.get_executions_by_id(producers[:1]):
        train_args = _execution_property(execution, "train_args")
        custom_config = _execution_property(execution, "custom_config")
        if isinstance(train_args, str):
            out["train_steps"] = json.loads(train_args).get("num_steps")
        if isinstance(custom_config, str):
            out["batch_size"] = (json.loads(custom_config) or {}).get("batch_size")
    return out


def find_blessed_evaluation(output_root: str, pipeline_name: str) -> Optional[dict]:
    """The newest run's Evaluator output whose blessing says blessed: {"uri", "model_uri",
    "model_id", "examples_uri" (the Examples it read), "splits", "trainer"}, or None."""
    from ml_metadata.proto import metadata_store_pb2
    from tabflow.metadata import runs
    from tabflow.metadata.graph import event_keys
    store = _store(output_root)
    for info in reversed(runs.list_runs(store, pipeline_name)):
        evaluator = [r for r in runs.run_executions(store, pipeline_name, info.run_id)
                     if r.node_id == contract.EVALUATOR]
        if not evaluator or not evaluator[0].outputs.get(contract.BLESSING_KEY) \
                or not evaluator[0].outputs.get(contract.EVALUATION_KEY):
            continue
        [blessing] = evaluator[0].outputs[contract.BLESSING_KEY]
        [evaluation] = evaluator[0].outputs[contract.EVALUATION_KEY]
        props = blessing.custom_properties
        if contract.BLESSED_PROPERTY not in props or not props[contract.BLESSED_PROPERTY].int_value:
            continue
        model_id = props[contract.CURRENT_MODEL_PROPERTY].int_value \
            if contract.CURRENT_MODEL_PROPERTY in props else None
        model = store.get_artifacts_by_id([model_id])[0] if model_id else None
        inputs = [e.artifact_id for e in store.get_events_by_execution_ids([evaluator[0].id])
                  if e.type == metadata_store_pb2.Event.INPUT
                  and contract.EXAMPLES_KEY in event_keys(e)]
        examples = store.get_artifacts_by_id(inputs) if inputs else []
        [execution] = store.get_executions_by_id([evaluator[0].id])
        splits = _execution_property(execution, contract.EVALUATOR_SPLITS_PROPERTY)
        return {"uri": evaluation.uri, "model_uri": model.uri if model else None,
                "model_id": model_id,
                "examples_uri": examples[0].uri if len(examples) == 1 else None,
                "splits": json.loads(splits) if isinstance(splits, str) else None,
                "trainer": trainer_settings(store, model_id)}
    return None


def find_examples_uri(output_root: str, pipeline_name: str) -> str:
    from tabflow.metadata.runs import latest_output
    artifact = latest_output(_store(output_root), pipeline_name, contract.EXAMPLE_GEN,
                             contract.EXAMPLES_KEY)
    if artifact is None:
        raise SettingError(f"no {contract.EXAMPLE_GEN} examples in the MLMD store of "
                           f"{output_root}: run the pipeline first or pass --examples-uri")
    return artifact.uri


# TFMA's names of the metrics this script reports (pipeline/eval_config.py).
TFMA_NAMES = {
    dataset_lib.BINARY: {"auc": "auc", "accuracy": "binary_accuracy", "mean_label": "mean_label"},
    dataset_lib.MULTICLASS: {"accuracy": "accuracy"},
    dataset_lib.REGRESSION: {"root_mean_squared_error": "root_mean_squared_error",
                             "mean_absolute_error": "mean_absolute_error",
                             "mean_label": "mean_label"},
}


def pipeline_scores(evaluation_uri: str, problem_type: str) -> Dict[str, Dict[str, Any]]:
    """{slice name: metrics} of the candidate model in a TFMA evaluation, every slice it
    computed."""
    from tabflow.artifacts import evaluation as E
    out = {}
    for entry in E.metrics_by_slice(evaluation_uri):
        name = OVERALL if entry["slice"] is E.OVERALL else slice_name(*entry["slice"])
        m = entry["metrics"]["candidate"]
        count = m.get("example_count")
        out[name] = {"examples": None if count is None else int(round(count)),
                     **{ours: m.get(theirs)
                        for ours, theirs in TFMA_NAMES[problem_type].items()}}
    return out


# --- the script -----------------------------------------------------------------------------

def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def resolve_training(flags: Dict[str, Optional[int]], recorded: Dict[str, Optional[int]],
                     configured: Dict[str, int]) -> Dict[str, Any]:
    """Steps and batch for the plain script: a flag, else what the pipeline's Trainer recorded,
    else the pipeline config. A flag that disagrees with the Trainer's record is an error."""
    out: Dict[str, Any] = {}
    for name in ("train_steps", "batch_size"):
        flag, record = flags.get(name), recorded.get(name)
        if flag is not None and record is not None and int(flag) != int(record):
            raise SettingError(f"--{name.replace('_', '-')} {flag}: the pipeline's Trainer "
                               f"used {record}; both sides must train alike")
        if flag is not None:
            out[name], source = int(flag), "flag"
        elif record is not None:
            out[name], source = int(record), "the pipeline's Trainer (MLMD)"
        else:
            out[name], source = int(configured[name]), "the pipeline config"
        out[f"{name}_from"] = source
    return out


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", help="a dataset folder or a shipped dataset's name "
                   "(default: the pipeline config's dataset)")
    p.add_argument("--output-root", default="outputs",
                   help="the pipeline's output root (its MLMD store names the artifacts)")
    p.add_argument("--pipeline-name", help="default: the config's (the dataset folder's name)")
    p.add_argument("--examples-uri", help="an Examples artifact folder (Split-train, "
                   "Split-test); default: the one the evaluation read")
    p.add_argument("--evaluation-uri", help="a ModelEvaluation artifact folder; default: "
                   "the newest evaluation of a blessed model")
    p.add_argument("--train-steps", type=int, help="default: what the pipeline's Trainer used")
    p.add_argument("--batch-size", type=int, help="default: what the pipeline's Trainer used")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--min-slice-rows", type=int, default=MIN_SLICE_ROWS)
    p.add_argument("--json", help="where to write the results "
                   "(default <output-root>/model_quality.json)")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> Dict[str, Any]:
    from tabflow.config import from_sources
    config = from_sources(output_root=args.output_root,
                          **({"dataset": dataset_folder(args.dataset)} if args.dataset else {}))
    ds = load_dataset(config.data.dataset)
    pipeline_name = args.pipeline_name or config.pipeline_name
    store_file = config.store.metadata_path
    evaluation = None
    if args.evaluation_uri:
        evaluation = {"uri": args.evaluation_uri, "model_uri": None, "model_id": None,
                      "examples_uri": None, "splits": None,
                      "trainer": {"train_steps": None, "batch_size": None}}
    elif config.store.mysql_host or os.path.exists(store_file):
        evaluation = find_blessed_evaluation(args.output_root, pipeline_name)
    if evaluation is None:
        raise SettingError(f"no evaluation of a blessed {pipeline_name} model in the MLMD store "
                           f"of {args.output_root}: run the pipeline or pass --evaluation-uri")
    if evaluation["splits"] not in (None, [contract.TEST_SPLIT]):
        raise RowMismatch(f"the evaluation scored the splits {evaluation['splits']}, "
                          f"not {contract.TEST_SPLIT!r} alone")
    examples_uri = args.examples_uri or evaluation["examples_uri"] or find_examples_uri(
        args.output_root, pipeline_name)
    if evaluation["examples_uri"] and os.path.realpath(examples_uri) != os.path.realpath(
            evaluation["examples_uri"]):
        raise RowMismatch(f"the evaluation read the examples {evaluation['examples_uri']}, "
                          f"not {examples_uri}")
    training = resolve_training(
        {"train_steps": args.train_steps, "batch_size": args.batch_size},
        evaluation["trainer"], {"train_steps": config.training.train_steps,
                                "batch_size": config.training.batch_size})

    started = time.time()
    train = read_split(examples_uri, contract.TRAIN_SPLIT, ds)
    test = read_split(examples_uri, contract.TEST_SPLIT, ds)
    slices = eligible_slices(test, ds.spec, min_rows=args.min_slice_rows)
    [predictions] = fit_predict(train, [test], ds, training["train_steps"],
                                training["batch_size"], args.seed)
    plain = score_slices(test, labels_of(test, ds), predictions, ds.problem_type, slices)
    seconds = round(time.time() - started, 1)
    tfma = pipeline_scores(evaluation["uri"], ds.problem_type)
    check_same_rows({name: s["examples"] for name, s in plain.items()},
                    {name: tfma.get(name, {}).get("examples") for name in plain})
    # Overall and the gated slices side by side (what benchmark.py tabulates); each report
    # slice's values apart.
    headline = [OVERALL] + [slice_name(s.column, str(s.value)) for s in ds.spec.gated_slices]
    report = [name for name in plain if name not in headline]
    return {
        "dataset": ds.name, "problem_type": ds.problem_type, "headline": ds.headline,
        "examples_uri": examples_uri, "train_rows": len(train), "test_rows": len(test),
        "settings": {**training, "seed": args.seed, "min_slice_rows": args.min_slice_rows},
        "rows_checked": "the examples the evaluation read; the same row count in every slice",
        "plain_script": {name: plain[name] for name in headline},
        "plain_script_seconds": seconds,
        "pipeline_model": {"evaluation_uri": evaluation["uri"],
                           "model_uri": evaluation["model_uri"],
                           **{name: tfma[name] for name in headline}},
        "report_slices": {"plain_script": {name: plain[name] for name in report},
                          "pipeline_model": {name: tfma[name] for name in report}},
    }


def print_results(results: Dict[str, Any]) -> None:
    headline = results["headline"]
    others = [k for k in ("accuracy", "mean_label") if k != headline]
    print(f"{results['dataset']}: train rows {results['train_rows']}, test rows "
          f"{results['test_rows']} ({results['examples_uri']}); "
          f"{results['settings']['train_steps']} steps of batch "
          f"{results['settings']['batch_size']}")
    print(f"{'model':<14} {'slice':<34} {headline:>10} " + "".join(f"{k:>11}" for k in others)
          + f" {'rows':>6}")
    report = results["report_slices"]
    for model, scores in (("plain script", {**results["plain_script"], **report["plain_script"]}),
                          ("pipeline", {**results["pipeline_model"],
                                        **report["pipeline_model"]})):
        for name, s in scores.items():
            if isinstance(s, dict):
                print(f"{model:<14} {name:<34} {_fmt(s.get(headline)):>10} "
                      + "".join(f"{_fmt(s.get(k)):>11}" for k in others)
                      + f" {_fmt(s['examples']):>6}")


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        results = run(args)
    except SettingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except RowMismatch as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print_results(results)
    target = args.json or os.path.join(args.output_root, "model_quality.json")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(json.dumps(results, indent=2))
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
