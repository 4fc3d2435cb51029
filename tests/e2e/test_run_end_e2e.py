"""End-to-end: what a run tells the world when it ends. Notifications about the shared real
runs (a pushed model, an unblessed one, a run stopped at the data gate), read from their MLMD
records and delivered to an HTTP receiver and an SMTP server (aiosmtpd) started on loopback;
and `tabflow run`, as a process, notifying and writing its Prometheus textfile for a
fully cached rerun."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tabflow.alerts import channels as ch
from tabflow.alerts.notify import notify_run
from tabflow import contract as C
from tests.support.default_dataset import facts
from tests.support.pipeline_runs import RETRAIN, SMALL, out
from tests.support.receivers import http_receiver, smtp_receiver

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ALL_KINDS = ["failed", "stopped", "not_blessed", "pushed", "unchanged"]


def with_alerts(config, **changes):
    return config.replace(alert_on=ALL_KINDS, alert_retries=1, alert_backoff_seconds=0.05,
                          **changes)


def test_pushed_run_notifies_version_and_auc(retrain_config, three_runs):
    run = three_runs[1]
    pushed = out(run, C.PUSHER, C.PUSHED_MODEL_KEY)
    version = pushed.custom_properties[C.PUSHED_VERSION_PROPERTY].string_value
    with http_receiver() as server, smtp_receiver() as (port, mailbox):
        config = with_alerts(retrain_config, smtp_host="127.0.0.1", smtp_port=port,
                             alert_email_to=["ml-oncall@example.com"])
        result = notify_run(config, run.run_id, environ={ch.WEBHOOK_URL_VARIABLE: server.url})
    assert result == {"webhook": None, "email": None}
    [post] = server.received
    assert f"pushed as version {version}" in post["body"]["text"]
    assert "test AUC 0." in post["body"]["blocks"][1]["text"]["text"]
    [message] = mailbox.messages
    assert message["Subject"].startswith("[pushed] taxi: ")
    assert run.run_id in message.get_content()


def test_unblessed_run_names_the_failed_threshold(retrain_config, strict_run):
    with http_receiver() as server:
        notify_run(with_alerts(retrain_config, webhook_format="json"), strict_run.run_id,
                   environ={ch.WEBHOOK_URL_VARIABLE: server.url})
    [post] = server.received
    body = post["body"]
    assert body["kind"] == "not_blessed" and body["run_id"] == strict_run.run_id
    # The strict run asks for AUC >= 0.9999; the message carries the metric, value and rule.
    [check] = [c for c in body["facts"]["failed_checks"] if c["rule"] == ">= 0.9999"]
    assert check["metric"] == "auc" and check["value"] < 0.9999
    assert any(r.startswith("auc: ") and "needs >= 0.9999" in r for r in body["reasons"])


def test_gate_stop_lists_the_anomalies(e2e_config, drifted_run):
    with http_receiver() as server, smtp_receiver() as (port, mailbox):
        config = with_alerts(e2e_config, smtp_host="127.0.0.1", smtp_port=port,
                             alert_email_to=["ml-oncall@example.com"], webhook_format="json")
        notify_run(config, drifted_run, environ={ch.WEBHOOK_URL_VARIABLE: server.url})
    body = server.received[0]["body"]
    assert body["kind"] == "stopped" and body["facts"]["gate"] == "data"
    assert any(facts().slice_column in r for r in body["reasons"])
    [message] = mailbox.messages
    assert "STOPPED AT THE DATA GATE" in message["Subject"]
    assert facts().slice_column in message.get_content()


def test_run_command_notifies_and_a_dead_receiver_does_not_fail_it(retrain_config, three_runs,
                                                                   tmp_path):
    env = {**os.environ, **{f"TAXI_{k.upper()}": str(v) for k, v in {**SMALL, **RETRAIN}.items()},
           "TAXI_OUTPUT_ROOT": retrain_config.output_root, "TAXI_ALERT_ON": "unchanged failed",
           "TAXI_ALERT_RETRIES": "1", "TAXI_ALERT_BACKOFF_SECONDS": "0.05"}
    with http_receiver(fail_first=1) as server:
        env[ch.WEBHOOK_URL_VARIABLE] = server.url
        env["TAXI_OPENLINEAGE_URL"] = server.url.rsplit("/", 1)[0]
        done = subprocess.run([sys.executable, "-m", "tabflow.console", "run"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "notified:      webhook" in done.stdout
    assert "metrics:       textfile" in done.stdout
    assert "lineage:       openlineage http" in done.stdout
    [post] = [p for p in server.received if p["path"] == "/hook"]
    lineage = [p["body"] for p in server.received if p["path"] == "/api/v1/lineage"]
    # The webhook came first, its first try answered 503 and was retried.
    assert server.attempts == 2 + len(lineage)
    assert "nothing new pushed" in post["body"]["text"]

    # The textfile holds the run MLMD recorded: every component served from the cache.
    from tabflow.metadata.runs import list_runs
    from tabflow.metadata.store import open_store
    latest = list_runs(open_store(retrain_config.store), retrain_config.pipeline_name, 1)[0]
    text = (Path(retrain_config.output_root) / "metrics" / "taxi.prom").read_text()
    found = {(s.name, tuple(sorted(s.labels.items()))): s.value
             for family in text_string_to_metric_families(text) for s in family.samples}
    assert found[("tabflow_run_info", (("pipeline", "taxi"), ("run_id", latest.run_id),
                                             ("runner", "local"), ("status", "COMPLETE")))] == 1
    # The counts are MLMD's (RunProvenance records this run's settings, alerts included, so it
    # runs again); the training half of the pipeline came from the cache.
    states = {n: st for n, st in latest.components.items() if n not in C.RESOLVERS}
    assert states[C.TRAINER] == states[C.EVALUATOR] == states[C.PUSHER] == "CACHED"
    for state, label in (("CACHED", "cached"), ("COMPLETE", "executed")):
        assert found[("tabflow_components", (("pipeline", "taxi"), ("state", label)))] \
            == sum(1 for st in states.values() if st == state)
    assert found[("tabflow_model_headline", (("metric", "auc"), ("model", "candidate"),
                                             ("pipeline", "taxi"), ("slice", "overall")))] > 0.5
    assert found[("tabflow_last_push_timestamp_seconds", (("pipeline", "taxi"),))] > 0

    # The OpenLineage events of the same run: the pipeline's START and COMPLETE around a START
    # and a COMPLETE for each execution MLMD recorded.
    from tabflow.metadata.runs import run_executions
    records = run_executions(open_store(retrain_config.store), retrain_config.pipeline_name,
                             latest.run_id)
    assert len(lineage) == 2 + 2 * len(records)
    assert [e["eventType"] for e in (lineage[0], lineage[-1])] == ["START", "COMPLETE"]
    assert {e["run"]["facets"]["tabflow_execution"]["pipelineRunId"]
            for e in lineage[1:-1]} == {latest.run_id}

    # The same run with the receiver gone: the run's result stands, the failure is one line.
    env[ch.WEBHOOK_URL_VARIABLE] = server.url
    done = subprocess.run([sys.executable, "-m", "tabflow.console", "run"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "WARNING: could not deliver to webhook" in done.stderr
    assert "WARNING: could not deliver to openlineage http" in done.stderr
