"""benchmarks/plain_model.py: a plain script generic over the shipped datasets (its inputs come
from the feature plan, never from a column it names), metrics checked against values worked
out by hand, and the check that both sides scored the same rows."""
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks import plain_model as P
from tabflow.artifacts.schema import load_schema

REPO = Path(__file__).resolve().parents[3]
SHIPPED = sorted(p.parent.name for p in (REPO / "data").glob("*/dataset.yaml"))


@pytest.fixture(scope="module")
def datasets():
    return {name: P.load_dataset(name) for name in SHIPPED}


def _rows(ds, limit=400):
    """The first rows of the dataset's first span, in the schema's types."""
    from benchmarks.model_comparison import read_rows
    frame, _ = read_rows(ds)
    return frame.iloc[:limit].reset_index(drop=True)


def test_the_three_shipped_datasets_are_there():
    assert len(SHIPPED) >= 3


def test_the_script_names_no_column_label_or_value_of_any_dataset(datasets):
    source = (REPO / "benchmarks" / "plain_model.py").read_text()
    words = set()
    for ds in datasets.values():
        words |= {f.name for f in load_schema(ds.spec.schema_path).feature}
        words |= {ds.spec.label, *ds.spec.classes, *(str(s.value) for s in ds.spec.gated_slices)}
    named = sorted(w for w in words
                   if re.search(rf"(?<![A-Za-z0-9]){re.escape(w)}(?![A-Za-z0-9])", source))
    assert named == []


@pytest.mark.parametrize("name", SHIPPED)
def test_the_design_matrix_is_the_plans_inputs(datasets, name):
    ds = datasets[name]
    frame = _rows(ds)
    train, other = frame.iloc[:300], frame.iloc[300:]
    numeric, text = P.input_columns(ds.plan)
    plan_inputs = {*ds.plan["dense"], *ds.plan["categorical_int"], *ds.plan["bucketize"],
                   *ds.plan["vocabulary"]}
    assert set(numeric) | set(text) == plan_inputs
    assert not {ds.spec.label, *ds.spec.label_sources, *ds.spec.exclude} & plan_inputs
    design = P.fit_design(train, ds.plan)
    width = len(numeric) + sum(len(train[c].fillna("").astype(str).unique()) for c in text)
    assert design.width == width
    for rows in (train, other):
        matrix = design.matrix(rows)
        assert matrix.shape == (len(rows), width) and matrix.dtype == np.float32
        assert np.isfinite(matrix).all()
    # z-scored on train: mean 0 (missing values take it), and one 1 per text column a row
    matrix = design.matrix(train)
    assert np.allclose(matrix[:, :len(numeric)].mean(axis=0), 0, atol=1e-4)
    assert np.allclose(matrix[:, len(numeric):].sum(axis=1), len(text))


@pytest.mark.parametrize("name", SHIPPED)
def test_labels_follow_the_problem_type(datasets, name):
    ds = datasets[name]
    frame = _rows(ds)
    labels = P.labels_of(frame, ds)
    assert len(labels) == len(frame)
    if ds.problem_type == "regression":
        assert labels.dtype == np.float64
        assert np.array_equal(labels, frame[ds.spec.label].to_numpy(float))
    elif ds.problem_type == "multiclass":
        expected = [list(ds.spec.classes).index(v) for v in frame[ds.spec.label]]
        assert labels.tolist() == expected
    else:
        assert set(labels.tolist()) <= {0, 1} and 0 < labels.mean() < 1


def test_a_label_that_is_no_class_is_an_error(datasets):
    ds = next(d for d in datasets.values() if d.problem_type == "multiclass")
    frame = _rows(ds, 5)
    frame.loc[0, ds.spec.label] = "no such class"
    with pytest.raises(P.SettingError, match="no class"):
        P.labels_of(frame, ds)


def test_auc_by_hand():
    # Pairs (positive, negative): (0.35, 0.1) yes, (0.35, 0.4) no, (0.8, 0.1), (0.8, 0.4) yes.
    assert P.auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    # A tie counts half: one pair of two, tied.
    assert P.auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    assert P.auc([1, 1, 1], [0.1, 0.2, 0.3]) is None
    assert P.auc([1, 0], [0.9, 0.2]) == 1.0


def test_metrics_by_problem_type_by_hand():
    binary = P.metrics_of("binary", [0, 0, 1, 1], [0.1, 0.6, 0.35, 0.8])
    # Predicted 1 where > 0.5: rows 2 and 4; right on rows 1 and 4 -> 2 of 4.
    assert binary == {"examples": 4, "auc": pytest.approx(0.75), "accuracy": 0.5,
                      "mean_label": 0.5, "positives": 2}
    multiclass = P.metrics_of("multiclass", [0, 2, 1],
                              [[0.7, 0.2, 0.1], [0.1, 0.2, 0.7], [0.5, 0.4, 0.1]])
    assert multiclass == {"examples": 3, "accuracy": pytest.approx(2 / 3)}
    regression = P.metrics_of("regression", [1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 1.0, 4.0])
    # Errors 1, 0, -2, 0: squared mean 5/4, absolute mean 3/4, labels' mean 2.5.
    assert regression == {"examples": 4, "root_mean_squared_error": pytest.approx(5 ** 0.5 / 2),
                          "mean_absolute_error": 0.75, "mean_label": 2.5}
    assert P.metrics_of("binary", [], []) == {"examples": 0}


