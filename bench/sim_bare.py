"""The ceiling of the web stack: a bare litestar app with one trivial JSON endpoint,
served exactly as `jam serve` serves OpenJam (uvicorn, same log level, same
worker count), so the simulation can compare requests/s in the same run.

    .venv/bin/python -m bench.sim_bare --port 8400 [--workers N]
"""

from __future__ import annotations

import argparse

import uvicorn
from litestar import Litestar, get


@get("/ping", sync_to_thread=False)
def ping() -> dict[str, object]:
    return {"status": "ok", "position": 1}


app = Litestar(route_handlers=[ping])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8400)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.workers == 1:
        uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    else:
        target = "bench.sim_bare:app"
        uvicorn.run(target, host=args.host, port=args.port, workers=args.workers, log_level="info")


if __name__ == "__main__":
    main()
