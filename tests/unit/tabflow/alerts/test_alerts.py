"""alerts/: outcomes from run reviews, the webhook and e-mail bodies, and delivery to real
receivers on loopback (an HTTP server and aiosmtpd), with retries and backoff."""
import contextlib
import json

import pytest

from tabflow.alerts import channels as ch
from tabflow.alerts.outcome import MAX_REASONS, from_review
from tabflow import contract as C
from tabflow.config import PipelineConfig
from tests.support.receivers import free_port, http_receiver, smtp_receiver


def review(status="COMPLETE", failed=(), evaluation=None, push=None, anomalies=None, span=3):
    return {"pipeline": "taxi",
            "run": {"id": "local-1", "runner": "local", "status": status, "seconds": 12.5,
                    "failed_at": list(failed)},
            "data": {"span": span, "anomalies": anomalies},
            "evaluation": evaluation, "push": push}


AUC = {"metric": "auc", "title": "AUC", "higher_is_better": True, "threshold": 0.7,
       "problem_type": "binary"}
RMSE = {"metric": "root_mean_squared_error", "title": "RMSE", "higher_is_better": False,
        "threshold": 60.0, "problem_type": "regression"}


def evaluation(blessed, checks=(), value=0.93, baseline=0.95, headline=AUC):
    metric = headline["metric"]
    return {"blessed": blessed, "threshold_checks": list(checks), "headline": headline,
            "overall": {"candidate": {metric: value},
                        "baseline": {metric: baseline} if baseline is not None else {}}}


def alerts_config(**changes):
    return PipelineConfig.from_flat(**{"alert_retries": 2, "alert_backoff_seconds": 0.01,
                                       "alert_timeout_seconds": 5, **changes}).alerts


# --- outcomes ------------------------------------------------------------------------------

def test_data_gate_stop_lists_every_feature_and_reason_once_with_its_splits():
    lines = {"eval": ["hour: Unexpected data type"],
             "test": ["hour: Unexpected data type"],
             "train": ["hour: Unexpected data type", "region: atlantis (~12%)"]}
    outcome = from_review(review(status="FAILED", failed=[C.ANOMALY_GATE], anomalies=lines),
                          error="AnomalyGate: 4 anomalies")
    assert outcome.kind == "stopped" and outcome.facts["gate"] == "data"
    assert "STOPPED AT THE DATA GATE" in outcome.title and "span 3" in outcome.title
    assert outcome.reasons == ["hour: Unexpected data type (eval, test, train splits)",
                               "region: atlantis (~12%) (train split)"]


def test_drift_gate_stop_takes_the_measurements_from_the_error():
    error = ("span 4 drifted from span 3 (the last span that passed) in 2 measurements of /s; "
             "Transform, Tuner and Trainer will not run:\n  - amount: L-infinity 0.4 > 0.2\n"
             "  - region: Jensen-Shannon 0.3 > 0.1")
    outcome = from_review(review(status="FAILED", failed=[C.DRIFT_GATE]), error=error)
    assert outcome.kind == "stopped" and outcome.facts["gate"] == "drift"
    assert outcome.reasons == ["amount: L-infinity 0.4 > 0.2",
                               "region: Jensen-Shannon 0.3 > 0.1"]


def test_failed_component_and_its_error():
    outcome = from_review(review(status="FAILED", failed=[C.TRAINER]),
                          error="ResourceExhaustedError: OOM when allocating\nmore text")
    assert outcome.kind == "failed" and outcome.facts["component"] == C.TRAINER
    assert "FAILED at Trainer" in outcome.title
    assert outcome.reasons == ["ResourceExhaustedError: OOM when allocating"]


def test_not_blessed_names_metric_value_and_threshold():
    checks = [{"metric": "auc", "kind": "value", "rule": ">= 0.95", "value": 0.93,
               "passed": False},
              {"metric": "auc", "kind": "change", "rule": "change vs baseline >= -0.01",
               "value": -0.02, "passed": False},
              {"metric": "binary_accuracy", "kind": "value", "rule": ">= 0.5", "value": 0.8,
               "passed": True}]
    outcome = from_review(review(evaluation=evaluation(False, checks)))
    assert outcome.kind == "not_blessed"
    assert outcome.reasons == ["auc: 0.9300, needs >= 0.95",
                               "auc: -0.0200, needs change vs baseline >= -0.01"]
    assert outcome.facts["metric"] == "auc" and outcome.facts["value"] == 0.93
    assert outcome.facts["baseline_value"] == 0.95 and len(outcome.facts["failed_checks"]) == 2


def test_pushed_gives_version_headline_and_change():
    push = {"pushed": True, "state": "COMPLETE", "version": "1700000000",
            "destination": "/srv/models/taxi/1700000000"}
    outcome = from_review(review(evaluation=evaluation(True, value=0.96, baseline=0.95),
                                 push=push))
    assert outcome.kind == "pushed" and outcome.facts["version"] == "1700000000"
    assert outcome.facts["change"] == pytest.approx(0.01) and outcome.facts["metric"] == "auc"
    assert outcome.reasons[1] == "test AUC 0.9600 (+0.0100 against the baseline's 0.9500)"


