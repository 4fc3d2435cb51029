"""An honest model comparison: the plain script and the pipeline's model re-measured on splits
that chose nothing about either.

The pipeline's derived inputs were chosen while looking at one test split. This script measures
again, for each dataset, on every committed span's rows (read with the curated schema's types):

- k seeded random folds (seeds 0..k-1; train, eval and test in the spec's `splits` ratios);
- a time split when the dataset has two spans or more (spans are time-ordered): train and eval
  from every span but the last (eval a seeded share in the spec's ratio), test the last span.

In each fold, on exactly the same rows:

- plain: benchmarks/plain_model.py, trained on the fold's train rows;
- pipeline: the project's own code, not a copy of it: modules/transform.py's preprocessing_fn
  analysed with tf.Transform's Beam implementation on the train rows (in-process DirectRunner,
  the pipeline's force_tf_compat_v1), modules/trainer.py's run_fn given a TFX FnArgs built by
  TFX's own get_common_fn_args (gzipped TFRecords of tf.train.Example, a real DataAccessor),
  and the exported SavedModel's serving_default signature called on the rows' serialized
  examples;
- ablation (only for a dataset whose hooks derive inputs): the same pipeline model without
  them: a hooks file in the fold's temporary folder that re-exports only the dataset hooks'
  label functions.

Both sides train the same steps on batches of the same size (the pipeline config's, or the
flags'), and each is scored on the fold's eval and test rows, overall, in each gated slice and
in each value of the report slices expected to hold enough test rows. The tables give the
dataset's headline metric, mean, standard deviation, min and max over the seeded folds, the
time split apart, and the paired per-fold differences pipeline - plain and pipeline - ablation
(with how many folds the pipeline won), since paired differences are what decide.

    .venv/bin/python benchmarks/model_comparison.py [--dataset taxi penguins diabetes] \
        [--seeds 5] [--train-steps N] [--eval-steps N] [--batch-size N] \
        [--hyperparameters JSON] [--json PATH] [--readme] [--check]

--readme keeps the JSON as benchmarks/results/model_comparison.json and writes the tables into
benchmarks/README.md between their markers (benchmarks/readme_tables.py); --check only says
whether the README's tables are the kept JSON's.
"""
import argparse
import dataclasses
import datetime
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from benchmarks import plain_model as P  # noqa: E402
from benchmarks import readme_tables  # noqa: E402
from tabflow import contract  # noqa: E402
from tabflow import dataset as dataset_lib  # noqa: E402

# Every dataset folder the project ships (data/<name>/dataset.yaml).
SHIPPED = tuple(sorted(p.parent.name for p in (PROJECT_ROOT / "data").glob("*/dataset.yaml")))
RESULTS_FILE = PROJECT_ROOT / "benchmarks" / "results" / "model_comparison.json"
PLAIN, PIPELINE, ABLATION = "plain", "pipeline", "ablation"
MODELS = (PLAIN, PIPELINE, ABLATION)
SPLITS = (contract.EVAL_SPLIT, contract.TEST_SPLIT)
DIFFERENCES = ((PIPELINE, PLAIN), (PIPELINE, ABLATION))
SPAN_FOLDER = re.compile(r"span-(0|[1-9][0-9]*)$")
RECORD_FILE = "data_tfrecord-00000-of-00001.gz"
TIME = "time"


def diff_name(a: str, b: str) -> str:
    return f"{a} - {b}"


# --- data -----------------------------------------------------------------------------------

def span_files(data_root: str) -> List[Tuple[int, List[Path]]]:
    """[(span, its CSV files)] of every `span-<N>` folder under data_root, oldest first."""
    out = []
    root = Path(data_root)
    for folder in sorted(root.glob("span-*")) if root.is_dir() else []:
        match = SPAN_FOLDER.match(folder.name)
        files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
        if match and files:
            out.append((int(match.group(1)), files))
    return sorted(out)


