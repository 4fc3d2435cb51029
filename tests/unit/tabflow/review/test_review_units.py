"""The review page's rendering decisions on hand-made review data."""
import re

from tabflow.review import charts, page


def review_data(blessed=True, pushed=True, failed_at=(), evaluation_present=True):
    metrics = {"example_count": 100.0, "auc": 0.8, "mean_label": 0.3}
    evaluation_section = {
        "artifact": {"id": 5, "type": "ModelEvaluation", "uri": "/e", "run": "r1",
                     "reused": False},
        "state": "COMPLETE",
        "model": {"id": 3, "type": "Model", "uri": "/m", "run": "r1", "reused": False},
        "baseline": None, "has_baseline_metrics": False, "blessed": blessed,
        "blessing": None,
        "headline": {"metric": "auc", "title": "AUC", "higher_is_better": True,
                     "threshold": 0.7, "problem_type": "binary"},
        "classes": [],
        "overall": {"candidate": metrics, "baseline": {}, "diff": {}},
        "slices": {"region": [
            {"value": "south", "candidate": {"example_count": 5.0, "auc": 0.0,
                                             "mean_label": 0.0}, "baseline": {}},
            {"value": "north", "candidate": {"example_count": 95.0, "auc": 0.6,
                                             "mean_label": 0.4}, "baseline": {}}],
            "hour": []},
        "plots": {},
        "thresholds": [{"metric": "auc", "slices": ["overall"], "lower_bound": 0.7,
                        "upper_bound": None, "change_absolute": -0.01,
                        "change_relative": None, "direction": "HIGHER_IS_BETTER"}],
        "threshold_checks": [],
        "validation": {"ok": blessed, "failures": [], "missing_slices": 0,
                       "missing_thresholds": False, "rubber_stamp": False},
    }
    return {
        "pipeline": "taxi",
        "run": {"id": "local-x", "runner": "local", "status": "FAILED" if failed_at else
                "COMPLETE", "started": "s", "ended": "e", "seconds": 1.0,
                "failed_at": list(failed_at)},
        "components": [], "generated": "now", "lineage_svg": "<svg></svg>",
        "data": {"examples": None, "span": 1, "statistics": None, "summary": {},
                 "anomalies": {"train": ["hour: unexpected string values"]}
                 if failed_at else {"train": []}, "gate": None},
        "evaluation": evaluation_section if evaluation_present else None,
        "push": {"id": 9, "state": "COMPLETE", "pushed": True, "destination": "/serving/1",
                 "version": 1} if pushed else None,
        "provenance": {"git_commit": "abc", "git_dirty": False, "runner": "local",
                       "code_sha256": "f00", "files": {"modules/model.py": "1"},
                       "config": {"min_auc": 0.7}, "artifact_id": 4},
    }


def test_verdicts():
    assert "BLESSED and pushed" in page.verdict(review_data())
    assert "NOT BLESSED" in page.verdict(review_data(blessed=False, pushed=False))
    gate = review_data(failed_at=["AnomalyGate"], evaluation_present=False, pushed=False)
    assert "STOPPED AT THE DATA GATE" in page.verdict(gate)
    html = page.render(gate)
    assert "unexpected string values" in html and "Headline metrics" not in html


def test_single_label_slice_auc_is_undefined_not_zero():
    html = page.slices_html(review_data()["evaluation"])
    south_row = re.search(r"<tr><td>south.*?</tr>", html).group(0)
    assert "undefined" in south_row and "few examples" in south_row
    # No bar for south's undefined AUC; north's 0.6 is one, below the 0.7 threshold.
    chart = re.search(r'<svg[^>]*data-chart="slice-auc-region".*?</svg>', html).group(0)
    assert chart.count('class="bar"') == 1 and "north: candidate 0.600" in chart
    assert 'class="worse" data-value="0.6"' in html
    assert "AUC cells in red are below the overall threshold (0.7)" in html


def test_page_is_self_contained():
    html = page.render(review_data())
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html


def test_bar_chart_scales_and_labels():
    svg = charts.bar_chart("c", "t", ["a", "b"], [("s", [2.0, None], "#000")], "y",
                           reference=("ref", 1.0))
    heights = [float(h) for h in re.findall(r'class="bar"[^>]*height="([0-9.]+)"', svg)]
    assert len(heights) == 1 and heights[0] > 0
    assert "ref 1.000" in svg


