"""benchmarks/model_comparison.py: folds built from every committed span (seeded, and by time),
the rows both sides read checked row by row, the summary's arithmetic worked out by hand, and
the README tables written from the kept JSON."""
import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmarks import model_comparison as M
from benchmarks import plain_model as P
from benchmarks import readme_tables as R

REPO = Path(__file__).resolve().parents[3]
SHIPPED = sorted(p.parent.name for p in (REPO / "data").glob("*/dataset.yaml"))


@pytest.fixture(scope="module")
def loaded():
    """{name: (dataset, rows, span of each row)} of every shipped dataset."""
    out = {}
    for name in SHIPPED:
        ds = P.load_dataset(name)
        frame, spans = M.read_rows(ds)
        out[name] = (ds, frame, spans)
    return out


def _multi_span(loaded):
    return next(name for name, (_, _, spans) in loaded.items() if len(set(spans)) >= 2)


def _one_span(loaded):
    return next(name for name, (_, _, spans) in loaded.items() if len(set(spans)) == 1)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_committed_span_is_read_whole(loaded, name):
    ds, frame, spans = loaded[name]
    expected = {}
    for path in sorted(Path(ds.spec.data_root).glob("span-*/*.csv")):
        with open(path, newline="") as f:
            expected[int(path.parent.name.split("-")[1])] = sum(1 for _ in csv.reader(f)) - 1
    assert {int(s): int((spans == s).sum()) for s in set(spans)} == expected
    assert list(frame.columns) == list(ds.kinds)
    assert list(spans) == sorted(spans)  # oldest span first


@pytest.mark.parametrize("seed", [0, 3])
def test_seeded_folds_are_disjoint_cover_every_row_and_keep_the_ratios(loaded, seed):
    ds, frame, _ = loaded[_multi_span(loaded)]
    n = len(frame)
    fold = M.random_fold(n, ds.spec.splits, seed)
    parts = [set(fold.train), set(fold.eval), set(fold.test)]
    assert sum(map(len, parts)) == n and set().union(*parts) == set(range(n))
    total = sum(ds.spec.splits.values())
    for part, split in zip(parts, ("train", "eval", "test")):
        assert abs(len(part) - n * ds.spec.splits[split] / total) <= 1
    again = M.random_fold(n, ds.spec.splits, seed)
    assert all(np.array_equal(a, b) for a, b in ((fold.train, again.train),
                                                 (fold.eval, again.eval),
                                                 (fold.test, again.test)))
    other = M.random_fold(n, ds.spec.splits, seed + 1)
    assert not np.array_equal(fold.test, other.test)


def test_split_sizes_by_hand():
    assert M.split_sizes(10, {"train": 3, "eval": 1, "test": 1}) == (6, 2, 2)
    assert M.split_sizes(11, {"train": 3, "eval": 1, "test": 1}) == (7, 2, 2)
    assert M.split_sizes(12, {"train": 2, "eval": 1, "test": 1}) == (6, 3, 3)


def test_the_time_split_tests_on_the_last_span_and_trains_on_the_earlier(loaded):
    ds, frame, spans = loaded[_multi_span(loaded)]
    fold, note = M.time_fold(spans, ds.spec.splits)
    last = max(spans)
    assert set(fold.test) == set(np.flatnonzero(spans == last))
    earlier = set(np.flatnonzero(spans != last))
    assert set(fold.train) | set(fold.eval) == earlier
    assert not set(fold.train) & set(fold.eval)
    share = ds.spec.splits["eval"] / (ds.spec.splits["train"] + ds.spec.splits["eval"])
    assert abs(len(fold.eval) - len(earlier) * share) <= 1
    assert f"test span {last}" in note
    assert np.array_equal(M.time_fold(spans, ds.spec.splits)[0].eval, fold.eval)


def test_one_span_has_no_time_split_and_says_why(loaded):
    _, _, spans = loaded[_one_span(loaded)]
    fold, note = M.time_fold(spans, {"train": 3, "eval": 1, "test": 1})
    assert fold is None and note.startswith("not available") and "1 span" in note