def read_rows(ds: P.Dataset):
    """(rows of every span as one frame, the span of each row): the curated schema's columns
    in its types (numbers as floats with NaN, text as objects with None; only an empty cell is
    missing, as CsvExampleGen reads it)."""
    import numpy as np
    import pandas as pd
    spans = span_files(ds.spec.data_root)
    if not spans:
        raise P.SettingError(f"dataset {ds.name}: no span-<N>/*.csv under {ds.spec.data_root}")
    frames, span_of = [], []
    for span, files in spans:
        for path in files:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
            frame = pd.DataFrame(index=range(len(raw)))
            for column, kind in ds.kinds.items():
                values = raw[column] if column in raw else pd.Series([None] * len(raw))
                if kind == P.TEXT:
                    frame[column] = values.astype(object).where(values.notna(), None)
                else:
                    frame[column] = pd.to_numeric(values, errors="raise").astype(float)
            frames.append(frame)
            span_of.append(np.full(len(frame), span))
    return pd.concat(frames, ignore_index=True), np.concatenate(span_of)


@dataclasses.dataclass
class Fold:
    name: str  # "seed 0" or "time"
    kind: str  # "seed" or TIME
    seed: int
    train: Any  # row indices
    eval: Any
    test: Any

    def rows(self) -> Dict[str, int]:
        return {"train": len(self.train), "eval": len(self.eval), "test": len(self.test)}


def split_sizes(n: int, splits: Dict[str, int]) -> Tuple[int, int, int]:
    """(train, eval, test) row counts of n rows in the ratios of `splits`."""
    total = sum(splits.values())
    n_eval = int(round(n * splits["eval"] / total))
    n_test = int(round(n * splits["test"] / total))
    return n - n_eval - n_test, n_eval, n_test


def random_fold(n: int, splits: Dict[str, int], seed: int) -> Fold:
    import numpy as np
    order = np.random.RandomState(seed).permutation(n)
    n_train, n_eval, _ = split_sizes(n, splits)
    return Fold(f"seed {seed}", "seed", seed, np.sort(order[:n_train]),
                np.sort(order[n_train:n_train + n_eval]), np.sort(order[n_train + n_eval:]))


def time_fold(span_of, splits: Dict[str, int], seed: int = 0) -> Tuple[Optional[Fold], str]:
    """(the time split, a description), or (None, why there is none): test = the last span,
    train and eval = the earlier spans, eval a seeded share in the spec's eval ratio."""
    import numpy as np
    spans = sorted(set(int(s) for s in span_of))
    if len(spans) < 2:
        return None, (f"not available: the dataset has {len(spans)} span; a time split needs "
                      "2 or more (train on the earlier, test on the last)")
    last = spans[-1]
    test = np.flatnonzero(span_of == last)
    earlier = np.flatnonzero(span_of != last)
    earlier = earlier[np.random.RandomState(seed).permutation(len(earlier))]
    n_eval = int(round(len(earlier) * splits["eval"] / (splits["train"] + splits["eval"])))
    fold = Fold(TIME, TIME, seed, np.sort(earlier[n_eval:]), np.sort(earlier[:n_eval]), test)
    return fold, f"train and eval from spans {spans[0]}-{spans[-2]}, test span {last}"


def serialize_rows(frame, kinds: Dict[str, str]) -> List[bytes]:
    """Each row as a serialized tf.train.Example of the schema's columns: ints as int64, floats
    as float, text as bytes; a missing value is the feature with no value, as CsvExampleGen
    writes an empty cell."""
    import tensorflow as tf
    columns = [(c, k, frame[c].tolist()) for c, k in kinds.items()]
    out = []
    for i in range(len(frame)):
        feature = {}
        for column, kind, values in columns:
            value = values[i]
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            if kind == P.TEXT:
                feature[column] = tf.train.Feature(bytes_list=tf.train.BytesList(
                    value=[] if missing else [str(value).encode("utf-8")]))
            elif kind == P.INT:
                feature[column] = tf.train.Feature(int64_list=tf.train.Int64List(
                    value=[] if missing else [int(value)]))
            else:
                feature[column] = tf.train.Feature(float_list=tf.train.FloatList(
                    value=[] if missing else [float(value)]))
        out.append(tf.train.Example(features=tf.train.Features(feature=feature))
                   .SerializeToString(deterministic=True))
    return out


