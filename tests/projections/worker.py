"""A projection process for the crash test: catches up page by page, printing positions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jam.application import JamApplication
from jam.settings import Settings
from projections.db import PostgresViews, SQLiteViews
from projections.projector import Projector
from projections.runner import ProjectionRunner


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir")
    parser.add_argument("--views")
    parser.add_argument("--database-url")
    parser.add_argument("--schema", default="")
    parser.add_argument("--views-schema", default="")
    parser.add_argument(
        "--hold-after", type=int, default=0, help="after N pages, wait for a line on stdin"
    )
    args = parser.parse_args()
    if args.database_url:
        settings = Settings(database_url=args.database_url, database_schema=args.schema)
        views = PostgresViews(args.database_url, args.views_schema)
    else:
        settings = Settings(data_dir=Path(args.data_dir))
        views = SQLiteViews(Path(args.views))
    app = JamApplication(settings)
    runner = ProjectionRunner(
        app.recorder, views, Projector(app.mapper.transcoder.views_decoder), page_size=25
    )
    print("START", runner.position, flush=True)
    pages = 0

    def progress(done: int, total: int) -> None:
        nonlocal pages
        print("AT", done, flush=True)
        pages += 1
        if pages == args.hold_after:
            # Holding here keeps the stream unfinished however fast this process is, so
            # the test's kill lands in the middle of it.
            sys.stdin.readline()

    runner.catch_up(progress=progress)
    print("DONE", runner.position, flush=True)


if __name__ == "__main__":
    main()
