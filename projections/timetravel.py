"""Views "as of" a past log position or time, for the organizer's timeline.

The read models are rebuilt into a scratch SQLite database by replaying the log
up to the position asked for, passing over events that happened after the time
asked for. The live read models are never touched.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from projections.db import SQLiteViews
from projections.projector import TRACKING_NAME, Projector
from projections.runner import LogReader
from projections.schema import create_tables

PAGE = 5000


@contextmanager
def views_as_of(
    log_recorder: LogReader,
    projector: Projector,
    *,
    position: int | None = None,
    at: datetime | None = None,
) -> Iterator[SQLiteViews]:
    """Scratch read models as they stood at `position` and/or time `at`.

    The replay uses a fresh copy of `projector`: the live projection's own keeps idea
    state in memory for the page that follows its last, and a replay ending at the same
    position would leave it the past's tallies to count on.
    """
    projector = projector.fresh()

    kept = [0]  # the position of the last event kept: the scratch read models' position

    def before(event_position: int, timestamp: datetime) -> bool:
        if at is None or timestamp <= at:
            kept[0] = event_position
            return True
        return False

    with tempfile.TemporaryDirectory(prefix="openjam-asof-") as scratch:
        views = SQLiteViews(Path(scratch) / "views.sqlite3")
        try:
            with views.transaction() as cur:
                create_tables(cur)
            start = 1
            while True:
                page = log_recorder.select_rows(start, PAGE, stop=position)
                if not page:
                    break
                with views.transaction() as cur:
                    projector.apply(cur, page, keep=before, publish=False)
                    cur.execute(
                        "INSERT INTO rm_tracking (name, position) VALUES (?, ?) "
                        "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                        (TRACKING_NAME, kept[0] if at is not None else page[-1][0]),
                    )
                start = page[-1][0] + 1
            yield views
        finally:
            views.close()