def test_pushed_names_the_datasets_own_headline():
    push = {"pushed": True, "state": "COMPLETE", "version": "2", "destination": "/srv/m/2"}
    first = from_review(review(evaluation=evaluation(True, value=54.1, baseline=None,
                                                     headline=RMSE), push=push))
    assert first.reasons[1] == "test RMSE 54.1000 (no baseline: the first blessed model)"
    assert first.facts["metric"] == "root_mean_squared_error" and first.facts["change"] is None


def test_cached_push_is_unchanged():
    push = {"pushed": True, "state": "CACHED", "version": "1", "destination": "/x/1"}
    outcome = from_review(review(evaluation=evaluation(True), push=push))
    assert outcome.kind == "unchanged"


def test_long_reason_lists_are_cut():
    lines = {"eval": [f"feature 'f{i}': missing" for i in range(MAX_REASONS + 5)]}
    outcome = from_review(review(status="FAILED", failed=[C.ANOMALY_GATE], anomalies=lines))
    assert len(outcome.reasons) == MAX_REASONS + 1 and outcome.reasons[-1] == "... and 5 more"


# --- bodies --------------------------------------------------------------------------------

def test_slack_and_json_bodies():
    outcome = from_review(review(status="FAILED", failed=[C.TRAINER]), error="boom")
    slack = ch.slack_body(outcome)
    assert slack["text"].startswith(":x: ") and outcome.title in slack["text"]
    assert [b["type"] for b in slack["blocks"]] == ["section", "section", "context"]
    generic = ch.json_body(outcome)
    assert generic["kind"] == "failed" and generic["facts"]["error"] == "boom"
    json.dumps(generic)


# --- delivery to real receivers -------------------------------------------------------------

def test_webhook_is_retried_with_backoff_until_it_answers():
    waits = []
    outcome = from_review(review(status="FAILED", failed=[C.TRAINER]), error="boom")
    with http_receiver(fail_first=2) as server:
        result = ch.deliver(outcome, alerts_config(), {ch.WEBHOOK_URL_VARIABLE: server.url},
                            sleep=waits.append)
    assert result == {"webhook": None}
    assert server.attempts == 3 and len(server.received) == 1
    assert waits == [0.01, 0.02]  # exponential
    assert server.received[0]["content_type"] == "application/json"
    assert server.received[0]["body"]["text"].startswith(":x:")


def test_generic_json_webhook():
    outcome = from_review(review(status="FAILED", failed=[C.TRAINER]), error="boom")
    with http_receiver() as server:
        ch.deliver(outcome, alerts_config(webhook_format="json"),
                   {ch.WEBHOOK_URL_VARIABLE: server.url})
    assert server.received[0]["body"]["kind"] == "failed"
    assert server.received[0]["body"]["run_id"] == "local-1"


def test_a_dead_receiver_is_reported_not_raised(caplog):
    outcome = from_review(review(status="FAILED", failed=[C.TRAINER]), error="boom")
    url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    result = ch.deliver(outcome, alerts_config(), {ch.WEBHOOK_URL_VARIABLE: url},
                        sleep=lambda s: None)
    assert "Connection refused" in result["webhook"] or "URLError" in result["webhook"]
    assert sum("attempt" in r.message for r in caplog.records) == 3


def test_email_over_smtp():
    outcome = from_review(review(status="FAILED", failed=[C.ANOMALY_GATE],
                                 anomalies={"eval": ["feature 'amount': too small"]}))
    with smtp_receiver() as (port, mailbox):
        result = ch.deliver(outcome, alerts_config(smtp_host="127.0.0.1", smtp_port=port,
                                                   alert_email_to=["ops@example.com"]), {})
    assert result == {"email": None}
    [message] = mailbox.messages
    assert message["To"] == "ops@example.com"
    assert message["Subject"].startswith("[stopped] taxi: span 3 STOPPED")
    body = message.get_content()
    assert "feature 'amount': too small" in body and '"gate": "data"' in body


def test_outcomes_left_out_of_alert_on_send_nothing():
    outcome = from_review(review(evaluation=evaluation(True),
                                 push={"pushed": True, "state": "CACHED", "version": "1",
                                       "destination": "/x"}))
    with http_receiver() as server:
        result = ch.deliver(outcome, alerts_config(), {ch.WEBHOOK_URL_VARIABLE: server.url})
    assert result == {} and server.attempts == 0


def test_secrets_are_no_settings():
    config = PipelineConfig.from_flat()
    assert "webhook_url" not in config.flat() and "smtp_password" not in config.flat()
    from tabflow.config import unknown_env_variables
    from tabflow.redaction import SECRET_VARIABLES
    assert {ch.WEBHOOK_URL_VARIABLE, ch.SMTP_PASSWORD_VARIABLE} <= set(SECRET_VARIABLES)
    assert unknown_env_variables({v: "x" for v in SECRET_VARIABLES}) == []