def write_split(records: Sequence[bytes], examples_dir: Path, split: str) -> Path:
    import tensorflow as tf
    folder = examples_dir / f"{contract.SPLIT_PREFIX}{split}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RECORD_FILE
    with tf.io.TFRecordWriter(str(path), options="GZIP") as writer:
        for record in records:
            writer.write(record)
    return path


def read_records(path: Path) -> List[bytes]:
    import tensorflow as tf
    return [r.numpy() for r in tf.data.TFRecordDataset(str(path), compression_type="GZIP")]


# --- the pipeline's model -------------------------------------------------------------------

def ablation_hooks(hooks_path: str, folder: Path) -> str:
    """A hooks file that re-exports only the label functions of the hooks at `hooks_path`:
    the pipeline's model without the dataset's derived inputs."""
    path = folder / "hooks_without_derived_inputs.py"
    path.write_text(
        '"""The hooks of {0}, its derived inputs left out (benchmarks/model_comparison.py)."""\n'
        "from modules import hooks as _hooks\n\n"
        "_base = _hooks.load({0!r})\n"
        "for _name in ('label', 'label_from_raw'):\n"
        "    if hasattr(_base, _name):\n"
        "        globals()[_name] = getattr(_base, _name)\n".format(os.path.abspath(hooks_path)))
    return str(path)


def analyze(plan: dict, schema, train_file: Path, out_dir: Path, temp_dir: Path) -> Path:
    """modules/transform.py's preprocessing_fn analysed on the train split, as TFX Transform
    runs it in the pipeline (TFXIO source, force_tf_compat_v1, the in-process DirectRunner):
    a transform output folder (transform_fn, transformed_metadata, metadata)."""
    import functools

    import apache_beam as beam
    import tensorflow_transform.beam as tft_beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io
    from tfx.components.util import tfxio_utils
    from tfx.proto import example_gen_pb2

    from modules.transform import preprocessing_fn
    fn = functools.partial(preprocessing_fn, custom_config={"plan": plan})
    tfxio = tfxio_utils.make_tfxio(
        file_pattern=str(train_file), telemetry_descriptors=["ModelComparison"],
        payload_format=example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE, schema=schema)
    options = PipelineOptions(["--runner=DirectRunner", "--direct_running_mode=in_memory",
                               "--direct_num_workers=1"])
    with beam.Pipeline(options=options) as pipeline:
        with tft_beam.Context(temp_dir=str(temp_dir), force_tf_compat_v1=True):
            raw = pipeline | "Read" >> tfxio.BeamSource()
            transform_fn = ((raw, tfxio.TensorAdapterConfig())
                            | "Analyze" >> tft_beam.AnalyzeDataset(fn))
            _ = transform_fn | "Write" >> tft_beam.WriteTransformFn(str(out_dir))
    metadata_io.write_metadata(dataset_metadata.DatasetMetadata(schema),
                               str(out_dir / "metadata"))
    return out_dir


def hyperparameters_config(values: Optional[Dict[str, Any]]):
    """keras_tuner's config of fixed `values` (what the Trainer reads from a Tuner), or None
    for modules/model.py's DEFAULT_HPARAMS."""
    if not values:
        return None
    import keras_tuner
    hp = keras_tuner.HyperParameters()
    for name, value in values.items():
        hp.Fixed(name, value)
    return hp.get_config()


