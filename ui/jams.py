"""Jams: creating and scheduling them, their invites, ideas and Jam Central."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from domain import Jam
from domain.text import quoted
from domain.values import Role, slug_for
from jam import commands as c
from jam.application import JamApplication
from jam.invites import invite_code_for, new_invite_code
from projections import queries
from projections.models import IdeaSummary, JamCentral, JamInfo, ModerationQueue
from ui.asof import written_at
from ui.auth import signed_in
from ui.bootstrap import Services
from ui.cache import Body, list_tags
from ui.errors import refused_input
from ui.headers import NO_STORE
from ui.reads import (
    MAX_OFFSET,
    After,
    AsOf,
    AsOfPosition,
    Forum,
    cached,
    caught_up,
    in_utc,
    looks_back,
    require_member,
    require_role,
    respond,
    sees_hidden,
    time_travel,
)
from ui.schemas import (
    Alert,
    Invites,
    JamChange,
    NewForum,
    NewIdea,
    NewInvites,
    NewJam,
    Written,
    acting,
    handle,
    idempotency_key,
    written,
)

_json = msgspec.json.Encoder()


# The next page's cursor. Newest first, it names the last idea shown ("k"): pages then
# neither repeat nor skip an idea when ideas are posted or hidden meanwhile. The other
# orders move with every vote and comment; their cursor is a place in the order ("o").
def _cursor(value: int | tuple[str, str]) -> str:
    text = f"o:{value}" if isinstance(value, int) else f"k:{value[0]}|{value[1]}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _read_cursor(cursor: str, sort: str) -> int | tuple[str, str]:
    try:
        kind, _, value = (
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
        )
        if kind == "o" and value.isdigit() and int(value) <= MAX_OFFSET:
            return int(value)
        posted_at, _, idea_id = value.partition("|")
        if kind == "k" and sort == "new" and len(posted_at) <= 40:
            datetime.fromisoformat(posted_at)
            return posted_at, str(UUID(idea_id))
    except (ValueError, UnicodeDecodeError):
        pass
    raise refused_input("this cursor is not one we gave out", "cursor", "query")


async def forum_slugs(services: Services, jam_id: UUID) -> set[str]:
    """The address names a jam's forums hold now (none for a jam that is not: the
    command then says so)."""
    jam = await sync_to_thread(services.jam.find, Jam, jam_id)
    return set(jam.forums) if jam is not None else set()


class JamController(Controller):
    path = "/api/jams"
    tags: ClassVar[list[str]] = ["jams"]

    @post("/", summary="Create a jam (organizers)")
    async def create(
        self, state: State, data: JSONBody[NewJam], request: Request[Any, Any, Any]
    ) -> Response[Written]:
        actor, key = signed_in(request), idempotency_key(request)
        command = c.CreateJam(
            actor=actor,
            client_key=key,
            jam_id=JamApplication.new_id(actor, key),
            title=data.title,
            description=data.description,
            forums=tuple(c.ForumSpec(f.slug, f.title, f.description) for f in data.forums),
            starts_at=data.starts_at,
            ends_at=data.ends_at,
        )
        return written(await handle(state, command))

    @get("/{jam_id:uuid}", summary="A jam: its schedule, forums and alert (its members)")
    async def get_jam(
        self,
        state: State,
        request: Request[Any, Any, Any],
        jam_id: FromPath[UUID],
        after: After = None,
    ) -> JamInfo:
        services: Services = state.services
        await require_member(services, request, jam_id)
        await caught_up(services, after)

        def read() -> JamInfo | None:
            with services.views.reading() as cur:
                return queries.jam_info(cur, str(jam_id))

        found = await sync_to_thread(read)
        if found is None:
            raise NotFoundException(f"no jam with id {jam_id}")
        return found

    @patch("/{jam_id:uuid}", summary="Reschedule, extend or close a jam (organizers)")
    async def change(
        self,
        state: State,
        jam_id: FromPath[UUID],
        data: JSONBody[JamChange],
        request: Request[Any, Any, Any],
    ) -> Response[Written]:
        who = acting(request)
        command: c.Command
        if data.close:
            command = c.CloseJam(**who, jam_id=jam_id, reason=data.reason)
        elif data.starts_at is not None and data.ends_at is not None:
            command = c.RescheduleJam(
                **who, jam_id=jam_id, starts_at=data.starts_at, ends_at=data.ends_at
            )
        elif data.ends_at is not None:
            command = c.ExtendJam(**who, jam_id=jam_id, ends_at=data.ends_at)
        else:
            raise ValidationException("send close, ends_at, or both starts_at and ends_at")
        return written(await handle(state, command), HTTP_200_OK)

    @post(
        "/{jam_id:uuid}/forums",
        summary="Add a forum to a jam not yet closed (organizers)",
        description="`id` in the answer is the jam's. A slug the jam already has, or a jam"
        " closed, is refused with 409; a forum past the jam's 24 with 422.",
    )
    async def add_forum(
        self,
        state: State,
        jam_id: FromPath[UUID],
        data: JSONBody[NewForum],
        request: Request[Any, Any, Any],
    ) -> Response[Written]:
        # Made from the title when not given, or forum-N for a title in another script.
        slug = data.slug or slug_for(data.title, await forum_slugs(state.services, jam_id))
        forum = c.ForumSpec(slug, data.title, data.description)
        command = c.AddForum(**acting(request), jam_id=jam_id, forum=forum)
        return written(await handle(state, command))

    @post("/{jam_id:uuid}/invites", summary="Issue invite codes (organizers)")
    async def invite(
        self,
        state: State,
        jam_id: FromPath[UUID],
        data: JSONBody[NewInvites],
        request: Request[Any, Any, Any],
    ) -> Response[Invites]:
        actor, key = signed_in(request), idempotency_key(request)
        # Codes are keys to the jam.
        invites = await issue_codes(state, actor, jam_id, data, key)
        return Response(invites, status_code=HTTP_201_CREATED, headers=NO_STORE)

    @post(
        "/{jam_id:uuid}/alerts", summary="Show an alert banner to everyone in the jam (organizers)"
    )
    async def send_alert(
        self,
        state: State,
        jam_id: FromPath[UUID],
        data: JSONBody[Alert],
        request: Request[Any, Any, Any],
    ) -> Response[Written]:
        command = c.SendAlert(**acting(request), jam_id=jam_id, message=data.message)
        return written(await handle(state, command))

    @delete(
        "/{jam_id:uuid}/alerts", summary="Take the alert banner down (organizers)", status_code=200
    )
    async def clear_alert(
        self, state: State, jam_id: FromPath[UUID], request: Request[Any, Any, Any]
    ) -> Response[Written]:
        command = c.ClearAlert(**acting(request), jam_id=jam_id)
        return written(await handle(state, command), HTTP_200_OK)

    @post("/{jam_id:uuid}/ideas", summary="Post an idea")
    async def post_idea(
        self,
        state: State,
        jam_id: FromPath[UUID],
        data: JSONBody[NewIdea],
        request: Request[Any, Any, Any],
    ) -> Response[Written]:
        actor, key = signed_in(request), idempotency_key(request)
        command = c.PostIdea(
            actor=actor,
            client_key=key,
            jam_id=jam_id,
            idea_id=JamApplication.new_id(actor, key),
            forum=data.forum,
            title=data.title,
            body=data.body,
        )
        return written(await handle(state, command))

    @get(
        "/{jam_id:uuid}/ideas",
        summary="Ideas of a jam, optionally one forum, sorted (its members)",
        opt={"pages": True},
    )
    async def list_ideas(
        self,
        state: State,
        request: Request[Any, Any, Any],
        jam_id: FromPath[UUID],
        forum: Forum = None,
        sort: Annotated[str, QueryParameter(pattern="^(new|top|hot|discussed)$")] = "new",
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
        cursor: Annotated[
            str | None, QueryParameter(description="From the X-Next-Cursor of the page before")
        ] = None,
        after: After = None,
    ) -> Response[list[IdeaSummary]]:
        services: Services = state.services
        await require_member(services, request, jam_id)
        await caught_up(services, after)
        hidden_too = await sees_hidden(services, request, str(jam_id))
        start = _read_cursor(cursor, sort) if cursor else offset
        key = ("ideas", jam_id, forum, sort, limit, start, hidden_too)
        # A place in the order, or (newest first) the idea the page follows.
        skip, after_idea = (start, None) if isinstance(start, int) else (0, start)

        def read(cur: Any) -> tuple[Body, tuple[str, ...]] | None:
            page = queries.ideas(
                cur,
                str(jam_id),
                forum=forum,
                sort=sort,
                limit=limit,
                offset=skip,
                after_idea=after_idea,
                include_hidden=hidden_too,
            )
            if not page and forum is not None and not _has_forum(cur, jam_id, forum):
                return None  # a mistyped forum is an error, not an empty forum
            following: int | tuple[str, str] = (
                (page[-1].posted_at, page[-1].id) if sort == "new" and page else skip + limit
            )
            more = (("X-Next-Cursor", _cursor(following)),) if len(page) == limit else ()
            tags = list_tags(str(jam_id), sort, (i.id for i in page))
            return Body(_json.encode(page), more), tags

        body = await cached(services, key, after, read)
        if body is None:
            raise NotFoundException(f"this jam has no forum {quoted(forum)}")
        return respond(body)

    @get(
        "/{jam_id:uuid}/stats",
        summary="Jam Central: activity, segments, forums, minutes",
        description="`participants` and each segment's `participants` count the jam's"
        " participants; its organizers and leaders who joined it are `staff`. Their ideas,"
        " comments and votes count in their segment's activity.",
    )
    async def jam_central(
        self,
        state: State,
        request: Request[Any, Any, Any],
        jam_id: FromPath[UUID],
        after: After = None,
        as_of_position: AsOfPosition = None,
        as_of: AsOf = None,
    ) -> JamCentral:
        services: Services = state.services
        await require_role(services, request, jam_id, {Role.ORGANIZER, Role.LEADER})
        await caught_up(services, after)
        past = await looks_back(services, as_of_position, as_of)
        now = in_utc(as_of) if as_of is not None else services.jam.now()
        if as_of_position:  # "the last 5 minutes" are those before that position was written
            now = await sync_to_thread(written_at, services, as_of_position) or now

        def read(cur: Any) -> JamCentral:
            return queries.jam_central(cur, str(jam_id), now.astimezone(UTC))

        if past:
            central, position = await sync_to_thread(
                time_travel, services, as_of_position, as_of, read
            )
            # As of a time: how far the log had been written then, not the last event kept.
            return msgspec.structs.replace(central, position=position)

        def current() -> JamCentral:
            with services.views.reading() as cur:
                return read(cur)

        return await sync_to_thread(current)

    @get("/{jam_id:uuid}/moderation", summary="Flagged ideas and what was done (organizers)")
    async def moderation_queue(
        self,
        state: State,
        request: Request[Any, Any, Any],
        jam_id: FromPath[UUID],
        after: After = None,
    ) -> ModerationQueue:
        services: Services = state.services
        await require_role(services, request, jam_id, {Role.ORGANIZER})
        await caught_up(services, after)

        def read() -> ModerationQueue:
            with services.views.reading() as cur:
                return queries.moderation_queue(cur, str(jam_id))

        return await sync_to_thread(read)


async def issue_codes(
    state: State, actor: UUID, jam_id: UUID, ask: NewInvites, key: str | None
) -> Invites:
    """New invite codes for a jam, each its own command, as the API and the page ask for
    them. With `key`, asking again gives the same codes and records nothing new."""
    codes, commands = [], []
    for n in range(ask.count):
        code, client_key = new_invite_code(), None
        if key is not None:
            # A retry must issue the same codes, or its commands would differ from
            # the first ones and be refused as a reused key. The count is part of
            # them: the same key asking for another number of codes is another
            # request, refused as such, not topped up or cut.
            hashed = hashlib.sha256(key.encode()).hexdigest()
            code = invite_code_for(state.secret, f"invite:{actor}:{hashed}:{ask.count}:{n}")
            client_key = f"invite:{hashed}:{n}"
        codes.append(code)
        commands.append(
            c.IssueInvite(
                actor=actor,
                client_key=client_key,
                code=code,
                role=ask.role,
                segment=ask.segment,
                jam_id=jam_id,
                uses=ask.uses,
            )
        )
    # Sent together, they share the committer's batches (a thousand codes in a few
    # transactions, not a thousand); with a key, a retry finishes whatever one missed.
    # Without group commit each would hold a worker thread: one after another then.
    if state.services.jam.committer is not None:
        done = await asyncio.gather(*(handle(state, command) for command in commands))
    else:
        done = [await handle(state, command) for command in commands]
    return Invites(codes, max(d.position for d in done))


def _has_forum(cur: Any, jam_id: UUID, forum: str) -> bool:
    """False only for a jam the read models hold without that forum (not one they do not
    hold yet: a read without `after` may come before the jam is projected)."""
    info = queries.jam_info(cur, str(jam_id))
    return info is None or any(f.slug == forum for f in info.forums)
