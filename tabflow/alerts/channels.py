"""Delivering an Outcome: a webhook (Slack-compatible JSON or a generic JSON body) and e-mail
over SMTP, each retried with exponential backoff. Delivery never raises: a channel that keeps
failing is logged and reported back, and the run's own result stands.

Secrets never come from settings (settings are printed by `config` and recorded in MLMD with
the run's provenance): the webhook URL is read from TABFLOW_ALERT_WEBHOOK_URL and the SMTP
password from TABFLOW_ALERT_SMTP_PASSWORD, when the notification is sent. E-mail goes over TLS
(STARTTLS or SMTPS) with the server's certificate and host name verified; a login without TLS
is refused by the settings unless smtp_allow_plaintext_login is true (tabflow/config/alerts.py).
"""
import json
import logging
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Callable, Dict, List, Mapping, Optional

from tabflow import environment
from tabflow.alerts.outcome import Outcome
from tabflow.redaction import redact_text, remember

WEBHOOK_URL = "ALERT_WEBHOOK_URL"
SMTP_PASSWORD = "ALERT_SMTP_PASSWORD"
WEBHOOK_URL_VARIABLE = environment.name(WEBHOOK_URL)
SMTP_PASSWORD_VARIABLE = environment.name(SMTP_PASSWORD)
WEBHOOK_FORMATS = ("slack", "json")
_ICONS = {"failed": ":x:", "stopped": ":no_entry:", "not_blessed": ":warning:",
          "pushed": ":white_check_mark:", "unchanged": ":information_source:",
          "succeeded": ":white_check_mark:"}

log = logging.getLogger(__name__)


def slack_body(outcome: Outcome) -> dict:
    """Slack's incoming-webhook JSON: `text` for notifications and clients without blocks."""
    reasons = "\n".join(f"• {r}" for r in outcome.reasons)
    return {
        "text": f"{_ICONS[outcome.kind]} {outcome.title}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn",
                                         "text": f"{_ICONS[outcome.kind]} *{outcome.title}*"}},
            *([{"type": "section", "text": {"type": "mrkdwn", "text": reasons[:2900]}}]
              if reasons else []),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": (
                f"run `{outcome.run_id}` on {outcome.runner}, pipeline `{outcome.pipeline}`")}]},
        ],
    }


def json_body(outcome: Outcome) -> dict:
    return {"source": "tabflow", **outcome.as_dict()}


def email_message(outcome: Outcome, sender: str, recipients: List[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"[{outcome.kind.replace('_', ' ')}] {outcome.title}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message.set_content(outcome.text() + "\n\n" + json.dumps(outcome.facts, indent=2,
                                                              default=str) + "\n")
    return message


def post_json(url: str, body: dict, timeout: float) -> None:
    request = urllib.request.Request(url, data=json.dumps(body, default=str).encode(),
                                     headers={"Content-Type": "application/json"},
                                     method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if not 200 <= response.status < 300:
            raise OSError(f"HTTP {response.status}")


def tls_context(alerts) -> ssl.SSLContext:
    """Verifies the server's certificate chain and host name: against smtp_ca_file when set
    (a private CA), else the system's CAs."""
    return ssl.create_default_context(cafile=alerts.smtp_ca_file or None)


def send_email(alerts, message: EmailMessage, password: Optional[str]) -> None:
    timeout = alerts.alert_timeout_seconds
    if alerts.smtp_ssl:
        smtp = smtplib.SMTP_SSL(alerts.smtp_host, alerts.smtp_port, timeout=timeout,
                                context=tls_context(alerts))
    else:
        smtp = smtplib.SMTP(alerts.smtp_host, alerts.smtp_port, timeout=timeout)
    with smtp:
        if alerts.smtp_starttls:
            # Raises when the server does not offer STARTTLS: no silent fall back to clear text.
            smtp.starttls(context=tls_context(alerts))
        if alerts.smtp_user:
            smtp.login(alerts.smtp_user, password or "")
        smtp.send_message(message)


def with_retries(name: str, send: Callable[[], None], retries: int, backoff: float,
                 sleep: Callable[[float], None] = time.sleep) -> Optional[str]:
    """Calls `send` up to 1 + `retries` times, waiting backoff, 2x backoff, ... between tries.
    None when it went through, else the last error's text."""
    error = None
    for attempt in range(retries + 1):
        try:
            send()
            return None
        except (OSError, smtplib.SMTPException, ValueError) as e:
            # HTTPError, URLError, timeouts and refused connections (and TLS failures) are
            # all OSErrors.
            error = redact_text(f"{type(e).__name__}: {e}")
            log.warning("alert via %s: attempt %d of %d failed: %s", name, attempt + 1,
                        retries + 1, error)
            if attempt < retries:
                sleep(backoff * (2 ** attempt))
    return error


def channels(alerts, environ: Optional[Mapping[str, str]] = None) -> List[str]:
    """The channels the settings and the environment switch on."""
    environ = os.environ if environ is None else environ
    out = []
    if environment.get(WEBHOOK_URL, environ):
        out.append("webhook")
    if alerts.smtp_host and alerts.alert_email_to:
        out.append("email")
    return out


def deliver(outcome: Outcome, alerts, environ: Optional[Mapping[str, str]] = None,
            sleep: Callable[[float], None] = time.sleep) -> Dict[str, Optional[str]]:
    """Sends `outcome` to every configured channel when its kind is in `alert_on`.
    {channel: None if delivered, else the error}; never raises."""
    environ = os.environ if environ is None else environ
    results: Dict[str, Optional[str]] = {}
    if outcome.kind not in alerts.alert_on:
        return results
    for channel in channels(alerts, environ):
        if channel == "webhook":
            body = slack_body(outcome) if alerts.webhook_format == "slack" else json_body(outcome)
            url = environment.get(WEBHOOK_URL, environ)
            remember(url)

            def send(url=url, body=body):
                post_json(url, body, alerts.alert_timeout_seconds)
        else:
            message = email_message(outcome, alerts.alert_email_from, alerts.alert_email_to)

            password = environment.get(SMTP_PASSWORD, environ) or None
            remember(password)

            def send(message=message, password=password):
                send_email(alerts, message, password)
        try:
            results[channel] = with_retries(channel, send, alerts.alert_retries,
                                            alerts.alert_backoff_seconds, sleep)
        except Exception as e:  # noqa: BLE001 - a notification must never fail the run
            results[channel] = redact_text(f"{type(e).__name__}: {e}")
            log.exception("alert via %s failed", channel)
    return results