def test_slice_threshold_is_checked_against_its_slice():
    from tabflow.review.collect import _threshold_checks
    thresholds = [
        {"metric": "auc", "slices": ["overall"], "lower_bound": 0.7, "upper_bound": None,
         "change_absolute": -0.01, "change_relative": None, "direction": "HIGHER_IS_BETTER"},
        {"metric": "auc", "slices": ["region=north"], "lower_bound": None,
         "upper_bound": None, "change_absolute": -0.02, "change_relative": None,
         "direction": "HIGHER_IS_BETTER"}]
    overall = {"candidate": {"auc": 0.95}, "diff": {"auc": 0.001}}
    entries = [{"slice": None, "metrics": overall},
               {"slice": ("region", "south"), "metrics": {"candidate": {"auc": 0.5},
                                                          "diff": {"auc": -0.3}}},
               {"slice": ("region", "north"),
                "metrics": {"candidate": {"auc": 0.6}, "diff": {"auc": -0.05}}}]
    checks = _threshold_checks(thresholds, overall, entries)
    assert [(c["metric"], c["kind"], c["passed"]) for c in checks] == [
        ("auc", "value", True), ("auc", "change", True),
        ("auc (region=north)", "change", False)]
    assert checks[-1]["value"] == -0.05 and checks[-1]["rule"] == "change vs baseline >= -0.02"
    failing = {**review_data(blessed=False)["evaluation"],
               "threshold_checks": checks,
               "validation": {"ok": False, "missing_slices": 0, "missing_thresholds": False,
                              "failures": [{"slice": ("region", "north"),
                                            "metric": "auc", "is_diff": True, "value": -0.05,
                                            "message": ""}]}}
    html = page.thresholds_html(failing)
    assert "auc (region=north)" in html
    assert "region=north: <b>auc</b> (change) = -0.0500" in html
    from tabflow.review.collect import _gated_slices
    assert _gated_slices(thresholds, entries) == [
        {"slice": "region=north", **entries[2]["metrics"]}]


def test_slices_come_from_the_configured_columns():
    from tabflow.review.collect import _slices
    entries = [{"slice": None, "metrics": {}},
               {"slice": ("hour", "10"), "metrics": {"candidate": {"n": 1}, "baseline": {}}},
               {"slice": ("hour", "9"), "metrics": {"candidate": {"n": 2}, "baseline": {}}},
               {"slice": ("kind", "k"), "metrics": {"candidate": {}, "baseline": {}}}]
    slices = _slices(entries, ["hour", "sex"])
    assert list(slices) == ["hour", "sex"] and slices["sex"] == []
    assert [row["value"] for row in slices["hour"]] == ["9", "10"]


def multiclass_evaluation():
    overall = {"example_count": 90.0, "accuracy": 0.9, "sparse_categorical_crossentropy": 0.3,
               "recall/class 0": 1.0, "recall/class 1": 0.8, "recall/class 2": 0.9,
               "precision/class 0": 0.9, "precision/class 1": 0.95, "precision/class 2": 0.85}
    cells = [{"actual": a, "predicted": p, "examples": 28.0 if a == p else 1.0}
             for a in range(3) for p in range(3)]
    return {
        **review_data()["evaluation"],
        "headline": {"metric": "accuracy", "title": "accuracy", "higher_is_better": True,
                     "threshold": 0.95, "problem_type": "multiclass"},
        "classes": ["Adelie", "Chinstrap", "Gentoo"],
        "overall": {"candidate": overall, "baseline": {}, "diff": {}},
        "slices": {"island": [{"value": "Biscoe", "candidate": {
            "example_count": 40.0, "accuracy": 0.9, "sparse_categorical_crossentropy": 0.2},
            "baseline": {}}]},
        "plots": {"candidate": {"calibration": [], "confusion": [],
                                "multiclass_confusion": cells}},
        "thresholds": [],
    }


def test_multiclass_review_shows_accuracy_classes_and_the_confusion_matrix():
    evaluation = multiclass_evaluation()
    headline = page.headline_html(evaluation)
    assert "<td>accuracy</td>" in headline and "AUC" not in headline
    # Per-class metrics have their own table, named by class, not "model's own" rows.
    assert "model's own" not in headline
    table = re.search(r'<table[^>]*id="per-class-metrics".*?</table>', headline).group(0)
    assert "1 (Chinstrap)" in table and 'data-value="0.8"' in table
    slices = page.slices_html(evaluation)
    assert 'data-chart="slice-accuracy-island"' in slices and "log loss" in slices
    assert "accuracy cells in red are below the overall threshold (0.95)" in slices
    assert 'class="worse" data-value="0.9"' in slices
    assert page.plots_title(evaluation) == "Confusion matrix (overall)"
    plots = page.plots_html(evaluation)
    assert plots.count("<tr>") == 4 and "2 (Gentoo)" in plots and 'data-value="28.0"' in plots
    html = page.render({**review_data(), "evaluation": evaluation})
    assert "ROC" not in html and "<h2>Confusion matrix (overall)</h2>" in html
    assert "<h1>Model review: taxi, run local-x</h1>" in html


def test_regression_review_charts_rmse_without_a_unit_axis():
    evaluation = {
        **review_data()["evaluation"],
        "headline": {"metric": "root_mean_squared_error", "title": "RMSE",
                     "higher_is_better": False, "threshold": 60.0,
                     "problem_type": "regression"},
        "overall": {"candidate": {"example_count": 80.0, "root_mean_squared_error": 55.0,
                                  "mean_absolute_error": 44.0}, "baseline": {}, "diff": {}},
        "slices": {"sex": [{"value": "1", "candidate": {
            "example_count": 40.0, "root_mean_squared_error": 70.0}, "baseline": {}}]},
        "plots": {},
    }
    assert "<td>RMSE</td>" in page.headline_html(evaluation)
    slices = page.slices_html(evaluation)
    assert 'data-chart="slice-root_mean_squared_error-sex"' in slices
    # 70 is worse than the 60 bound: lower is better.
    assert 'class="worse" data-value="70.0"' in slices
    assert "RMSE cells in red are above the overall threshold (60)" in slices
    assert "<th>baseline RMSE</th>" in slices
    html = page.render({**review_data(), "evaluation": evaluation})
    assert 'id="plots"' not in html
