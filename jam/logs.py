"""Logging for the processes: readable text for the demo, one JSON object a line in production.

JSON lines carry `time`, `level`, `logger` and `message`, then whatever the call
passed as `extra=` (request id, route, status, duration...) and the request id of
the request being served, so a log collector can index them without parsing text.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import sys
import threading
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


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = request_id.get()
        if current is not None:
            line["request_id"] = current
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encoder.encode(line).decode()


# Control characters as escapes: C0 (CR and LF among them), DEL, C1 (NEL among them) and
# the Unicode line and paragraph separators, all of which some reader takes for a new line.
_ESCAPES = {
    **{c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))},
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def one_line(text: str) -> str:
    """`text` with its control characters escaped: it cannot start a line of its own."""
    return text.translate(_ESCAPES)


class TextFormatter(logging.Formatter):
    """The usual text, with the `extra=` fields appended as key=value: one record a line.

    Messages and values carry what clients sent (a request's path): written as they are,
    a newline in them would start a line that reads as a record of its own. So every
    control character is escaped; a traceback follows on lines of its own, each indented.
    """

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        record.asctime = self.formatTime(record, self.datefmt)
        parts = [self.formatMessage(record)]
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        current = request_id.get()
        if current is not None:
            extra = {"request_id": current, **extra}
        parts += (f"{k}={v}" for k, v in extra.items())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        below = [record.exc_text or "", self.formatStack(record.stack_info or "")]
        # A traceback stays readable on the lines below, each indented: none of them can
        # pass for a record of its own, whatever an exception's message carries.
        return " ".join(one_line(part) for part in parts) + "".join(
            f"\n    {one_line(line)}" for text in below for line in text.splitlines()
        )


FLUSH_S = 0.1  # how long an access line may wait in a web process's buffer
ACCESS_LOGGERS = frozenset({"openjam.access"})  # one line per request: the ones kept


class BufferedHandler(logging.StreamHandler):
    """Keeps the access log's lines and writes them together, every FLUSH_S or before
    any other record.

    A web process serves every request in its event loop's thread, and writing
    each request's line there made that thread let go of the interpreter at every
    line and wait to get it back (a tenth of a cached read's time). Every other
    record is rare and written at once, after the lines kept before it, so the
    server's last words ("Finished server process") bring everything out even when
    it then ends by re-raising the signal that stopped it (atexit does not run).
    """

    def __init__(
        self, stream: TextIO, every_s: float = FLUSH_S, kept: frozenset[str] = ACCESS_LOGGERS
    ) -> None:
        super().__init__(stream)
        self._kept = kept
        self._lines: list[str] = []
        self._writing = threading.Lock()  # one writer at a time keeps the lines in order
        self._every_s = every_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-flush", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._lines.append(line)  # under the handler's lock (`Handler.handle`)

    def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        emitted = super().handle(record)
        # Outside the handler's lock: `flush` takes the two locks in the flushing
        # thread's order.
        if emitted and (record.name not in self._kept or record.levelno >= logging.WARNING):
            self.flush()
        return bool(emitted)

    def flush(self) -> None:
        with self._writing:
            with self.lock:  # type: ignore[union-attr]
                lines, self._lines = self._lines, []
            if lines:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()

    def close(self) -> None:
        self._stopping.set()
        self.flush()
        super().close()

    def _run(self) -> None:
        while not self._stopping.wait(self._every_s):
            self.flush()


def configure_logging(
    settings: Settings, stream: TextIO | None = None, *, buffered: bool = False
) -> None:
    """Send every logger's records (ours, uvicorn's, the libraries') to one handler, but
    uvicorn's access lines: `openjam.access` logs each request once.

    `buffered` (web processes): lines are written together every FLUSH_S.
    """
    out = stream or sys.stderr
    handler = BufferedHandler(out) if buffered else logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        if isinstance(old, BufferedHandler):
            old.close()  # writes what it holds and stops its thread
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "litestar"):
        # uvicorn's own handlers would print a second, differently formatted line.
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # Off, as uvicorn's `access_log=False` leaves it, here too: each of `jam serve --workers
    # N`'s processes configures its logging again after uvicorn did (ui/asgi.py), and
    # letting these lines propagate logged every request twice, the second past the buffer.
    # uvicorn writes none for a logger without handlers to reach.
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