def train_pipeline_model(plan: dict, examples_dir: Path, transform_dir: Path, folder: Path,
                         train_steps: int, eval_steps: int, batch_size: int, seed: int,
                         hyperparameters: Optional[Dict[str, Any]] = None) -> Path:
    """modules/trainer.py's run_fn with the FnArgs TFX's Trainer executor would build: train
    and eval files, a DataAccessor over them, the transform output, the custom config.
    Returns the serving model folder."""
    from tfx.components.trainer import fn_args_utils
    from tfx.components.util import examples_utils
    from tfx.proto import example_gen_pb2, trainer_pb2
    from tfx.types import artifact_utils, standard_artifacts
    from tfx.types import standard_component_specs as specs
    from tfx.utils import json_utils, proto_utils

    from modules.trainer import run_fn
    examples = standard_artifacts.Examples()
    examples.uri = str(examples_dir)
    examples.split_names = artifact_utils.encode_split_names(
        [contract.TRAIN_SPLIT, contract.EVAL_SPLIT])
    examples_utils.set_payload_format(examples,
                                      example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)
    graph = standard_artifacts.TransformGraph()
    graph.uri = str(transform_dir)
    exec_properties = {
        specs.TRAIN_ARGS_KEY: proto_utils.proto_to_json(trainer_pb2.TrainArgs(
            splits=[contract.TRAIN_SPLIT], num_steps=train_steps)),
        specs.EVAL_ARGS_KEY: proto_utils.proto_to_json(trainer_pb2.EvalArgs(
            splits=[contract.EVAL_SPLIT], num_steps=eval_steps)),
        specs.CUSTOM_CONFIG_KEY: json_utils.dumps(
            {"plan": plan, "batch_size": batch_size, "seed": seed}),
    }
    fn_args = fn_args_utils.get_common_fn_args(
        {specs.EXAMPLES_KEY: [examples], specs.TRANSFORM_GRAPH_KEY: [graph]}, exec_properties)
    fn_args.transform_output = fn_args.transform_graph_path
    fn_args.serving_model_dir = str(folder / "model" / "Format-Serving")
    fn_args.model_run_dir = str(folder / "model_run")
    fn_args.hyperparameters = hyperparameters_config(hyperparameters)
    run_fn(fn_args)
    return Path(fn_args.serving_model_dir)


def serve(model_dir: Path, records: Sequence[bytes], problem_type: str):
    """The exported model's serving_default signature on serialized examples: the positive
    class's probability, every class's probability or the value, per row."""
    import numpy as np
    import tensorflow as tf
    signature = tf.saved_model.load(str(model_dir)).signatures["serving_default"]
    parts = [signature(examples=tf.constant(list(records[i:i + P.PREDICT_BATCH])))["outputs"]
             .numpy() for i in range(0, len(records), P.PREDICT_BATCH)]
    out = np.concatenate(parts) if parts else np.zeros((0, 1))
    return out if problem_type == dataset_lib.MULTICLASS else out.reshape(-1)


# --- one fold -------------------------------------------------------------------------------

@dataclasses.dataclass
class Settings:
    train_steps: int
    eval_steps: int
    batch_size: int
    hyperparameters: Optional[Dict[str, Any]] = None


def fold_seed(fold: Fold) -> int:
    """The training seed of a fold, the same for every model in it."""
    return P.DEFAULT_SEED + fold.seed


