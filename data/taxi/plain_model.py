"""Model quality: a plain pandas + tf-keras script against the pipeline's blessed model, on the
pipeline's own splits.

The plain script trains on exactly the rows of the pipeline's train split and is scored on
exactly the rows of its test split, both read from the Examples artifact CsvExampleGen wrote
(found through MLMD, or given with --examples-uri). The pipeline's model is scored from its
Evaluator output (TFMA evaluates the test split, sliced by payment_type), so both sides are
judged on the same rows: overall, and within payment_type == "Credit Card", where tips are
actually recorded and a model has to do more than recognise the payment type.

    .venv/bin/python data/taxi/plain_model.py --output-root outputs
    .venv/bin/python data/taxi/plain_model.py --examples-uri <Examples artifact folder> \
        --evaluation-uri <ModelEvaluation artifact folder>

Prints a table and writes JSON (--json, default <output-root>/model_quality.json).
"""
import argparse
import glob
import json
import os
import sys
import time
from pathlib import Path
from typing import List, Optional

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project root

from tabflow import contract  # noqa: E402

LABEL = "big_tipper"
SLICE_COLUMN = "payment_type"
SLICE_VALUE = "Credit Card"
# The plain script's inputs: every numeric column but the label's source and the identifiers,
# scaled; payment type and company one-hot.
NUMERIC = ["trip_miles", "fare", "trip_seconds", "trip_start_hour", "trip_start_day",
           "trip_start_month", "pickup_community_area", "dropoff_community_area",
           "pickup_latitude", "pickup_longitude", "dropoff_latitude", "dropoff_longitude"]
CATEGORICAL = ["payment_type", "company"]


# --- finding the artifacts ------------------------------------------------------------------

def _store(output_root: str):
    from tabflow.metadata.store import open_store
    from tabflow.config import from_sources
    return open_store(from_sources(output_root=output_root).store)


def find_examples_uri(output_root: str, pipeline_name: str) -> str:
    from tabflow.metadata.runs import latest_output
    artifact = latest_output(_store(output_root), pipeline_name, contract.EXAMPLE_GEN,
                             contract.EXAMPLES_KEY)
    if artifact is None:
        raise SystemExit(f"no {contract.EXAMPLE_GEN} examples in the MLMD store of {output_root}:"
                         f" run the pipeline first or pass --examples-uri")
    return artifact.uri


def find_blessed_evaluation(output_root: str, pipeline_name: str) -> Optional[dict]:
    """The newest run's Evaluator output whose blessing says blessed: {"uri", "model_uri",
    "model_id"}, or None."""
    from tabflow.metadata import runs
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
        return {"uri": evaluation.uri, "model_uri": model.uri if model else None,
                "model_id": model_id}
    return None


# --- reading examples -----------------------------------------------------------------------

def read_split(examples_uri: str, split: str):
    """The rows of one split of an Examples artifact (gzipped TFRecords of tf.train.Example)."""
    import numpy as np
    import pandas as pd
    import tensorflow as tf
    files = sorted(glob.glob(os.path.join(examples_uri, contract.SPLIT_PREFIX + split, "*")))
    if not files:
        raise SystemExit(f"no files for split {split!r} under {examples_uri}")
    rows: List[dict] = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        example = tf.train.Example.FromString(record.numpy())
        row = {}
        for name, feature in example.features.feature.items():
            kind = feature.WhichOneof("kind")
            values = getattr(feature, kind).value if kind else []
            if len(values):
                value = values[0]
                row[name] = value.decode("utf-8") if isinstance(value, bytes) else value
        rows.append(row)
    frame = pd.DataFrame(rows)
    # The pipeline's label (modules/transform.py), in float32 as TensorFlow computes it: tips of
    # exactly 20% fall on either side of the line depending on the precision.
    fare = frame["fare"].fillna(0).astype("float32")
    tips = frame["tips"].fillna(0).astype("float32")
    frame[LABEL] = ((fare > 0) & (tips > np.float32(0.2) * fare)).astype("int64")
    return frame


# --- the plain script ------------------------------------------------------------------------

def _design(train, frames):
    """Scaled numerics (missing: the train mean) and one-hot categories learned on train."""
    import numpy as np
    import pandas as pd
    means = {c: train[c].astype(float).mean() for c in NUMERIC}
    stds = {c: (train[c].astype(float).std() or 1.0) for c in NUMERIC}
    levels = {c: sorted(train[c].fillna("").astype(str).unique()) for c in CATEGORICAL}
    out = []
    for frame in frames:
        parts = [((frame[c].astype(float).fillna(means[c]) - means[c]) / stds[c]).to_frame(c)
                 for c in NUMERIC]
        for c in CATEGORICAL:
            values = pd.Categorical(frame[c].fillna("").astype(str), categories=levels[c])
            parts.append(pd.get_dummies(values, prefix=c).set_index(frame.index))
        out.append(pd.concat(parts, axis=1).to_numpy(dtype=np.float32))
    return out