@pytest.mark.parametrize("name", SHIPPED)
def test_examples_read_back_are_the_same_rows(loaded, name):
    ds, frame, _ = loaded[name]
    rows = frame.iloc[:200].reset_index(drop=True)
    records = M.serialize_rows(rows, ds.kinds)
    back = P.frame_of_records(records, ds)
    assert P.row_digests(back, ds.kinds) == P.row_digests(rows, ds.kinds)
    # a record lost on the way is a mismatch, not a footnote
    lost = P.frame_of_records(records[1:], ds)
    slices = P.eligible_slices(rows, ds.spec, min_rows=1)
    with pytest.raises(P.RowMismatch):
        P.check_same_rows(
            {k: int(m.sum()) for k, m in P.slice_masks(rows, slices).items()},
            {k: int(m.sum()) for k, m in P.slice_masks(lost, slices).items()},
            P.row_digests(rows, ds.kinds), P.row_digests(lost, ds.kinds))


def test_written_records_read_back(tmp_path, loaded):
    ds, frame, _ = loaded[SHIPPED[0]]
    records = M.serialize_rows(frame.iloc[:20], ds.kinds)
    path = M.write_split(records, tmp_path / "examples", "test")
    assert path == tmp_path / "examples" / "Split-test" / M.RECORD_FILE
    assert M.read_records(path) == records


def test_the_ablation_hooks_keep_the_label_and_drop_the_derived_inputs(tmp_path, loaded):
    from modules import hooks
    with_derived = [ds for ds, _, _ in loaded.values() if M.has_derived_inputs(ds)]
    assert with_derived, "a shipped dataset derives inputs in its hooks"
    for ds in with_derived:
        folder = tmp_path / ds.name
        folder.mkdir()
        module = hooks.load(M.ablation_hooks(ds.spec.hooks, folder))
        base = hooks.load(ds.spec.hooks)
        for name in ("label", "label_from_raw"):
            assert getattr(module, name, None) is getattr(base, name, None)
        assert not hasattr(module, "derived_features") and not hasattr(module, "derived_sizes")
        assert hooks.derived_sizes({"hooks": M.ablation_hooks(ds.spec.hooks, folder)}) == {}


def _fold(kind, seed, values):
    """A fold's result: {model: test-split overall headline}."""
    return {"fold": f"{kind} {seed}", "kind": kind, "seed": seed,
            "models": {m: {"test": {"overall": {"auc": v, "examples": 10}},
                           "eval": {"overall": {"auc": v, "examples": 10}}}
                       for m, v in values.items()}}


def test_summary_spread_and_paired_differences_by_hand():
    folds = [_fold("seed", 0, {"plain": 0.80, "pipeline": 0.82, "ablation": 0.83}),
             _fold("seed", 1, {"plain": 0.70, "pipeline": 0.75, "ablation": 0.74}),
             _fold("seed", 2, {"plain": 0.90, "pipeline": 0.89, "ablation": 0.88}),
             _fold("time", 0, {"plain": 0.60, "pipeline": 0.66, "ablation": 0.61})]
    summary = M.summarize(folds, "auc", True, ["overall"])
    pipeline = summary["models"]["pipeline"]["test"]["overall"]
    assert pipeline["mean"] == pytest.approx((0.82 + 0.75 + 0.89) / 3)
    # sample sd of 0.82, 0.75, 0.89: deviations 0, -0.07, 0.07 -> sqrt(0.0098 / 2) = 0.07
    assert pipeline["sd"] == pytest.approx(0.07)
    assert (pipeline["min"], pipeline["max"], pipeline["time"]) == (0.75, 0.89, 0.66)
    versus_plain = summary["differences"]["pipeline - plain"]["test"]["overall"]
    # differences 0.02, 0.05, -0.01
    assert versus_plain["mean"] == pytest.approx(0.02)
    assert versus_plain["sd"] == pytest.approx(0.03)
    assert versus_plain["wins"] == 2 and versus_plain["n"] == 3
    assert versus_plain["time"] == pytest.approx(0.06)
    versus_ablation = summary["differences"]["pipeline - ablation"]["test"]["overall"]
    assert versus_ablation["wins"] == 2 and versus_ablation["mean"] == pytest.approx(
        (-0.01 + 0.01 + 0.01) / 3)
    # lower is better (RMSE): a negative difference is a win
    lower = M.summarize(folds, "auc", False, ["overall"])
    assert lower["differences"]["pipeline - plain"]["test"]["overall"]["wins"] == 1