def run_fold(ds: P.Dataset, frame, records: List[bytes], fold: Fold,
             slices: Sequence[Tuple[str, str]], settings: Settings, work: Path,
             models: Sequence[str] = MODELS) -> Dict[str, Any]:
    """Trains every model on the fold's train rows and scores it on its eval and test rows;
    {"fold", "rows", "seconds", "models": {model: {split: {slice: metrics}}}}. The pipeline's
    side is scored on the records read back from the TFRecord files it was given: their rows
    must be the plain side's, slice by slice and row by row (RowMismatch otherwise)."""
    import tensorflow as tf
    part = {contract.TRAIN_SPLIT: fold.train, contract.EVAL_SPLIT: fold.eval,
            contract.TEST_SPLIT: fold.test}
    frames = {split: frame.iloc[rows].reset_index(drop=True) for split, rows in part.items()}
    labels = {split: P.labels_of(frames[split], ds) for split in SPLITS}
    examples_dir = work / "examples"
    files = {split: write_split([records[i] for i in rows], examples_dir, split)
             for split, rows in part.items()}
    seed = fold_seed(fold)
    out: Dict[str, Any] = {"fold": fold.name, "kind": fold.kind, "seed": fold.seed,
                           "training_seed": seed, "rows": fold.rows(), "seconds": {},
                           "models": {}}

    started = time.time()
    predictions = P.fit_predict(frames[contract.TRAIN_SPLIT], [frames[s] for s in SPLITS], ds,
                                settings.train_steps, settings.batch_size, seed)
    out["models"][PLAIN] = {split: P.score_slices(frames[split], labels[split], p,
                                                  ds.problem_type, slices)
                            for split, p in zip(SPLITS, predictions)}
    out["seconds"][PLAIN] = round(time.time() - started, 1)
    tf.keras.backend.clear_session()

    # The rows the pipeline's side reads: the records as written, decoded again.
    served = {split: read_records(files[split]) for split in SPLITS}
    for split in SPLITS:
        back = P.frame_of_records(served[split], ds)
        P.check_same_rows(
            {name: int(mask.sum()) for name, mask in P.slice_masks(frames[split], slices).items()},
            {name: int(mask.sum()) for name, mask in P.slice_masks(back, slices).items()},
            P.row_digests(frames[split], ds.kinds), P.row_digests(back, ds.kinds))

    for model in [m for m in (PIPELINE, ABLATION) if m in models]:
        if model == ABLATION and not has_derived_inputs(ds):
            continue
        started = time.time()
        plan = dict(ds.plan)
        folder = work / model
        folder.mkdir(parents=True, exist_ok=True)
        if model == ABLATION:
            plan["hooks"] = ablation_hooks(ds.spec.hooks, folder)
        transform_dir = analyze(plan, ds.schema, files[contract.TRAIN_SPLIT],
                                folder / "transform_graph", folder / "tft_tmp")
        model_dir = train_pipeline_model(plan, examples_dir, transform_dir, folder,
                                         settings.train_steps, settings.eval_steps,
                                         settings.batch_size, seed, settings.hyperparameters)
        out["models"][model] = {
            split: P.score_slices(frames[split], labels[split],
                                  serve(model_dir, served[split], ds.problem_type),
                                  ds.problem_type, slices) for split in SPLITS}
        out["seconds"][model] = round(time.time() - started, 1)
        tf.keras.backend.clear_session()
        shutil.rmtree(folder, ignore_errors=True)
    return out


def has_derived_inputs(ds: P.Dataset) -> bool:
    return ds.hooks is not None and hasattr(ds.hooks, "derived_features")


# --- summaries ------------------------------------------------------------------------------

def spread(values: Sequence[Optional[float]]) -> Dict[str, Any]:
    """mean, sample standard deviation, min and max of the values that exist."""
    present = [float(v) for v in values if v is not None]
    if not present:
        return {"n": 0, "mean": None, "sd": None, "min": None, "max": None}
    return {"n": len(present), "mean": statistics.fmean(present),
            "sd": statistics.stdev(present) if len(present) > 1 else None,
            "min": min(present), "max": max(present)}


def summarize(folds: List[Dict[str, Any]], headline: str, higher_is_better: bool,
              slices: Sequence[str]) -> Dict[str, Any]:
    """Per model, split and slice: the headline's spread over the seeded folds and its time
    split value; per pair (pipeline - plain, pipeline - ablation): the paired differences'
    spread, how many folds the first won, and the time split's difference."""
    seeded = [f for f in folds if f["kind"] != TIME]
    timed = next((f for f in folds if f["kind"] == TIME), None)

    def value(fold, model, split, name):
        return fold["models"].get(model, {}).get(split, {}).get(name, {}).get(headline)

    present = [m for m in MODELS if any(m in f["models"] for f in folds)]
    models: Dict[str, Any] = {}
    for model in present:
        models[model] = {split: {name: {
            **spread([value(f, model, split, name) for f in seeded]),
            TIME: value(timed, model, split, name) if timed else None,
            "examples": spread([f["models"][model][split].get(name, {}).get("examples")
                                for f in seeded])["mean"]}
            for name in slices} for split in SPLITS}
    differences: Dict[str, Any] = {}
    for a, b in DIFFERENCES:
        if a not in present or b not in present:
            continue
        per_split = {}
        for split in SPLITS:
            per_slice = {}
            for name in slices:
                pairs = [(value(f, a, split, name), value(f, b, split, name)) for f in seeded]
                diffs = [x - y for x, y in pairs if x is not None and y is not None]
                wins = sum(1 for d in diffs if (d > 0 if higher_is_better else d < 0))
                time_diff = None
                if timed:
                    x, y = value(timed, a, split, name), value(timed, b, split, name)
                    time_diff = None if x is None or y is None else x - y
                per_slice[name] = {**spread(diffs), "wins": wins, TIME: time_diff}
            per_split[split] = per_slice
        differences[diff_name(a, b)] = per_split
    return {"models": models, "differences": differences}