def train_plain(train, test, steps: int, batch_size: int, seed: int):
    """A 64-32 DNN, `steps` steps of `batch_size`; returns the test predictions."""
    import numpy as np
    import tensorflow as tf
    x_train, x_test = _design(train, [train, test])
    y_train = train[LABEL].to_numpy(dtype=np.float32)
    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.Sequential([
        tf.keras.layers.Input(shape=(x_train.shape[1],)),
        tf.keras.layers.Dense(64, activation="relu"),
        tf.keras.layers.Dense(32, activation="relu"),
        tf.keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    data = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
            .shuffle(len(y_train), seed=seed).repeat().batch(batch_size))
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    return model.predict(x_test, batch_size=1024, verbose=0).reshape(-1)


def auc(labels, scores) -> Optional[float]:
    """ROC AUC (ties count half); None when one class is absent."""
    import numpy as np
    from scipy.stats import rankdata
    labels = np.asarray(labels)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if not positives or not negatives:
        return None
    ranks = rankdata(scores)
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2)
                 / (positives * negatives))


def scores_of(frame, predictions) -> dict:
    import numpy as np
    out = {}
    for name, mask in (("overall", np.ones(len(frame), bool)),
                       (SLICE_VALUE, (frame[SLICE_COLUMN] == SLICE_VALUE).to_numpy())):
        labels = frame[LABEL].to_numpy()[mask]
        scores = predictions[mask]
        out[name] = {"auc": auc(labels, scores),
                     "accuracy": float(((scores > 0.5) == (labels == 1)).mean()),
                     "examples": int(mask.sum()),
                     "mean_label": float(labels.mean())}
    return out


# --- the pipeline's model, from its TFMA evaluation ------------------------------------------

def pipeline_scores(evaluation_uri: str) -> dict:
    from tabflow.artifacts import evaluation as E
    out = {}
    for entry in E.metrics_by_slice(evaluation_uri):
        if entry["slice"] is E.OVERALL:
            name = "overall"
        elif entry["slice"] == (SLICE_COLUMN, SLICE_VALUE):
            name = SLICE_VALUE
        else:
            continue
        m = entry["metrics"]["candidate"]
        count = m.get("example_count")
        out[name] = {"auc": m.get("auc"), "accuracy": m.get("binary_accuracy"),
                     "examples": int(count) if count is not None else None,
                     "mean_label": m.get("mean_label")}
    return out


def _fmt(value) -> str:
    return "-" if value is None else (f"{value:.4f}" if isinstance(value, float) else str(value))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-root", default="outputs",
                        help="the pipeline's output root (its MLMD store names the artifacts)")
    parser.add_argument("--pipeline-name", default="taxi")
    parser.add_argument("--examples-uri", help="an Examples artifact folder (Split-train, "
                        "Split-test); default: the newest CsvExampleGen output")
    parser.add_argument("--evaluation-uri", help="a ModelEvaluation artifact folder; default: "
                        "the newest evaluation of a blessed model")
    parser.add_argument("--train-steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=40)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", help="where to write the results "
                        "(default <output-root>/model_quality.json)")
    args = parser.parse_args(argv)

    examples_uri = args.examples_uri or find_examples_uri(args.output_root, args.pipeline_name)
    evaluation = ({"uri": args.evaluation_uri, "model_uri": None, "model_id": None}
                  if args.evaluation_uri else
                  (find_blessed_evaluation(args.output_root, args.pipeline_name)
                   if os.path.exists(os.path.join(args.output_root, "metadata.sqlite"))
                   else None))

    started = time.time()
    train = read_split(examples_uri, contract.TRAIN_SPLIT)
    test = read_split(examples_uri, contract.TEST_SPLIT)
    predictions = train_plain(train, test, args.train_steps, args.batch_size, args.seed)
    results = {
        "examples_uri": examples_uri,
        "train_rows": len(train), "test_rows": len(test),
        "settings": {"train_steps": args.train_steps, "batch_size": args.batch_size,
                     "seed": args.seed},
        "plain_script": scores_of(test, predictions),
        "plain_script_seconds": round(time.time() - started, 1),
        "pipeline_model": None,
    }
    if evaluation:
        results["pipeline_model"] = {"evaluation_uri": evaluation["uri"],
                                     "model_uri": evaluation["model_uri"],
                                     **pipeline_scores(evaluation["uri"])}

    print(f"train rows {len(train)}, test rows {len(test)} ({examples_uri})")
    print(f"{'model':<16} {'slice':<12} {'AUC':>8} {'accuracy':>9} {'rows':>6} {'mean label':>11}")
    for model, scores in (("plain script", results["plain_script"]),
                          ("pipeline", results["pipeline_model"] or {})):
        for name in ("overall", SLICE_VALUE):
            s = scores.get(name)
            if s:
                print(f"{model:<16} {name:<12} {_fmt(s['auc']):>8} {_fmt(s['accuracy']):>9} "
                      f"{_fmt(s['examples']):>6} {_fmt(s['mean_label']):>11}")
    if not evaluation:
        print("no evaluation of a blessed model found: pipeline side not reported")
    target = args.json or os.path.join(args.output_root, "model_quality.json")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(json.dumps(results, indent=2))
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