def _results():
    folds = [_fold("seed", s, {"plain": 0.8 + s / 100, "pipeline": 0.81 + s / 50})
             for s in range(2)]
    result = {"dataset": "d", "folder": "data/d", "problem_type": "binary", "headline": "auc",
              "headline_title": "AUC", "higher_is_better": True, "rows": 50, "spans": [1],
              "splits": {"train": 3, "eval": 1, "test": 1}, "seeds": 2,
              "time_split": "not available", "derived_inputs": [], "models": ["plain",
                                                                             "pipeline"],
              "slices": ["overall"], "gated_slices": 0,
              "summary": M.summarize(folds, "auc", True, ["overall"]), "folds": folds}
    return {"started": "20260101-000000", "commit": "abc", "command": "cmd",
            "machine": {"nproc": 2, "load_average_at_start": [0.5, 0.5, 0.5]},
            "settings": {"seeds": 2, "train_steps": 5, "eval_steps": 1, "batch_size": 4,
                         "hyperparameters": "DEFAULT_HPARAMS", "min_slice_rows": 30},
            "seconds": 60.0, "datasets": [result]}


def test_readme_writer_and_check_round_trip(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nbefore\n\n{R.MODEL_COMPARISON_BEGIN}\nold\n"
                      f"{R.MODEL_COMPARISON_END}\n\nafter\n")
    kept = tmp_path / "model_comparison.json"
    kept.write_text(json.dumps(_results()))
    assert not R.model_comparison_matches(kept, readme)
    R.write_model_comparison(kept, readme)
    assert R.model_comparison_matches(kept, readme)
    text = readme.read_text()
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith("\n\nafter\n")
    assert "| overall | 10 | 0.805 ± 0.007 (0.800 to 0.810) | 0.820 ± 0.014 (0.810 to 0.830) " \
           "| +0.015 ± 0.007 (+0.010 to +0.020) (2/2) |" in text
    changed = _results()
    changed["datasets"][0]["folds"][0]["models"]["plain"]["test"]["overall"]["auc"] = 0.1
    changed["datasets"][0]["summary"] = M.summarize(changed["datasets"][0]["folds"], "auc", True,
                                                    ["overall"])
    kept.write_text(json.dumps(changed))
    assert not R.model_comparison_matches(kept, readme)


def test_the_readme_quotes_the_kept_json():
    if not R.MODEL_COMPARISON_RESULTS.exists():
        pytest.skip("no kept model-comparison results yet")
    assert R.model_comparison_matches(), (
        "benchmarks/README.md differs from benchmarks/results/model_comparison.json: run "
        ".venv/bin/python benchmarks/model_comparison.py --readme (or write_model_comparison)")
    results = json.loads(R.MODEL_COMPARISON_RESULTS.read_text())
    assert results["settings"]["seeds"] >= 5
    assert {d["dataset"] for d in results["datasets"]} >= set(SHIPPED)


def test_the_check_flag(capsys):
    if not R.MODEL_COMPARISON_RESULTS.exists():
        pytest.skip("no kept model-comparison results yet")
    assert M.main(["--check"]) == 0
    assert "match" in capsys.readouterr().out


def test_bad_input_is_one_line_exit_2(tmp_path, capsys):
    assert M.main(["--dataset", "no-such-dataset"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: dataset: 'no-such-dataset'") and "\n" not in err
    # a dataset folder without spans
    source = P.load_dataset(SHIPPED[0]).spec.folder
    empty = tmp_path / "empty"
    empty.mkdir()
    for name in ("dataset.yaml", "schema.pbtxt"):
        shutil.copy(Path(source) / name, empty / name)
    if (Path(source) / "hooks.py").exists():
        shutil.copy(Path(source) / "hooks.py", empty / "hooks.py")
    assert M.main(["--dataset", str(empty), "--work-dir", str(tmp_path / "work")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no span-<N>/*.csv" in err and "\n" not in err


@pytest.mark.e2e
def test_one_tiny_fold_trains_and_scores_every_model(tmp_path, loaded):
    """The pipeline's real transform and run_fn, 20 steps on the smallest dataset."""
    name = min(loaded, key=lambda n: len(loaded[n][1]))
    ds, frame, _ = loaded[name]
    slices = P.eligible_slices(frame, ds.spec, share=0.2)
    fold = M.random_fold(len(frame), ds.spec.splits, 0)
    result = M.run_fold(ds, frame, M.serialize_rows(frame, ds.kinds), fold, slices,
                        M.Settings(train_steps=20, eval_steps=2, batch_size=16), tmp_path)
    assert set(result["models"]) >= {"plain", "pipeline"}
    for model, splits in result["models"].items():
        for split in ("eval", "test"):
            overall = splits[split]["overall"]
            assert overall["examples"] == len(getattr(fold, split))
            assert overall[ds.headline] is not None
