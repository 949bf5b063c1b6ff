"""Long-running worker processes: one loop each, stopped gracefully by SIGTERM or SIGINT.

`run` gives a worker's body what every worker needs: logging as configured, its
metrics served on `OPENJAM_METRICS_PORT` (if set), and a `stop` event that a
signal sets. The body returns once `stop` is set and its work is committed; a
body that raises makes the process log why and exit 1, so a supervisor restarts it.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from prometheus_client import start_http_server

from jam.logs import configure_logging
from jam.settings import Settings

log = logging.getLogger("openjam.worker")

Body = Callable[[Settings, threading.Event], None]
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class WorkerUnavailable(Exception):
    """This build has no such worker; the message says what is missing."""


class WorkerFailed(Exception):
    """The worker's loop stopped by itself; the message says why."""


def run(name: str, body: Body, settings: Settings) -> int:
    """Run `body` until a stop signal; return the process's exit code."""
    configure_logging(settings)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("stopping the %s worker", name, extra={"signal": signal.Signals(signum).name})
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        if settings.metrics_port is not None:
            start_http_server(settings.metrics_port, addr=settings.host)
        log.info("the %s worker is starting", name, extra={"worker": name})
        body(settings, stop)
    except WorkerUnavailable:
        raise
    except WorkerFailed as exc:
        log.error("the %s worker failed: %s", name, exc, extra={"worker": name})
        return 1
    except Exception:  # logged as the rest (one JSON line), then exit 1 for the supervisor
        log.exception("the %s worker failed", name, extra={"worker": name})
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("the %s worker stopped", name, extra={"worker": name})
    return 0
