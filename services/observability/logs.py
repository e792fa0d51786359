"""Log output for operators: plain text (default) or one JSON object per line
(`PORTAL_LOG_FORMAT=json`), with secrets scrubbed from every line either way.

Secrets never reach a log line: the values of the secret settings in the environment are replaced
wherever they appear, and so are the shapes of credentials that could arrive from elsewhere
(bearer tokens, JWTs, Stripe keys, webhook secrets, passwords inside URLs or JSON bodies).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

LOG_FORMAT_ENV = "PORTAL_LOG_FORMAT"
FORMATS = ("text", "json")
REDACTED = "[redacted]"

# Environment variables whose values are secrets (checked by name, so a new PORTAL_*_KEY is covered).
_SECRET_NAME = re.compile(r"(SECRET|KEY|TOKEN|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
_URL_NAMES = ("PORTAL_DATABASE_URL", "PORTAL_SMTP_URL", "PORTAL_BLOB_URL", "PORTAL_SMS_URL")
_PATTERNS = (
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"), REDACTED),
    (re.compile(r"\b(sk|rk)_(live|test)_[A-Za-z0-9_]+"), REDACTED),
    (re.compile(r"\bwhsec_[A-Za-z0-9_-]+"), REDACTED),
    (re.compile(r"(://[^/\s:@]+:)[^@\s/]+@"), r"\1" + REDACTED + "@"),
    (
        re.compile(r'(?i)("?(?:password|secret|token|refresh_token|access_token)"?\s*[:=]\s*"?)[^",&\s}]+'),
        r"\1" + REDACTED,
    ),
)


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """The secret values configured in the environment (long enough to be worth matching)."""
    env = os.environ if environ is None else environ
    found: list[str] = []
    for name, value in env.items():
        if not name.startswith(("PORTAL_", "AWS_")) or len(value) < 8:
            continue
        if _SECRET_NAME.search(name):
            found.append(value)
        elif name in _URL_NAMES:
            password = re.search(r"://[^/\s:@]+:([^@\s/]+)@", value)
            if password and len(password.group(1)) >= 4:
                found.append(password.group(1))
    return sorted(set(found), key=len, reverse=True)


class Redactor:
    """Scrubs known secret values and credential shapes out of text. Thread-safe (immutable)."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.values = tuple(v for v in values if v)

    def __call__(self, text: str) -> str:
        for value in self.values:
            if value in text:
                text = text.replace(value, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


# Attributes every LogRecord has; anything else was passed with `extra=` and is worth keeping.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, plus `extra=` fields and exceptions."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redactor or Redactor(secret_values())

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.redact(record.getMessage()),
            "pid": record.process,
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _http, status = record.args
            out.update(client=client, method=method, path=self.redact(str(path)), status=status)
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out:
                out[key] = self.redact(value) if isinstance(value, str) else _plain(value, self.redact)
        if record.exc_info:
            out["exception"] = self.redact(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


class RedactingTextFormatter(logging.Formatter):
    """The plain-text format, with the same scrubbing as the JSON one."""

    def __init__(self, fmt: str, redactor: Redactor | None = None) -> None:
        super().__init__(fmt)
        self.redact = redactor or Redactor(secret_values())

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def _plain(value: Any, redact: Redactor) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return redact(str(value))
    return json.loads(redact(json.dumps(value)))


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_format(environ: Mapping[str, str] | None = None) -> str:
    """`text` or `json`, from PORTAL_LOG_FORMAT; anything else is refused with a clear message."""
    value = ((os.environ if environ is None else environ).get(LOG_FORMAT_ENV) or "text").strip().lower()
    if value not in FORMATS:
        raise ValueError(f"{LOG_FORMAT_ENV} must be 'text' or 'json', not {value!r}")
    return value


def configure_logging(level: int | str = logging.WARNING, fmt: str | None = None) -> str:
    """Send every logger (uvicorn's included) through one scrubbing handler on stderr."""
    fmt = fmt or log_format()
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else RedactingTextFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return fmt
