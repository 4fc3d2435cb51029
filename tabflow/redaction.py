"""Keeping secrets out of everything the project shows or records: printed settings, provenance
in MLMD, compiled specs, HTML pages, log files, OpenLineage events and error messages.

Three things are masked as "***":
- settings whose name says they hold a secret (`*password`, `*secret`, `*token`, `*api_key`);
- credentials inside URLs: the userinfo's password (`https://user:***@host/`), a bare userinfo
  (often a token: `https://***@host/`) and secret-looking query parameters (`?token=***`);
- the values of the secret environment variables and every secret the process has read
  (`remember`), wherever they appear in a text, plus `password: "..."`-style pairs such as
  those of protobuf text (TFX logs the MLMD connection config, password included).

The secrets themselves are read from the environment or from files only, never from settings.
"""
import logging
import os
import re
import threading
from typing import Any, Mapping, Optional, Set
from urllib.parse import urlsplit, urlunsplit

from tabflow import environment

MASK = "***"
MYSQL_PASSWORD = "MYSQL_PASSWORD"
MYSQL_PASSWORD_VARIABLE = environment.name(MYSQL_PASSWORD)
# Environment variables that hold secrets (by suffix, under either prefix): they are no
# settings, and their values are masked.
SECRET_SUFFIXES = (MYSQL_PASSWORD, "ALERT_WEBHOOK_URL", "ALERT_SMTP_PASSWORD",
                   "OPENLINEAGE_API_KEY")
SECRET_VARIABLES = tuple(key for suffix in SECRET_SUFFIXES for key in environment.names(suffix))
# Shorter values would mask ordinary words and numbers all over a log; the key=value patterns
# below still catch a short password where it is labelled.
MIN_SECRET_LENGTH = 4

_SECRET_WORD = r"(?:password|passwd|secret|token|api_?key|apikey|auth|signature|sig)"
_SECRET_NAME = re.compile(rf"(?:^|[_-]){_SECRET_WORD}$", re.IGNORECASE)
# In a URL's query string a bare `key` is an API key too (?key=...).
_SECRET_PARAMETER = re.compile(rf"(?:^|[_-])(?:{_SECRET_WORD}|key)$", re.IGNORECASE)
# `password: "x"` (protobuf text), `"mysql_password": "x"` (JSON), `password=x` (flags, DSNs).
_LABELLED = re.compile(
    rf"""(?i)\b(\w*{_SECRET_WORD})(["']?\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;&"'}}\]]+)""")
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")

_remembered: Set[str] = set()
_lock = threading.Lock()


def is_secret_setting(name: str) -> bool:
    """True for a setting named like a secret (mysql_password, api_token); a file holding one
    (mysql_password_file) is not itself secret."""
    return bool(_SECRET_NAME.search(name))


def remember(value: Optional[str]) -> None:
    """Masks `value` from now on in this process (a secret read from a file or a variable)."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _lock:
            _remembered.add(value)


def known_secrets(environ: Optional[Mapping[str, str]] = None) -> Set[str]:
    environ = os.environ if environ is None else environ
    values = {environ.get(name, "") for name in SECRET_VARIABLES}
    with _lock:
        values |= _remembered
    return {v for v in values if len(v) >= MIN_SECRET_LENGTH}


def mask_url(url: str) -> str:
    """`url` with its credentials masked: scheme://user:***@host/path?token=***. A URL
    without a scheme (user:pw@host:9091, as a Pushgateway address may be given) too."""
    if "://" not in url and "@" in url.split("/", 1)[0]:
        return mask_url("//" + url)[2:]
    try:
        parts = urlsplit(url)
    except ValueError:  # not parseable (a broken IPv6 host): keep only the scheme
        return url.split("://", 1)[0] + "://" + MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if colon else f"{MASK}@{host}"
    query = "&".join(_mask_query_pair(pair) for pair in parts.query.split("&")) \
        if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _mask_query_pair(pair: str) -> str:
    key, equals, value = pair.partition("=")
    return f"{key}={MASK}" if equals and value and _SECRET_PARAMETER.search(key) else pair


def redact_text(text: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """`text` with every known secret value, URL credential and labelled secret masked."""
    if not text:
        return text
    for value in sorted(known_secrets(environ), key=len, reverse=True):
        text = text.replace(value, MASK)
    text = _URL.sub(lambda m: mask_url(m.group(0)), text)
    return _LABELLED.sub(_mask_labelled, text)


def _mask_labelled(match: "re.Match") -> str:
    name, separator, value = match.groups()
    quote = value[0] if value[0] in "\"'" else ""
    return f"{name}{separator}{quote}{MASK}{quote}"


def redact_settings(value: Any, name: str = "") -> Any:
    """A copy of a settings structure (dicts, lists, strings) as it may be shown or recorded:
    secret-named settings masked when set, URL credentials and known secrets masked in the
    rest."""
    if isinstance(value, Mapping):
        return {k: redact_settings(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_settings(v, name) for v in value]
    if isinstance(value, str):
        if value and is_secret_setting(name):
            return MASK
        return redact_text(mask_url(value) if name.endswith("_url") else value)
    return value


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and its traceback) with redact_text, on a handler:
    a handler's filters see the records of every logger that reaches it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed third-party record is left as it is
            return True
        record.msg, record.args = redact_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True

