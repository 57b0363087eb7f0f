"""Where log lines go and what they look like: a level, and text or JSON, from the settings.

`sanal` writes its log to stderr (systemd's journal takes it from there). Two formats:

* ``text`` (the default): ``2027-03-02 10:00:00,123 INFO bot.web: ...``, for people;
* ``json``: one JSON object a line, for log shippers (Loki, Vector, journald's JSON
  export): ``time`` (ISO 8601 with its offset), ``level``, ``logger``, ``message``, the
  record's extra fields (an access line's ``method``, ``path``, ``status``...), and
  ``exception`` when there is one.

Redaction happens before either format sees a record (bot/core/log_redact.py masks numbers and
secrets in the message and the traceback when the record is made); extra fields are set
on the record after that, so they are masked here, in the JSON formatter.

The level and format are applied twice: at `sanal`'s start from the command line (``-v``),
and again once a command has read its settings (``SANAL_LOG_LEVEL``, ``SANAL_LOG_FORMAT``).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.core import log_redact
from bot.core.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes every LogRecord has: anything else on a record came as an ``extra``.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in line:
                line[key] = _clean(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = log_redact.redact(self.formatException(record.exc_info))
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


def _clean(value: Any) -> Any:
    """An extra field as JSON, with numbers and secrets masked like the message."""
    if isinstance(value, str):
        return log_redact.redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return log_redact.redact(str(value))


class _Stderr(logging.StreamHandler[TextIO]):
    """A handler on whatever ``sys.stderr`` is when a line is written (a test runner may
    swap it and close the old one), as logging's own last-resort handler does."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler's __init__ sets it
        pass


_handler: _Stderr | None = None
_verbose = False


def start(*, verbose: bool = False) -> None:
    """At `sanal`'s start, before the settings are read: text, INFO (DEBUG with ``-v``)."""
    global _verbose
    _verbose = verbose
    configure(logging.DEBUG if verbose else logging.INFO, "text")


def apply(settings: Settings) -> None:
    """Once a command has its settings: their level and format (``-v`` keeps DEBUG)."""
    configure(logging.DEBUG if _verbose else settings.log_level, settings.log_format)


def configure(level: str | int = logging.INFO, fmt: str = "text") -> None:
    """Log at ``level`` to stderr in ``fmt`` ("text" or "json").

    Like ``logging.basicConfig``, only where nobody else has set logging up: a host
    application or a test runner keeps its own handlers and level."""
    global _handler
    root = logging.getLogger()
    formatter = JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)
    if _handler is not None and _handler in root.handlers:
        _handler.setFormatter(formatter)
        root.setLevel(level)
    elif not root.handlers:
        _handler = _Stderr()
        _handler.setFormatter(formatter)
        root.addHandler(_handler)
        root.setLevel(level)
    # No number or token in any line, whichever format (bot/core/log_redact.py).
    log_redact.install()