# --- one dataset ----------------------------------------------------------------------------

def compare_dataset(name: str, seeds: int, settings: Settings, work_root: Path,
                    models: Sequence[str] = MODELS, log=print) -> Dict[str, Any]:
    ds = P.load_dataset(name)
    frame, span_of = read_rows(ds)
    splits = dict(ds.spec.splits)
    test_share = splits["test"] / sum(splits.values())
    slice_keys = P.eligible_slices(frame, ds.spec, share=test_share)
    slices = [P.OVERALL] + [P.slice_name(c, v) for c, v in slice_keys]
    folds = [random_fold(len(frame), splits, seed) for seed in range(seeds)]
    timed, time_note = time_fold(span_of, splits)
    if timed is not None:
        folds.append(timed)
    records = serialize_rows(frame, ds.kinds)
    wanted = [m for m in models if m != ABLATION or has_derived_inputs(ds)]
    log(f"\n=== {ds.name} ({ds.problem_type}, headline {ds.spec.headline.title}): "
        f"{len(frame):,} rows in {len(set(span_of.tolist()))} span(s); {len(folds)} folds; "
        f"models {', '.join(wanted)}; time split {time_note}", flush=True)
    results = []
    for fold in folds:
        work = work_root / ds.name / fold.name.replace(" ", "-")
        started = time.time()
        result = run_fold(ds, frame, records, fold, slice_keys, settings, work, wanted)
        shutil.rmtree(work, ignore_errors=True)
        result["seconds"]["fold"] = round(time.time() - started, 1)
        results.append(result)
        overall = {m: result["models"][m][contract.TEST_SPLIT][P.OVERALL].get(ds.headline)
                   for m in result["models"]}
        log(f"  {fold.name:<7} rows {result['rows']}  test {ds.spec.headline.title} "
            + ", ".join(f"{m} {_num(v)}" for m, v in overall.items())
            + f"  ({result['seconds']['fold']:.0f} s)", flush=True)
    return {
        "dataset": ds.name, "folder": os.path.relpath(ds.spec.folder, PROJECT_ROOT),
        "problem_type": ds.problem_type, "headline": ds.headline,
        "headline_title": ds.spec.headline.title,
        "higher_is_better": ds.spec.headline.higher_is_better,
        "rows": len(frame), "spans": sorted(set(int(s) for s in span_of)),
        "splits": splits, "seeds": seeds, "time_split": time_note,
        "derived_inputs": sorted(ds.hooks.derived_sizes()) if has_derived_inputs(ds)
        and hasattr(ds.hooks, "derived_sizes") else [],
        "models": wanted, "slices": slices, "gated_slices": len(ds.spec.gated_slices),
        "summary": summarize(results, ds.headline, ds.spec.headline.higher_is_better, slices),
        "folds": results,
    }


# --- report ---------------------------------------------------------------------------------

