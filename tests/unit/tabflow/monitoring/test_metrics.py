"""tabflow/monitoring/metrics.py: a run's gauges, written as a node_exporter textfile and parsed
back with prometheus_client's own parser, and pushed to Debian's prometheus-pushgateway started
on loopback."""
import datetime
import shutil
import subprocess
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tabflow.monitoring.metrics import publish, run_metrics
from tests.support.receivers import free_port


def review(status="COMPLETE"):
    return {
        "pipeline": "taxi",
        "run": {"id": "local-7", "runner": "local", "status": status, "seconds": 61.5,
                "started": "2026-12-01T10:00:00+00:00", "ended": "2026-12-01T10:01:01+00:00",
                "failed_at": []},
        "components": [{"node": "CsvExampleGen", "state": "COMPLETE", "seconds": 3.5},
                       {"node": "Transform", "state": "CACHED", "seconds": 0.0},
                       {"node": "Trainer", "state": "COMPLETE", "seconds": 10.25}],
        "data": {"span": 4, "summary": {"train": {"examples": 9000}, "eval": {"examples": 3000}},
                 "anomalies": {"eval": ["feature 'amount': too small"]},
                 "drift": {"state": "COMPLETE", "report": {"features": [
                     {"feature": "amount", "split": "train", "measure": "L-infinity",
                      "distance": 0.05, "threshold": 0.2, "passed": True}]}}},
        "evaluation": {"blessed": True,
                       "headline": {"metric": "auc", "title": "AUC", "higher_is_better": True,
                                    "threshold": 0.7, "problem_type": "binary"},
                       "overall": {"candidate": {"auc": 0.958}, "baseline": {"auc": 0.951}},
                       "slices": {"region": [
                           {"value": "south", "candidate": {"auc": 0.5}, "baseline": {}},
                           {"value": "north", "candidate": {"auc": 0.70},
                            "baseline": {"auc": 0.69}}]},
                       "gated_slices": [{"slice": "region=north", "candidate": {"auc": 0.70},
                                         "baseline": {"auc": 0.69}, "diff": {"auc": 0.01}}]},
    }


def samples(text):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found, name, **labels):
    return found[("tabflow_" + name, tuple(sorted({"pipeline": "taxi", **labels}.items())))]


def test_textfile_parses_with_prometheus_client(tmp_path):
    registry = run_metrics(review(), {"COMPLETE": 5, "FAILED": 1}, 1764583261.0)
    path = tmp_path / "textfile" / "taxi.prom"
    assert publish(registry, str(path), "", "job", "taxi", 5) == {"textfile": None}
    found = samples(path.read_text())
    assert value(found, "run_success") == 1
    assert value(found, "run_info", run_id="local-7", status="COMPLETE", runner="local") == 1
    assert value(found, "run_duration_seconds") == 61.5
    assert value(found, "run_end_timestamp_seconds") == datetime.datetime(
        2026, 12, 1, 10, 1, 1, tzinfo=datetime.timezone.utc).timestamp()
    assert value(found, "component_seconds", component="Trainer", state="COMPLETE") == 10.25
    assert value(found, "components", state="executed") == 2
    assert value(found, "components", state="cached") == 1
    assert value(found, "runs_total", status="FAILED") == 1
    assert value(found, "examples", split="eval") == 3000
    assert value(found, "anomalies") == 1
    assert value(found, "drift_distance", feature="amount", split="train",
                 measure="L-infinity") == 0.05
    assert value(found, "model_headline", metric="auc", model="candidate",
                 slice="overall") == 0.958
    assert value(found, "model_headline", metric="auc", model="baseline",
                 slice="region=north") == 0.69
    assert not any(dict(labels).get("slice") == "region=south" for _, labels in found)
    assert value(found, "blessed") == 1 and value(found, "span") == 4
    assert value(found, "last_push_timestamp_seconds") == 1764583261.0


def test_a_failed_run_without_evaluation():
    failed = review(status="FAILED")
    failed.update(evaluation=None, data={"span": 5, "anomalies": None})
    from prometheus_client import generate_latest
    found = samples(generate_latest(run_metrics(failed, {"FAILED": 1}, None)).decode())
    assert value(found, "run_success") == 0
    assert not any(name.endswith(("model_headline", "blessed", "last_push_timestamp_seconds"))
                   for name, _ in found)


def test_a_regression_headline_is_labelled_with_its_metric():
    run = review()
    run["evaluation"].update(
        headline={"metric": "root_mean_squared_error", "title": "RMSE",
                  "higher_is_better": False, "threshold": 60.0, "problem_type": "regression"},
        overall={"candidate": {"root_mean_squared_error": 54.1}, "baseline": {}},
        slices={}, gated_slices=[])
    from prometheus_client import generate_latest
    found = samples(generate_latest(run_metrics(run, {"COMPLETE": 1}, None)).decode())
    assert value(found, "model_headline", metric="root_mean_squared_error",
                 model="candidate", slice="overall") == 54.1
    assert sum(name == "tabflow_model_headline" for name, _ in found) == 1


def test_unwritable_textfile_and_dead_gateway_are_reported(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    registry = run_metrics(review(), {}, None)
    result = publish(registry, str(blocker / "taxi.prom"), f"127.0.0.1:{free_port()}", "job",
                     "taxi", 2)
    assert result["textfile"] and result["pushgateway"]


@pytest.fixture
def pushgateway(tmp_path):
    binary = shutil.which("prometheus-pushgateway") or "/usr/bin/prometheus-pushgateway"
    if not shutil.which(binary):
        pytest.fail("prometheus-pushgateway is not installed: ./dev test installs it with apt")
    port = free_port()
    process = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}"],
                               cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://{url}/-/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_pushgateway_returns_the_pushed_metrics(pushgateway):
    registry = run_metrics(review(), {"COMPLETE": 5}, 1764583261.0)
    assert publish(registry, "", pushgateway, "tabflow", "taxi", 5) == \
        {"pushgateway": None}
    text = urllib.request.urlopen(f"http://{pushgateway}/metrics", timeout=5).read().decode()
    found = {(s.name, tuple(sorted((k, v) for k, v in s.labels.items()
                                   if k not in ("job", "instance")))): s.value
             for family in text_string_to_metric_families(text) for s in family.samples}
    assert value(found, "model_headline", metric="auc", model="candidate",
                 slice="overall") == 0.958
    assert value(found, "run_success") == 1
    assert any(s.labels.get("job") == "tabflow"
               for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == "tabflow_run_success")