def test_bad_alert_settings_are_named():
    with pytest.raises(ValueError, match="alert_on: unknown outcome"):
        PipelineConfig.from_flat(alert_on=["failed", "exploded"])
    with pytest.raises(ValueError, match="webhook_format"):
        PipelineConfig.from_flat(webhook_format="xml")


# --- TLS and logins, against real SMTP servers with a certificate from a test CA ------------

SMTP_PASSWORD = "smtp-Pw-4a9e"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A private CA (ca.pem) and server certificates it signed: for 127.0.0.1 (server.pem)
    and for another host name only (other.pem)."""
    from tests.support.tls import make_tls_files
    return make_tls_files(tmp_path_factory.mktemp("tls"))


class _Logins:
    def __init__(self):
        self.seen = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult
        self.seen.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password.decode() == SMTP_PASSWORD)


@contextlib.contextmanager
def tls_smtp_server(cert_file, implicit_tls=False, auth_require_tls=True):
    """A real SMTP server on 127.0.0.1 with AUTH: STARTTLS offered with `cert_file`, or
    implicit TLS (SMTPS). Yields (port, mailbox, logins)."""
    import ssl
    from aiosmtpd.controller import Controller
    from tests.support.receivers import _Mailbox
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file)
    mailbox, logins, port = _Mailbox(), _Logins(), free_port()
    # aiosmtpd's auth_require_tls looks for STARTTLS only: an SMTPS session is TLS throughout.
    tls = ({"ssl_context": context, "auth_require_tls": False} if implicit_tls
           else {"tls_context": context, "auth_require_tls": auth_require_tls})
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, authenticator=logins,
                            **tls)
    controller.start()
    try:
        yield port, mailbox, logins
    finally:
        controller.stop()


def _send(port, **settings):
    outcome = from_review(review(status="FAILED", failed=[C.TRAINER]), error="boom")
    config = alerts_config(smtp_host="127.0.0.1", smtp_port=port, alert_retries=0,
                           alert_email_to=["ops@example.com"], **settings)
    return ch.deliver(outcome, config, {ch.SMTP_PASSWORD_VARIABLE: SMTP_PASSWORD})["email"]


def test_starttls_refuses_a_certificate_from_an_unknown_ca(tls_files):
    with tls_smtp_server(tls_files["server"]) as (port, mailbox, logins):
        error = _send(port, smtp_starttls=True, smtp_user="ops")
    assert "CERTIFICATE_VERIFY_FAILED" in error and "local issuer" in error
    assert mailbox.messages == [] and logins.seen == []


def test_starttls_with_the_private_ca_logs_in_and_delivers(tls_files):
    with tls_smtp_server(tls_files["server"]) as (port, mailbox, logins):
        error = _send(port, smtp_starttls=True, smtp_user="ops", smtp_ca_file=tls_files["ca"])
    assert error is None
    assert logins.seen == [("ops", SMTP_PASSWORD)] and len(mailbox.messages) == 1


def test_starttls_refuses_a_certificate_for_another_host_name(tls_files):
    with tls_smtp_server(tls_files["other"]) as (port, mailbox, _):
        error = _send(port, smtp_starttls=True, smtp_ca_file=tls_files["ca"])
    assert "CERTIFICATE_VERIFY_FAILED" in error and "IP address mismatch" in error
    assert mailbox.messages == []


def test_smtps_verifies_and_delivers(tls_files):
    with tls_smtp_server(tls_files["server"], implicit_tls=True) as (port, mailbox, logins):
        refused = _send(port, smtp_ssl=True, smtp_user="ops")
        delivered = _send(port, smtp_ssl=True, smtp_user="ops", smtp_ca_file=tls_files["ca"])
    assert "CERTIFICATE_VERIFY_FAILED" in refused and delivered is None
    assert logins.seen == [("ops", SMTP_PASSWORD)] and len(mailbox.messages) == 1


def test_starttls_is_never_skipped_when_the_server_does_not_offer_it():
    with smtp_receiver() as (port, mailbox):
        error = _send(port, smtp_starttls=True)
    assert "STARTTLS extension not supported" in error and mailbox.messages == []


def test_a_login_in_clear_text_is_refused_unless_allowed(tls_files):
    with pytest.raises(ValueError) as e:
        alerts_config(smtp_host="mail.example.com", smtp_user="ops")
    assert "\n" not in str(e.value) and "smtp_allow_plaintext_login" in str(e.value)
    assert "mail.example.com" in str(e.value)
    with pytest.raises(ValueError, match="smtp_starttls and smtp_ssl exclude each other"):
        alerts_config(smtp_starttls=True, smtp_ssl=True)
    with tls_smtp_server(tls_files["server"], auth_require_tls=False) as (port, mailbox, logins):
        error = _send(port, smtp_user="ops", smtp_allow_plaintext_login=True)
    assert error is None and logins.seen == [("ops", SMTP_PASSWORD)]
    assert len(mailbox.messages) == 1
