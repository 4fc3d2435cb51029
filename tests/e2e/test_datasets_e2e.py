"""The generic core on datasets other than the taxi, end to end on LocalDagRunner: the Palmer
penguins (multiclass), scikit-learn's diabetes data (regression), and a CSV the project does not
ship (scikit-learn's breast cancer data, string labels) made into a dataset by `init`.

Each runs in a store of its own through Pusher; the assertions read MLMD (executions, the
pushed model, its lineage back to the span) and the review the report renders.
"""
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tabflow import dataset
from tabflow.config import PROJECT_ROOT, PipelineConfig
from tests.support.pipeline_runs import COMPONENTS, RESOLVERS, snapshot

pytestmark = pytest.mark.e2e

# Small datasets: a few hundred rows train in a few hundred steps.
SMALL = dict(train_steps=300, eval_steps=20, batch_size=32, tuner_trials=1,
             tuner_train_steps=40, tuner_eval_steps=5)


def _run(folder: Path, output_root: Path):
    from runners import local_runner
    config = PipelineConfig.from_flat(output_root=str(output_root), dataset=str(folder), **SMALL)
    return config, snapshot(config, local_runner.run(config))


def _cli(config, capsys, *args) -> dict:
    from tabflow.console.main import main
    capsys.readouterr()
    code = main([*args, "--output-root", config.output_root,
                 "--pipeline-name", config.pipeline_name, "--json"])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def _check_run(config, snap, capsys) -> dict:
    """Every component executed once and the blessed model was pushed; the pushed model traces
    back to the span's examples, the curated schema and the hyperparameters; returns the trace."""
    by_node = snap.by_node()
    assert sorted(set(by_node) - RESOLVERS) == sorted(COMPONENTS)
    states = {node: records[0].state for node, records in by_node.items()
              if node not in RESOLVERS}
    assert set(states.values()) == {"COMPLETE"}, states
    assert snap.result.pushed, "the blessed model was not pushed"
    pushed = by_node["Pusher"][0].outputs["pushed_model"][0]
    assert pushed.custom_properties["pushed"].int_value == 1
    trace = _cli(config, capsys, "lineage", "trace", "latest-pushed")
    assert trace["model"]["id"] == by_node["Trainer"][0].outputs["model"][0].id
    assert trace["data"]["id"] == by_node["CsvExampleGen"][0].outputs["examples"][0].id
    assert trace["schema"]["curated"]["id"] == by_node["ImportSchemaGen"][0].outputs["schema"][0].id
    assert trace["blessing"]["blessed"] is True
    assert trace["provenance"]["dataset"]["name"] == config.pipeline_name
    return trace


def _report(config, snap, capsys, tmp_path) -> str:
    """The HTML review `report` writes for the run, through the console."""
    from tabflow.console.main import main
    path = tmp_path / "review.html"
    assert main(["report", snap.run_id, "--output", str(path), "--output-root",
                 config.output_root, "--pipeline-name", config.pipeline_name]) == 0
    capsys.readouterr()
    return path.read_text()


def test_penguins_multiclass_end_to_end(tmp_path, capsys):
    folder = PROJECT_ROOT / "data" / "penguins"
    spec = dataset.load(folder)
    assert spec.problem_type == "multiclass" and len(spec.classes) == 3
    config, snap = _run(folder, tmp_path / "out")
    trace = _check_run(config, snap, capsys)
    metrics = trace["evaluation"]["metrics"]["candidate"]
    assert metrics["accuracy"] >= spec.threshold
    # One recall per class, beside the overall accuracy.
    assert sum(1 for name in metrics if name.startswith("recall")) == len(spec.classes)
    html = _report(config, snap, capsys, tmp_path)
    assert "accuracy" in html and all(name in html for name in spec.classes)


def test_diabetes_regression_end_to_end(tmp_path, capsys):
    folder = PROJECT_ROOT / "data" / "diabetes"
    spec = dataset.load(folder)
    assert spec.problem_type == "regression"
    config, snap = _run(folder, tmp_path / "out")
    trace = _check_run(config, snap, capsys)
    metrics = trace["evaluation"]["metrics"]["candidate"]
    # Lower is better: blessed means under the spec's largest RMSE.
    assert metrics["root_mean_squared_error"] <= spec.threshold
    assert metrics["mean_absolute_error"] <= metrics["root_mean_squared_error"]
    assert "RMSE" in _report(config, snap, capsys, tmp_path)


def test_init_makes_a_dataset_of_an_unshipped_csv_that_runs_as_it_is(tmp_path, capsys):
    """Breast-cancer diagnoses (scikit-learn; not shipped as a dataset): 30 measurements with
    spaces in their names and a text label, through `tabflow init` and then `run`."""
    from sklearn.datasets import load_breast_cancer
    data = load_breast_cancer()
    source = tmp_path / "cancer.csv"
    with open(source, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(list(data.feature_names) + ["diagnosis"])
        for row, target in zip(data.data, data.target):
            writer.writerow([f"{v:g}" for v in row] + [data.target_names[target]])
    folder = tmp_path / "cancer"
    done = subprocess.run([sys.executable, "-m", "tabflow.console", "init", "--csv", str(source),
                           "--label", "diagnosis", "--out", str(folder)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    spec = dataset.load(folder)
    assert spec.problem_type == "binary" and set(spec.classes) == {"benign", "malignant"}
    # Column names with spaces were made safe on the way in.
    header = next(csv.reader(open(next((folder / "spans" / "span-1").glob("*.csv")))))
    assert "mean_radius" in header and "diagnosis" in header
    config, snap = _run(folder, tmp_path / "out")
    trace = _check_run(config, snap, capsys)
    assert trace["evaluation"]["metrics"]["candidate"]["auc"] >= spec.threshold
