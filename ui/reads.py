"""Read endpoints over the projections' read models.

Every read can wait for a log position (`?after=`), so a client sees its own
writes; Jam Central and threads can also be read as of a past position or time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from litestar import Controller, get
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, FromQuery, QueryParameter

from projections import queries
from projections.models import IdeaSummary, JamCentral, Thread
from projections.timetravel import views_as_of
from ui.bootstrap import Services
from ui.errors import NotCaughtUp

After = Annotated[
    int | None,
    QueryParameter(ge=0, description="Wait until the read models include this log position."),
]
AsOfPosition = Annotated[
    int | None,
    QueryParameter(ge=1, description="Read as of this log position (replays the log)."),
]
AsOf = Annotated[
    datetime | None,
    QueryParameter(description="Read as of this time, ISO 8601 (replays the log)."),
]


async def caught_up(services: Services, after: int | None) -> None:
    if after is None:
        return
    wait_s = services.settings.read_wait_ms / 1000
    if not await sync_to_thread(services.runner.wait_for, after, wait_s):
        raise NotCaughtUp(
            f"the read models have not reached log position {after} yet; retry shortly"
        )


def _time_travel(services: Services, position: int | None, at: datetime | None, read: Any) -> Any:
    if at is not None and at.tzinfo is None:
        raise ValidationException("as_of needs a timezone (e.g. 2030-05-01T12:00:00Z)")
    replayed = views_as_of(services.jam.recorder, services.projector, position=position, at=at)
    with replayed as views, views.reading() as cur:
        return read(cur)


class ReadController(Controller):
    path = "/api"
    tags: ClassVar[list[str]] = ["read models"]

    @get("/jams/{jam_id:uuid}/ideas", summary="Ideas of a jam, optionally one forum, sorted")
    async def list_ideas(
        self,
        state: State,
        jam_id: FromPath[UUID],
        forum: FromQuery[str | None] = None,
        sort: Annotated[str, QueryParameter(pattern="^(new|top|hot|discussed)$")] = "new",
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
        after: After = None,
    ) -> list[IdeaSummary]:
        services: Services = state.services
        await caught_up(services, after)

        def read() -> list[IdeaSummary]:
            with services.views.reading() as cur:
                return queries.ideas(
                    cur, str(jam_id), forum=forum, sort=sort, limit=limit, offset=offset
                )

        return await sync_to_thread(read)

    @get("/ideas/{idea_id:uuid}", summary="An idea with its comment thread and vote tallies")
    async def get_thread(
        self,
        state: State,
        idea_id: FromPath[UUID],
        after: After = None,
        as_of_position: AsOfPosition = None,
        as_of: AsOf = None,
    ) -> Thread:
        services: Services = state.services
        await caught_up(services, after)

        def read(cur: Any) -> Thread | None:
            return queries.thread(cur, str(idea_id))

        if as_of_position is not None or as_of is not None:
            found = await sync_to_thread(_time_travel, services, as_of_position, as_of, read)
        else:

            def now() -> Thread | None:
                with services.views.reading() as cur:
                    return read(cur)

            found = await sync_to_thread(now)
        if found is None:
            raise NotFoundException(f"no idea with id {idea_id}")
        return found

    @get("/jams/{jam_id:uuid}/stats", summary="Jam Central: activity, segments, forums, minutes")
    async def jam_central(
        self,
        state: State,
        jam_id: FromPath[UUID],
        after: After = None,
        as_of_position: AsOfPosition = None,
        as_of: AsOf = None,
    ) -> JamCentral:
        services: Services = state.services
        await caught_up(services, after)
        now = as_of or services.jam.now()

        def read(cur: Any) -> JamCentral:
            return queries.jam_central(cur, str(jam_id), now.astimezone(UTC))

        if as_of_position is not None or as_of is not None:
            return await sync_to_thread(_time_travel, services, as_of_position, as_of, read)

        def current() -> JamCentral:
            with services.views.reading() as cur:
                return read(cur)

        return await sync_to_thread(current)
