"""Finding jams by reading the log's jam events.

The command line needs to know which jams exist before any read model is
running; jams are few, so reading their created events straight from the log
is cheap and always correct.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.utils import get_topic

from domain import Jam
from jam.application import JamApplication

_JAM_CREATED = get_topic(Jam.Created)  # type: ignore[attr-defined]


def jam_ids(app: JamApplication) -> list[UUID]:
    """Ids of every jam, oldest first."""
    ids: list[UUID] = []
    start = 1
    while True:
        page = app.recorder.select_notifications(start, 500, topics=[_JAM_CREATED])
        ids.extend(UUID(str(n.originator_id)) for n in page)
        if len(page) < 500:
            return ids
        start = page[-1].id + 1


def jams(app: JamApplication) -> list[Jam]:
    return [app.load(Jam, jam_id) for jam_id in jam_ids(app)]
