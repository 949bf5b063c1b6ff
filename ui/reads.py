"""Read endpoints over the projections' read models.

Every read can wait for a log position (`?after=`), so a client sees its own
writes; Jam Central and threads can also be read as of a past position or time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Request
from litestar.concurrency import sync_to_thread
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.params import QueryParameter

from domain import Participant
from domain.values import Role
from projections.timetravel import views_as_of
from ui.auth import signed_in, viewer
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


async def role_of(services: Services, participant_id: UUID | None) -> Participant | None:
    if participant_id is None:
        return None
    person = await sync_to_thread(services.jam.find, Participant, participant_id)
    return None if person is None or person.blocked else person


async def sees_hidden(services: Services, request: Request[Any, Any, Any], jam_id: str) -> bool:
    """Organizers of a jam see its hidden ideas and comments, with their state."""
    person = await role_of(services, viewer(request))
    return person is not None and person.acts_as(Role.ORGANIZER, UUID(jam_id))


async def require_role(
    services: Services, request: Request[Any, Any, Any], jam_id: UUID, roles: set[Role]
) -> Participant:
    """The signed-in participant if they hold one of `roles` in this jam; else 401 or 403."""
    person = await role_of(services, signed_in(request))
    if person is None or not any(person.acts_as(role, jam_id) for role in roles):
        allowed = " or ".join(sorted(r.value + "s" for r in roles))
        raise PermissionDeniedException(f"only {allowed} of this jam may see this")
    return person


async def caught_up(services: Services, after: int | None) -> None:
    if after is None:
        return
    wait_s = services.settings.read_wait_ms / 1000
    if not await sync_to_thread(services.runner.wait_for, after, wait_s):
        raise NotCaughtUp(
            f"the read models have not reached log position {after} yet; retry shortly"
        )


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def time_travel(services: Services, position: int | None, at: datetime | None, read: Any) -> Any:
    if at is not None and at.tzinfo is None:
        raise ValidationException("as_of needs a timezone (e.g. 2030-05-01T12:00:00Z)")
    if at is not None and at < EARLIEST:
        # No jam is older; and reads count back minutes from `at`, which year 1 cannot.
        raise ValidationException(f"as_of must be after {EARLIEST.date().isoformat()}")
    replayed = views_as_of(services.jam.recorder, services.projector, position=position, at=at)
    with replayed as views, views.reading() as cur:
        return read(cur)
