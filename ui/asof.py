"""The ranking worker's results as they stood at a past time, computed again from the log.

Topics and the ranking are pure functions of the log and the organizers' decisions
about topics, so replaying the log to a time and refreshing gives what the worker
gave then: for the shortlist as of any time, and for hours whose topics were not
kept (a jam imported with its original times, or history lost with a schema change).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from projections import queries
from projections import ranking_views as rv
from projections.timetravel import views_as_of
from ranking.engine import Refreshed
from ui.bootstrap import Services
from ui.errors import Busy

# A replay reads the whole log and refreshes the topics and the ranking: seconds of CPU
# for a large jam. One at a time per worker, so looking back cannot starve the jam.
REPLAYS = threading.BoundedSemaphore(1)
REPLAY_WAIT_S = 20.0


@contextmanager
def one_replay() -> Iterator[None]:
    """Hold this worker's one turn at replaying the log (503 after REPLAY_WAIT_S)."""
    if not REPLAYS.acquire(timeout=REPLAY_WAIT_S):
        raise Busy("another view of the past is being computed; retry in a moment")
    try:
        yield
    finally:
        REPLAYS.release()


def refresh_as_of(services: Services, jam_id: str, at: datetime) -> Refreshed | None:
    """One refresh of `jam_id` over the log replayed to `at` (None: no idea by then)."""
    with one_replay():
        return _refresh_as_of(services, jam_id, at)


def _refresh_as_of(services: Services, jam_id: str, at: datetime) -> Refreshed | None:
    with services.views.reading() as live:
        edits_at = rv.edits_position(live)
        # Ids are names: matched to today's clusters, the past's topics keep the names (and
        # organizers' renames) organizers know, and a new one never takes a live one's id.
        live_topics = rv.stored_topics(live, jam_id)
    replay = views_as_of(services.jam.recorder, services.projector, at=at)
    with replay as replayed, replayed.reading() as cur:
        position = queries.position(cur)
        with services.views.reading() as live:
            edits = rv.read_edits(live, jam_id, min(position, edits_at))
        snapshot = rv.read_snapshot(cur, jam_id, position, edits=edits)
        if not snapshot.ideas:
            return None
        return services.engine.run(snapshot, live_topics)
