"""tabflow/health/page.py on hand-made inputs: an empty store, and the parts a run adds."""
from tabflow.health import page


AUC = {"metric": "auc", "title": "AUC", "higher_is_better": True, "threshold": 0.7}
RMSE = {"metric": "root_mean_squared_error", "title": "RMSE", "higher_is_better": False,
        "threshold": 60.0}


def health(runs=(), headline=(), drift=None, events=()):
    return {"pipeline": "taxi", "runs": list(runs), "total_runs": len(runs),
            "headline_by_span": list(headline), "drift_by_span": drift or {},
            "registry_events": list(events), "generated": "2026-12-02T10:00:00+00:00"}


def run(run_id, status="COMPLETE", seconds=50.0, span=1, pushed=True, value=0.95,
        headline=AUC):
    return {"run_id": run_id, "runner": "local", "status": status,
            "started": "2026-12-02T09:00:00+00:00", "seconds": seconds, "span": span,
            "pushed": pushed, "components": {"Trainer": {"state": "COMPLETE", "seconds": 8.0}},
            "cache_hit_rate": 0.5, "failed_at": [] if status == "COMPLETE" else ["Trainer"],
            "evaluation": {**headline, "value": value, "blessed": True, "files": True}}


def test_an_empty_store():
    html = page.render(health())
    assert "No runs in the store yet." in html and "<svg" not in html


def test_runs_link_to_their_reviews_and_drift_over_threshold_is_marked():
    drifted = {"feature": "distance", "split": "train", "measure": "Jensen-Shannon",
               "distance": 0.3, "threshold": 0.1, "passed": False}
    html = page.render(health(
        runs=[run("local-2026-12-02T09:00:00.1"), run("local-2026-12-02T09:10:00.2", "FAILED")],
        headline=[{"span": 1, **AUC, "value": 0.95, "blessed": True, "run_id": "r"}],
        drift={2: [drifted]},
        events=[{"time": "2026-12-02T09:01:00+00:00", "alias": "serving", "version": 1,
                 "action": "push", "reason": ""}]))
    assert 'href="review-local-2026-12-02T09-00-00.1.html"' in html
    assert "FAILED at Trainer" in html and "newest run FAILED" in html
    assert 'class="worse" data-value="0.3"' in html
    assert html.count('class="run-mark"') == 2 and html.count('class="serving-mark"') == 1
    assert "min AUC" in html and "Test AUC per span" in html and "<th>test AUC</th>" in html


def test_a_lower_is_better_headline_is_charted_against_its_upper_bound():
    html = page.render(health(
        runs=[run("local-1", value=54.1, headline=RMSE)],
        headline=[{"span": 1, **RMSE, "value": 54.1, "blessed": True, "run_id": "local-1"}]))
    assert "Test RMSE per span" in html and "max RMSE (60.000)" in html
    assert "<th>test RMSE</th>" in html and ">54.1000<" in html
    assert "AUC" not in html