def _num(value: Optional[float], digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_dataset(result: Dict[str, Any]) -> None:
    print("\n" + "\n".join(readme_tables.model_comparison_dataset_lines(result, full=True)))


def rounded(value, digits: int = 6):
    """`value` with every float rounded to `digits` decimals (the JSON stays readable)."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    return value


def parse_args(argv=None) -> argparse.Namespace:
    from tabflow.config import from_sources
    training = from_sources().training
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", nargs="+", default=list(SHIPPED),
                   help="dataset names or folders (default: every shipped dataset)")
    p.add_argument("--seeds", type=int, default=5, help="seeded random folds (default 5)")
    p.add_argument("--train-steps", type=int, default=training.train_steps,
                   help=f"both sides (default: the config's, {training.train_steps})")
    p.add_argument("--eval-steps", type=int, default=training.eval_steps,
                   help=f"the pipeline's validation steps (default {training.eval_steps})")
    p.add_argument("--batch-size", type=int, default=training.batch_size,
                   help=f"both sides (default: the config's, {training.batch_size})")
    p.add_argument("--hyperparameters", help="JSON of the pipeline model's hyperparameters "
                   "(default: modules/model.py DEFAULT_HPARAMS)")
    p.add_argument("--work-dir", help="temporary folders (default: the system's)")
    p.add_argument("--json", help=f"results file (default "
                   f"{RESULTS_FILE.relative_to(PROJECT_ROOT)})")
    p.add_argument("--readme", action="store_true",
                   help="keep the results beside benchmarks/README.md and write its tables")
    p.add_argument("--check", action="store_true",
                   help="only say whether benchmarks/README.md's tables are the kept JSON's")
    args = p.parse_args(argv)
    if args.seeds < 1:
        p.error("--seeds must be at least 1")
    for name in ("train_steps", "eval_steps", "batch_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.hyperparameters:
        try:
            args.hyperparameters = json.loads(args.hyperparameters)
        except json.JSONDecodeError as e:
            p.error(f"--hyperparameters: not JSON: {e}")
        if not isinstance(args.hyperparameters, dict):
            p.error("--hyperparameters: a JSON object of name: value")
    return args


def command_line(args: argparse.Namespace) -> str:
    parts = [".venv/bin/python benchmarks/model_comparison.py",
             "--dataset " + " ".join(args.dataset), f"--seeds {args.seeds}",
             f"--train-steps {args.train_steps}", f"--eval-steps {args.eval_steps}",
             f"--batch-size {args.batch_size}"]
    if args.hyperparameters:
        parts.append(f"--hyperparameters '{json.dumps(args.hyperparameters)}'")
    return " ".join(parts + (["--readme"] if args.readme else []))


def quiet_libraries() -> None:
    """TensorFlow, Transform and Beam log warnings by the screenful; this script's output is
    its table."""
    import logging
    import warnings
    warnings.filterwarnings("ignore")
    for name in ("tensorflow", "absl", "apache_beam"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv=None) -> int:
    args = parse_args(argv)
    quiet_libraries()
    if args.check:
        return readme_tables.check_region("model_comparison")
    try:
        for name in args.dataset:
            P.load_dataset(name)  # every setting checked before anything trains
    except P.SettingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    settings = Settings(args.train_steps, args.eval_steps, args.batch_size,
                        args.hyperparameters)
    started = time.time()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    load = os.getloadavg()
    datasets = []
    work_parent = args.work_dir or None
    if work_parent:
        os.makedirs(work_parent, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="model-comparison-", dir=work_parent) as work:
        try:
            for name in args.dataset:
                result = compare_dataset(name, args.seeds, settings, Path(work))
                print_dataset(result)
                datasets.append(result)
        except (P.SettingError, P.RowMismatch) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2 if isinstance(e, P.SettingError) else 1
    results = {
        "started": stamp, "commit": readme_tables.commit(), "command": command_line(args),
        "machine": {"nproc": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "load_average_at_start": list(load)},
        "settings": {"seeds": args.seeds, "train_steps": args.train_steps,
                     "eval_steps": args.eval_steps, "batch_size": args.batch_size,
                     "hyperparameters": args.hyperparameters or "DEFAULT_HPARAMS",
                     "min_slice_rows": P.MIN_SLICE_ROWS},
        "seconds": round(time.time() - started, 1),
        "datasets": datasets,
    }
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    target = Path(args.json) if args.json else RESULTS_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(rounded(results), indent=1) + "\n")
    print(f"\nwrote {target} ({results['seconds']:.0f} s)")
    if args.readme:
        if target.resolve() != RESULTS_FILE.resolve():
            shutil.copyfile(target, RESULTS_FILE)
        readme_tables.write_model_comparison()
        print(f"kept {RESULTS_FILE.relative_to(PROJECT_ROOT)} and wrote "
              f"{readme_tables.README.relative_to(PROJECT_ROOT)}'s model-comparison tables")
    return 0


if __name__ == "__main__":
    sys.exit(main())
