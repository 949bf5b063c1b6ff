"""A projection process that follows the log until it is killed (PostgreSQL store)."""

from __future__ import annotations

import argparse
import threading

from jam.application import JamApplication
from jam.settings import Settings
from projections.db import PostgresViews
from projections.projector import Projector
from projections.runner import ProjectionRunner


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--views-schema", required=True)
    parser.add_argument("--page-size", type=int, default=25)
    args = parser.parse_args()
    app = JamApplication(Settings(database_url=args.database_url, database_schema=args.schema))
    views = PostgresViews(args.database_url, args.views_schema)
    runner = ProjectionRunner(
        app.recorder,
        views,
        Projector(app.mapper.transcoder.views_decoder),
        page_size=args.page_size,
        on_updates=lambda updates: print("AT", updates[-1].position, flush=True),
    )
    print("START", runner.position, flush=True)
    runner.start()
    threading.Event().wait()  # until killed


if __name__ == "__main__":
    main()
