"""Run notifications."""
from __future__ import annotations

import dataclasses
from typing import List

from .paths import require


ALERT_KINDS = ("failed", "stopped", "not_blessed", "pushed", "unchanged", "succeeded")


@dataclasses.dataclass
class AlertsConfig:
    """Notifications when a run ends (alerts/). The webhook is on when TABFLOW_ALERT_WEBHOOK_URL
    is set, e-mail when smtp_host and alert_email_to are. Secrets (the webhook URL, the SMTP
    password in TABFLOW_ALERT_SMTP_PASSWORD) are read from the environment only: settings are
    printed by `config` and recorded with every run."""
    # Which outcomes notify: failed, stopped (a gate), not_blessed, pushed, unchanged, and
    # succeeded (a Vertex run, whose exit handler cannot tell pushed from not blessed).
    alert_on: List[str] = dataclasses.field(
        default_factory=lambda: ["failed", "stopped", "not_blessed", "pushed", "succeeded"])
    # slack: Slack-compatible incoming-webhook JSON; json: the outcome as a generic JSON body.
    webhook_format: str = "slack"
    smtp_host: str = ""
    smtp_port: int = 25
    # STARTTLS on a plain connection, or SMTPS (implicit TLS, usually port 465): either way
    # the server's certificate and host name are verified, against smtp_ca_file if set (a
    # private CA) or else the system's CAs.
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_ca_file: str = ""
    smtp_user: str = ""
    # A login without TLS sends the password in clear text: refused unless this is true.
    smtp_allow_plaintext_login: bool = False
    alert_email_from: str = "tabflow@localhost"
    alert_email_to: List[str] = dataclasses.field(default_factory=list)
    # A failed delivery is tried again this many times, after backoff, 2x, 4x ... seconds.
    alert_retries: int = 3
    alert_backoff_seconds: float = 2.0
    alert_timeout_seconds: float = 10.0

    def validate(self) -> None:
        unknown = sorted(set(self.alert_on) - set(ALERT_KINDS))
        require(not unknown, f"alert_on: unknown outcome(s) {unknown}; choose from "
                              f"{list(ALERT_KINDS)}")
        require(self.webhook_format in ("slack", "json"),
                 f"webhook_format must be slack or json, got {self.webhook_format!r}")
        require(1 <= self.smtp_port <= 65535,
                 f"smtp_port must be in 1..65535, got {self.smtp_port}")
        require(not (self.smtp_starttls and self.smtp_ssl),
                 "smtp_starttls and smtp_ssl exclude each other: STARTTLS upgrades a plain "
                 "connection, smtp_ssl (SMTPS, port 465) starts with TLS")
        require(not self.smtp_user or self.smtp_starttls or self.smtp_ssl
                 or self.smtp_allow_plaintext_login,
                 f"smtp_user: a login to {self.smtp_host or 'the SMTP server'} without TLS sends "
                 "the password in clear text; set smtp_starttls or smtp_ssl, or "
                 "smtp_allow_plaintext_login=true to allow it")
        require(self.alert_retries >= 0, f"alert_retries must be >= 0, got {self.alert_retries}")
        for name in ("alert_backoff_seconds", "alert_timeout_seconds"):
            require(getattr(self, name) >= 0, f"{name} must be >= 0, got {getattr(self, name)}")