def test_slices_gated_first_then_report_values_with_enough_rows(datasets):
    ds = next(d for d in datasets.values() if d.spec.report_slices)
    frame = _rows(ds, 400)
    column = ds.spec.report_slices[0]
    counts = frame[column].dropna().value_counts()
    slices = P.eligible_slices(frame, ds.spec, min_rows=int(counts.min()) + 1)
    assert [c for c, _ in slices][:len(ds.spec.gated_slices)] == [
        s.column for s in ds.spec.gated_slices]
    kept = {v for c, v in slices if c == column}
    assert kept == {P.value_text(v) for v, n in counts.items() if n > counts.min()}
    scores = P.score_slices(frame, np.zeros(len(frame)), np.zeros(len(frame)), "regression",
                            slices)
    assert list(scores)[0] == P.OVERALL
    for c, v in slices:
        assert scores[P.slice_name(c, v)]["examples"] == int(
            (frame[c].map(P.value_text) == v).sum())


def test_value_text_names_values_as_tfma_and_the_spec_do():
    assert P.value_text(3.0) == "3"
    assert P.value_text(2.5) == "2.5"
    assert P.value_text(b"x y") == "x y"
    assert P.value_text(float("nan")) is None and P.value_text(None) is None


def test_same_rows_pass_and_any_difference_is_an_error():
    counts = {"overall": 10, "a=1": 4}
    P.check_same_rows(counts, dict(counts), ["r1", "r2", "r2"], ["r2", "r1", "r2"])
    with pytest.raises(P.RowMismatch, match="a=1: plain script 4 rows, pipeline 5"):
        P.check_same_rows(counts, {"overall": 10, "a=1": 5})
    with pytest.raises(P.RowMismatch, match="no such slice"):
        P.check_same_rows(counts, {"overall": 10})
    with pytest.raises(P.RowMismatch, match="row sets differ: 1 rows only the plain"):
        P.check_same_rows(counts, dict(counts), ["r1", "r2"], ["r1", "r3"])


def test_row_digests_see_a_changed_value_but_not_the_order(datasets):
    ds = datasets[SHIPPED[0]]
    frame = _rows(ds, 50)
    digests = P.row_digests(frame, ds.kinds)
    assert len(set(digests)) == len(frame)
    shuffled = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    assert sorted(P.row_digests(shuffled, ds.kinds)) == sorted(digests)
    changed = frame.copy()
    column = next(c for c, k in ds.kinds.items() if k == P.FLOAT)
    row = int(np.flatnonzero(frame[column].notna())[0])
    changed.loc[row, column] = changed.loc[row, column] + 1
    assert P.row_digests(changed, ds.kinds)[row] != digests[row]
    assert P.row_digests(changed, ds.kinds)[row + 1:] == digests[row + 1:]


def test_steps_and_batch_come_from_the_trainer_and_a_disagreeing_flag_is_an_error():
    configured = {"train_steps": 1000, "batch_size": 40}
    out = P.resolve_training({}, {"train_steps": 200, "batch_size": None}, configured)
    assert (out["train_steps"], out["batch_size"]) == (200, 40)
    assert out["train_steps_from"].startswith("the pipeline's Trainer")
    assert out["batch_size_from"] == "the pipeline config"
    assert P.resolve_training({"train_steps": 200}, {"train_steps": 200}, configured)[
        "train_steps"] == 200
    with pytest.raises(P.SettingError, match="--batch-size 32: the pipeline's Trainer used 40"):
        P.resolve_training({"batch_size": 32}, {"batch_size": 40}, configured)


def test_unknown_dataset_or_missing_run_is_one_line_exit_2(tmp_path, capsys):
    assert P.main(["--dataset", "no-such-dataset", "--output-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: dataset: 'no-such-dataset'") and "\n" not in err
    assert P.main(["--dataset", SHIPPED[0], "--output-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "no evaluation of a blessed" in err and "\n" not in err


def test_the_plain_script_trains_and_predicts_by_problem_type(datasets):
    # 20 steps on a few hundred rows: about a second per dataset.
    for ds in datasets.values():
        frame = _rows(ds, 200)
        [predictions] = P.fit_predict(frame.iloc[:150], [frame.iloc[150:]], ds, 20, 16, seed=1)
        if ds.problem_type == "multiclass":
            assert predictions.shape == (50, len(ds.spec.classes))
            assert np.allclose(predictions.sum(axis=1), 1, atol=1e-5)
        else:
            assert predictions.shape == (50,)
            assert np.isfinite(predictions).all()
        if ds.problem_type == "binary":
            assert ((predictions >= 0) & (predictions <= 1)).all()
