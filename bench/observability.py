"""What does measuring and logging each request cost the web stack?

Three apps serve the same tiny JSON handler: bare litestar (the baseline), with our
`observe` middleware (request id, Prometheus counter and histogram) logging nowhere,
and with it writing one JSON log line per request (to /dev/null). Requests go
straight to the ASGI app, without sockets, so the figures are the stack's own
cost; the best of several rounds counts.

    .venv/bin/python -m bench.observability [--requests 5000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time

from litestar import Litestar, get

from jam.logs import configure_logging
from jam.settings import Settings
from ui.metrics import observe


@get("/ping", sync_to_thread=False)
def ping() -> dict[str, str]:
    return {"status": "ok"}


def app(with_observe: bool) -> Litestar:
    return Litestar([ping], middleware=[observe] if with_observe else [], logging_config=None)


async def serve_requests(asgi: Litestar, count: int) -> float:
    """Requests per second for `count` sequential GET /ping calls."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/ping",
        "raw_path": b"/ping",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: object) -> None:
        return None

    started = time.perf_counter()
    for _ in range(count):
        await asgi(dict(scope), receive, send)  # type: ignore[arg-type]
    return count / (time.perf_counter() - started)


def best_rates(apps: list[Litestar], count: int, rounds: int) -> list[float]:
    """The best rate of each app over `rounds`, the apps taking turns in each round, so
    that other load on the machine falls on all of them alike."""

    async def run() -> list[float]:
        for asgi in apps:
            await serve_requests(asgi, 200)  # warm up
        found = [0.0] * len(apps)
        for _ in range(rounds):
            for i, asgi in enumerate(apps):
                found[i] = max(found[i], await serve_requests(asgi, count))
        return found

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with open(os.devnull, "w") as devnull:
        configure_logging(Settings(log_format="json"), stream=devnull)
        access = logging.getLogger("openjam.access")
        measured, logged = app(with_observe=True), app(with_observe=True)

        def toggled(asgi: Litestar, on: bool) -> Litestar:
            async def call(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
                access.disabled = not on  # the log line is written, or skipped at once
                await asgi(scope, receive, send)

            return call  # type: ignore[return-value]

        rates = best_rates(
            [app(with_observe=False), toggled(measured, False), toggled(logged, True)],
            args.requests,
            args.rounds,
        )

    bare = rates[0]
    print(f"{'app':<42} {'requests/s':>12} {'vs bare':>8} {'µs added':>9}")
    names = (
        "bare litestar",
        "+ observe (metrics, request id)",
        "+ observe + one JSON log line a request",
    )
    for name, rate in zip(names, rates, strict=True):
        added = (1 / rate - 1 / bare) * 1e6
        print(f"{name:<42} {rate:>12,.0f} {rate / bare:>8.2f} {added:>9.1f}")


if __name__ == "__main__":
    main()
