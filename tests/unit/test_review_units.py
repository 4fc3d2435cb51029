"""The review page's rendering decisions on hand-made review data."""
import re

from review import charts, page


def review_data(blessed=True, pushed=True, failed_at=(), evaluation_present=True):
    metrics = {"example_count": 100.0, "auc": 0.8, "mean_label": 0.3}
    evaluation_section = {
        "artifact": {"id": 5, "type": "ModelEvaluation", "uri": "/e", "run": "r1",
                     "reused": False},
        "state": "COMPLETE",
        "model": {"id": 3, "type": "Model", "uri": "/m", "run": "r1", "reused": False},
        "baseline": None, "has_baseline_metrics": False, "blessed": blessed,
        "blessing": None,
        "overall": {"candidate": metrics, "baseline": {}, "diff": {}},
        "slices": {"payment_type": [
            {"value": "Cash", "candidate": {"example_count": 5.0, "auc": 0.0,
                                            "mean_label": 0.0}, "baseline": {}},
            {"value": "Credit Card", "candidate": {"example_count": 95.0, "auc": 0.6,
                                                   "mean_label": 0.4}, "baseline": {}}],
            "trip_start_hour": []},
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
                 "anomalies": {"train": ["trip_start_hour: unexpected string values"]}
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
    cash_row = re.search(r"<tr><td>Cash.*?</tr>", html).group(0)
    assert "undefined" in cash_row and "few examples" in cash_row
    # No bar for Cash's undefined AUC; Credit Card's 0.6 is one, below the 0.7 threshold.
    chart = re.search(r'<svg[^>]*data-chart="slice-auc-payment_type".*?</svg>', html).group(0)
    assert chart.count('class="bar"') == 1 and "Credit Card: candidate 0.600" in chart
    assert 'class="worse" data-value="0.6"' in html


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
    from review.collect import _threshold_checks
    thresholds = [
        {"metric": "auc", "slices": ["overall"], "lower_bound": 0.7, "upper_bound": None,
         "change_absolute": -0.01, "change_relative": None, "direction": "HIGHER_IS_BETTER"},
        {"metric": "auc", "slices": ["payment_type=Credit Card"], "lower_bound": None,
         "upper_bound": None, "change_absolute": -0.02, "change_relative": None,
         "direction": "HIGHER_IS_BETTER"}]
    overall = {"candidate": {"auc": 0.95}, "diff": {"auc": 0.001}}
    entries = [{"slice": None, "metrics": overall},
               {"slice": ("payment_type", "Cash"), "metrics": {"candidate": {"auc": 0.5},
                                                               "diff": {"auc": -0.3}}},
               {"slice": ("payment_type", "Credit Card"),
                "metrics": {"candidate": {"auc": 0.6}, "diff": {"auc": -0.05}}}]
    checks = _threshold_checks(thresholds, overall, entries)
    assert [(c["metric"], c["kind"], c["passed"]) for c in checks] == [
        ("auc", "value", True), ("auc", "change", True),
        ("auc (payment_type=Credit Card)", "change", False)]
    assert checks[-1]["value"] == -0.05 and checks[-1]["rule"] == "change vs baseline >= -0.02"
    failing = {**review_data(blessed=False)["evaluation"],
               "threshold_checks": checks,
               "validation": {"ok": False, "missing_slices": 0, "missing_thresholds": False,
                              "failures": [{"slice": ("payment_type", "Credit Card"),
                                            "metric": "auc", "is_diff": True, "value": -0.05,
                                            "message": ""}]}}
    html = page.thresholds_html(failing)
    assert "auc (payment_type=Credit Card)" in html
    assert "payment_type=Credit Card: <b>auc</b> (change) = -0.0500" in html
