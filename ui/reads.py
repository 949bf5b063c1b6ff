"""Read endpoints over the projections' read models.

Every read can wait for a log position (`?after=`), so a client sees its own
writes; Jam Central and threads can also be read as of a past position or time.
Idea lists and threads are served from the read cache (ui/cache.py) when it holds
them fresh enough.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

from litestar import Request, Response
from litestar.concurrency import sync_to_thread
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.params import QueryParameter

from domain import Jam, Participant
from domain.participant import invited_to
from domain.values import Role
from projections import queries
from projections.db import Cursor
from projections.models import Activity
from projections.projector import Update
from projections.runner import ProjectionRunner
from ui.asof import one_replay, replayed
from ui.auth import signed_in, viewer
from ui.bootstrap import Services
from ui.cache import Body
from ui.errors import NotCaughtUp, refused_input

T = TypeVar("T")
NOT_INVITED = "only the people invited to this jam may read it"
MAX_POSITION = 2**62  # log positions are 64-bit integers: larger ones are no position
After = Annotated[
    int | None,
    QueryParameter(
        ge=0, le=MAX_POSITION, description="Wait until the read models include this log position."
    ),
]
AsOfPosition = Annotated[
    int | None,
    QueryParameter(
        ge=1,
        le=MAX_POSITION,
        description="Read as of this log position, one the log holds (replays the log); "
        "not with as_of.",
    ),
]
# A forum's slug (domain.values): bounded, so a query string cannot grow a cache key.
Forum = Annotated[
    str | None,
    QueryParameter(
        max_length=40, pattern="^[a-z0-9-]+$", description="Only this forum (its slug)."
    ),
]
MAX_OFFSET = 1_000_000  # deeper pages are read with the cursor
AsOf = Annotated[
    datetime | None,
    QueryParameter(
        description="Read as of this time, ISO 8601 (replays the log); the answer's position "
        "is how far the log had been written by then."
    ),
]


async def role_of(services: Services, participant_id: UUID | None) -> Participant | None:
    """The participant, unless blocked (a blocked one holds no role's powers)."""
    person = await _person(services, participant_id)
    return None if person is None or person.blocked else person


async def _person(services: Services, participant_id: UUID | None) -> Participant | None:
    if participant_id is None:
        return None
    person = await sync_to_thread(services.jam.find, Participant, participant_id)
    if person is not None:
        services.roles.learn(person)
    return person


def never_sees_hidden(services: Services, participant_id: UUID | None) -> bool:
    """True for readers known never to see hidden content: anyone but an organizer.

    A participant's role and jam never change, so they are known after the first read;
    an organizer is read again from the event store each time (a block acts at once).
    """
    if participant_id is None:
        return True
    known = services.roles.get(participant_id)
    return known is not None and known[0] is not Role.ORGANIZER


async def sees_hidden(services: Services, request: Request[Any, Any, Any], jam_id: str) -> bool:
    """Organizers of a jam see its hidden ideas and comments, with their state."""
    participant_id = viewer(request)
    if never_sees_hidden(services, participant_id):
        return False
    person = await role_of(services, participant_id)
    return person is not None and person.acts_as(Role.ORGANIZER, UUID(jam_id))


async def require_role(
    services: Services, request: Request[Any, Any, Any], jam_id: UUID, roles: set[Role]
) -> Participant:
    """The signed-in participant if they hold one of `roles` in this jam; else 401 or 403."""
    return await require_role_of(services, signed_in(request), jam_id, roles)


async def require_role_of(
    services: Services,
    participant_id: UUID,
    jam_id: UUID,
    roles: set[Role],
    doing: str = "see this",
) -> Participant:
    """`participant_id` if they hold one of `roles` in this jam; else 403 (404: no such jam)."""
    person = await _person(services, participant_id)
    if person is None or not any(person.acts_as(role, jam_id) for role in roles):
        if person is not None and any(person.blocked_as(role, jam_id) for role in roles):
            msg = f"you are blocked in this jam, so you can no longer {doing} here"
            raise PermissionDeniedException(msg)
        allowed = " or ".join(sorted(r.value + "s" for r in roles))
        raise PermissionDeniedException(f"only {allowed} of this jam may {doing}")
    if person.jam_id is None:  # an organizer of every jam: of this one only if it exists
        await require_jam(services, jam_id)
    return person


async def require_jam(services: Services, jam_id: UUID) -> None:
    """404 unless the jam exists, as the event log says (the read models may lag)."""
    if services.known_jams.get(jam_id):
        return
    if await sync_to_thread(services.jam.find, Jam, jam_id) is None:
        raise NotFoundException(f"no jam with id {jam_id}")
    services.known_jams.remember(jam_id, True)


async def require_member(
    services: Services, request: Request[Any, Any, Any], jam_id: UUID | str
) -> UUID:
    """The signed-in reader, if this jam is theirs to read (any role: its participants,
    leaders and organizers, and organizers of every jam; a blocked participant still
    reads); else 401 or 403. A jam's ideas are for the people invited to it."""
    participant_id = signed_in(request)
    known = services.roles.get(participant_id)
    if known is None:
        person = await sync_to_thread(services.jam.find, Participant, participant_id)
        if person is None:
            raise NotAuthorizedException("sign in again: this session names no participant")
        services.roles.learn(person)
        known = (person.role, person.jam_id)
    jam = UUID(str(jam_id))
    if not invited_to(known[1], jam):
        raise PermissionDeniedException(NOT_INVITED)
    if known[1] is None:
        await require_jam(services, jam)
    return participant_id


async def jam_of_idea(services: Services, idea_id: UUID | str) -> str | None:
    """The jam an idea is in (None: the read models do not hold it), remembered."""
    idea = str(idea_id)
    found = services.idea_jams.get(idea)
    if found is None:

        def read() -> str | None:
            with services.views.reading() as cur:
                return queries.jam_of_idea(cur, idea)

        found = await sync_to_thread(read)
        if found is not None:
            services.idea_jams.remember(idea, found)
    return found


async def log_end_before(services: Services, position: int) -> int | None:
    """The log's end if it has not reached `position`, else None."""
    runner = services.runner
    if isinstance(runner, ProjectionRunner) and position <= runner.position:
        return None  # projected here already (known in memory): no need to ask the log
    end = await sync_to_thread(services.jam.position)
    return end if position > end else None


async def require_written(services: Services, after: int, name: str = "after") -> None:
    """A reader may wait only for a position the log holds: one written later is no write
    of theirs, and waiting for it would only hold a thread (a cheap way to tie up a server)."""
    end = await log_end_before(services, after)
    if end is not None:
        raise refused_input(
            f"log position {after} has not been written (the log ends at {end})", name, "query"
        )


async def caught_up(services: Services, after: int | None, *, or_503: bool = True) -> None:
    """Wait (up to the read wait) until the read models include log position `after`;
    then 503 unless `or_503` is False (a page after a form post shows what there is)."""
    if after is None:
        return
    await require_written(services, after)
    wait_s = services.settings.read_wait_ms / 1000
    if not await sync_to_thread(services.runner.wait_for, after, wait_s) and or_503:
        raise NotCaughtUp(
            f"the read models have not reached log position {after} yet; retry shortly"
        )


async def activity_of(services: Services, participant: UUID) -> Activity:
    """A signed-in participant's own activity; 404 only if the read models never had them."""

    def read() -> Activity | None:
        with services.views.reading() as cur:
            return queries.activity(cur, str(participant))

    found = await sync_to_thread(read)
    if found is None:
        # A token is issued only once the join is durable, so the read models are behind,
        # not missing the participant: wait for them to reach the log's end as it is now.
        await caught_up(services, await sync_to_thread(services.jam.position))
        found = await sync_to_thread(read)
    if found is None:
        raise NotFoundException("no activity: the read models hold no such participant")
    return found


def _projected_here(services: Services) -> int | None:
    """The read models' position, if this process alone projects them; else None.

    Without Redis there is one web process and its projection is the only one (several
    workers and an external projection worker need Redis), so its position is the read
    models'. Otherwise another process may be further on: a read looks at the read
    models themselves, as it would without the cache.
    """
    runner = services.runner
    if services.settings.redis_url or not isinstance(runner, ProjectionRunner):
        return None
    return runner.position


def follow_projection(services: Services) -> Callable[[list[Update]], None]:
    """What this process's projection tells the cache after each page it commits."""
    runner, cache = services.runner, services.cache

    def applied(updates: list[Update]) -> None:
        # Called in the projection's thread, which has just set its position to the page's end.
        cache.applied(updates, runner.position, complete=_projected_here(services) is not None)

    return applied


Read = Callable[[Cursor], tuple[Body, tuple[str, ...]] | None]


async def cached(services: Services, key: Hashable, after: int | None, read: Read) -> Body | None:
    """The body of a read from the cache if it holds one fresh enough, else `read` and keep it.

    Fresh enough: including `after` and whatever this process knows the read models to
    have reached, as a read of the read models themselves would. `read` returns the body
    and the cache tags it depends on, or None for nothing found (not kept).
    """
    return (await cached_at(services, key, after, read))[0]


async def cached_at(
    services: Services, key: Hashable, after: int | None, read: Read
) -> tuple[Body | None, int]:
    """`cached`, and a log position the body is current at, for a page's live stream to
    follow from. It may be below the position the body was read at (a hit is known
    current from the position it was asked for): the stream then only repeats updates
    the body already shows, never skips one it does not."""
    cache = services.cache
    known = _projected_here(services)
    if known is not None and cache.enabled:
        needs = max(after or 0, known)
        hit = cache.get(key, needs)
        if hit is not None:
            return hit, needs

    def fill() -> tuple[Body | None, int]:
        with services.views.reading() as cur:
            if not cache.enabled:
                found = read(cur)
                return (found[0] if found else None), queries.position(cur)
            at = cache.sync(cur)
            hit = cache.get(key, max(after or 0, at))
            if hit is not None:
                return hit, at
            found = read(cur)
            if found is None:
                return None, at
            cache.put(key, found[0], found[1], at)
            return found[0], at

    return await sync_to_thread(fill)


def respond(body: Body) -> Response[Any]:
    """A cached body as a JSON response."""
    return Response(body.content, media_type="application/json", headers=dict(body.headers))


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def in_utc(at: datetime, name: str = "as_of") -> datetime:
    """`at` in UTC, or a clear 422: a time without a zone, one UTC cannot hold, or one
    before EARLIEST (no jam is older, and reads count back minutes from it)."""
    if at.tzinfo is None:
        raise refused_input(f"{name} needs a timezone (e.g. 2030-05-01T12:00:00Z)", name, "query")
    try:
        utc = at.astimezone(UTC)
    except OverflowError:
        raise refused_input(f"{name} is out of range", name, "query") from None
    if utc < EARLIEST:
        raise refused_input(f"{name} must be after {EARLIEST.date().isoformat()}", name, "query")
    return utc


def page_time(text: str | None, name: str = "as_of") -> datetime | None:
    """A time a page's form sent: empty means none (now), any ISO 8601 time, and one typed
    without a zone means UTC, as the pages say (the API asks for a zone)."""
    if not text or not text.strip():
        return None
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationException(
            f"{text[:40]!r} is not a time: give {name} as 2030-05-02T12:00 (UTC)"
        ) from None
    return in_utc(at if at.tzinfo else at.replace(tzinfo=UTC), name)


async def looks_back(services: Services, position: int | None, at: datetime | None) -> bool:
    """Whether a read is of the past (`as_of_position` or `as_of`); 422 for both at once (each
    names a past of its own), or for a position the log has not reached, as for `after`."""
    if position is not None and at is not None:
        raise refused_input("give as_of_position or as_of, not both", "as_of", "query")
    if position is not None:
        await require_written(services, position, "as_of_position")
    return position is not None or at is not None


def time_travel(
    services: Services, position: int | None, at: datetime | None, read: Callable[[Cursor], T]
) -> tuple[T, int]:
    """`read` of the read models as of a log `position` or a time `at`, and the log
    position they stand for (as of a time: how far the log had been written by then)."""
    if at is not None:
        in_utc(at)  # a time no jam could be as of is refused before any replay
    with (
        one_replay(),
        replayed(services, position=position, at=at) as (views, reached),
        views.reading() as cur,
    ):
        return read(cur), reached
