"""Logging for the processes: readable text for the demo, one JSON object a line in production.

JSON lines carry `time`, `level`, `logger` and `message`, then whatever the call
passed as `extra=` (request id, route, status, duration...) and the request id of
the request being served, so a log collector can index them without parsing text.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import logging.handlers
import queue
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import msgspec

from jam.settings import Settings

# The request being served, if any: set by the web layer, read by every log record.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "openjam_request_id", default=None
)

# Attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's copy of the message with terminal colours
}
_encoder = msgspec.json.Encoder(enc_hook=str)  # anything unusual in `extra` becomes text


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's `extra=` fields, led by the request id (fixed on the record when it
    was handed to another thread, else the one being served now)."""
    extra = {k: v for k, v in vars(record).items() if k not in _STANDARD}
    current = extra.pop("request_id", None) or request_id.get()
    return extra if current is None else {"request_id": current, **extra}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_fields(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encoder.encode(line).decode()


class TextFormatter(logging.Formatter):
    """The usual one-line text, with the `extra=` fields appended as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = _fields(record)
        if not extra:
            return text
        first, newline, rest = text.partition("\n")  # keep a traceback below the fields
        fields = " ".join(f"{k}={v}" for k, v in extra.items())
        return f"{first} {fields}{newline}{rest}"


class _HandedOver(logging.handlers.QueueHandler):
    """Queues records for a writer thread, with what only this thread knows fixed first.

    The web process's event loop serves every request in one thread; writing each
    request's line to stderr there made it let go of the interpreter at every line
    and wait to get it back.
    """

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record.msg, record.args = record.getMessage(), None
        current = request_id.get()
        if current is not None and "request_id" not in vars(record):
            record.request_id = current
        return record


_writer: logging.handlers.QueueListener | None = None


@atexit.register
def _stop_writer() -> None:
    """Write what the writer thread still holds, and stop it."""
    global _writer
    if _writer is not None:
        _writer.stop()
        _writer = None


def configure_logging(
    settings: Settings, stream: TextIO | None = None, *, handed_over: bool = False
) -> None:
    """Send every logger's records (ours, uvicorn's, the libraries') to one handler.

    `handed_over`: format and write them in a thread of their own (web processes),
    in the order they were made; lines still queued when the process is killed
    outright are lost, the others are written before it exits.
    """
    global _writer
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    _stop_writer()
    if handed_over:
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        _writer = logging.handlers.QueueListener(records, handler)
        _writer.start()
        root.addHandler(_HandedOver(records))
    else:
        root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own handlers would print a second, differently formatted line.
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
