"""The ranking worker's results as they stood at a past time, computed again from the log.

Topics and the ranking are pure functions of the log and the organizers' decisions
about topics, so replaying the log to a time and refreshing gives what the worker
gave then: for the shortlist as of any time, and for hours whose topics were not
kept (a jam imported with its original times, or history lost with a schema change).
"""

from __future__ import annotations

from datetime import datetime

from projections import queries
from projections import ranking_views as rv
from projections.timetravel import views_as_of
from ranking.engine import Refreshed
from ui.bootstrap import Services


def refresh_as_of(services: Services, jam_id: str, at: datetime) -> Refreshed | None:
    """One refresh of `jam_id` over the log replayed to `at` (None: no idea by then)."""
    with services.views.reading() as live:
        edits_at = rv.edits_position(live)
    replay = views_as_of(services.jam.recorder, services.projector, at=at)
    with replay as replayed, replayed.reading() as cur:
        position = queries.position(cur)
        with services.views.reading() as live:
            edits = rv.read_edits(live, jam_id, min(position, edits_at))
        snapshot = rv.read_snapshot(cur, jam_id, position, edits=edits)
        if not snapshot.ideas:
            return None
        return services.engine.run(snapshot, None)
