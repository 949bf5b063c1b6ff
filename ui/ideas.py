"""Ideas: the thread, edits, comments, votes, flags, moderation and decisions."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, patch, post, put
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from domain.values import Role
from jam import commands as c
from jam.application import JamApplication
from projections import queries
from projections.models import Thread
from ui.auth import signed_in, viewer
from ui.bootstrap import Services
from ui.cache import Body, names_in, thread_of
from ui.reads import (
    After,
    AsOf,
    AsOfPosition,
    cached,
    caught_up,
    jam_of_idea,
    looks_back,
    never_sees_hidden,
    require_member,
    require_role,
    respond,
    role_of,
    sees_hidden,
    time_travel,
)
from ui.schemas import (
    DecisionIn,
    IdeaEdit,
    Moderation,
    NewComment,
    Reason,
    VoteIn,
    Written,
    acting,
    handle,
    idempotency_key,
    written,
)

_json = msgspec.json.Encoder()
LEADERSHIP = {Role.ORGANIZER, Role.LEADER}


async def reads_decision_notes(
    services: Services, request: Request[Any, Any, Any], jam_id: str
) -> bool:
    """Leaders' decision notes are for the jam's leaders and organizers (the thread page
    shows one only in the leader's form): the people an idea was decided about do not
    read why. A participant's role never changes, so one known is not read again."""
    participant_id = viewer(request)
    if participant_id is None:
        return False
    known = services.roles.get(participant_id)
    if known is not None and known[0] not in LEADERSHIP:
        return False
    person = await role_of(services, participant_id)
    return person is not None and any(person.acts_as(role, UUID(jam_id)) for role in LEADERSHIP)


def as_read_by(thread: Thread, organizer: bool, notes: bool) -> Thread:
    """`thread` as this kind of reader may read it: a hidden comment keeps its place, but
    only organizers read who wrote it (the page says "Hidden by an organizer." alone), and
    the decision note is for leaders and organizers. The thread was just read for this
    reader, so its comments are changed in place (walked without recursion: replies
    logged before their depth was bounded may nest deep)."""
    if not organizer:
        stack = list(thread.comments)
        while stack:
            node = stack.pop()
            if node.hidden:
                node.author_id = node.author_name = node.author_segment = node.body = ""
            stack.extend(node.replies)
    if not notes and thread.decision_note:
        return msgspec.structs.replace(thread, decision_note="")
    return thread


class IdeaController(Controller):
    path = "/api/ideas/{idea_id:uuid}"
    tags: ClassVar[list[str]] = ["ideas"]

    @patch("/", summary="Edit an idea (its author)")
    async def edit(
        self,
        state: State,
        idea_id: FromPath[UUID],
        data: JSONBody[IdeaEdit],
        request: Request[Any, Any, Any],
    ) -> Response[Written]:
        command = c.EditIdea(
            **acting(request),
            idea_id=idea_id,
            title=data.title,
            body=data.body,
        )
        return written(await handle(state, command), HTTP_200_OK)

    @post("/comments", summary="Comment on an idea, or reply to a comment")
    async def comment(
        self,
        state: State,
        idea_id: FromPath[UUID],
        data: JSONBody[NewComment],
        request: Request[Any, Any, Any],
    ) -> Response[Written]:
        actor, key = signed_in(request), idempotency_key(request)
        command = c.PostComment(
            actor=actor,
            client_key=key,
            comment_id=JamApplication.new_id(actor, key),
            idea_id=idea_id,
            parent_id=data.parent_id,
            body=data.body,
        )
        return written(await handle(state, command))

    @put("/vote", summary="Vote +1 or -1, or 0 to withdraw")
    async def vote(
        self,
        state: State,
        idea_id: FromPath[UUID],
        data: JSONBody[VoteIn],
        request: Request[Any, Any, Any],
    ) -> Response[Written]:
        command = c.CastVote(
            **acting(request),
            idea_id=idea_id,
            value=data.value,
        )
        return written(await handle(state, command), HTTP_200_OK)

    @post("/flags", summary="Flag an idea for the organizers")
    async def flag(
        self,
        state: State,
        idea_id: FromPath[UUID],
        data: JSONBody[Reason],
        request: Request[Any, Any, Any],
    ) -> Response[Written]:
        command = c.FlagIdea(
            **acting(request),
            idea_id=idea_id,
            reason=data.reason,
        )
        return written(await handle(state, command))

    @post(
        "/moderation",
        summary="Hide or restore an idea, or dismiss its flags (organizers)",
        status_code=HTTP_200_OK,
    )
    async def moderate(
        self,
        state: State,
        idea_id: FromPath[UUID],
        data: JSONBody[Moderation],
        request: Request[Any, Any, Any],
    ) -> Response[Written]:
        kinds = {"hide": c.HideIdea, "restore": c.RestoreIdea, "dismiss": c.DismissFlags}
        command = kinds[data.action](
            **acting(request),
            idea_id=idea_id,
            reason=data.reason,
        )
        return written(await handle(state, command), HTTP_200_OK)

    @post("/decision", summary="Record a decision on an idea (leaders)", status_code=HTTP_200_OK)
    async def decide(
        self,
        state: State,
        idea_id: FromPath[UUID],
        data: JSONBody[DecisionIn],
        request: Request[Any, Any, Any],
    ) -> Response[Written]:
        command = c.RecordDecision(
            **acting(request),
            idea_id=idea_id,
            decision=data.decision,
            note=data.note,
        )
        return written(await handle(state, command), HTTP_200_OK)

    @get(
        "/",
        summary="An idea with its comment thread and vote tallies (the jam's members)",
        description="`decision_note`, the leaders' note on their decision, is filled for the"
        " jam's leaders and organizers only (empty for everyone else). A comment an organizer"
        " hid keeps its place (`hidden`), but only the jam's organizers read its body and"
        " author: for everyone else `body`, `author_id`, `author_name` and `author_segment`"
        " are empty. An idea an organizer hid is read by the jam's organizers and by its"
        " author, with `idea.hidden` and the organizer's `hidden_reason` (404 for everyone"
        " else).",
    )
    async def get_thread(
        self,
        state: State,
        request: Request[Any, Any, Any],
        idea_id: FromPath[UUID],
        after: After = None,
        as_of_position: AsOfPosition = None,
        as_of: AsOf = None,
    ) -> Response[Thread]:
        services: Services = state.services
        signed_in(request)  # 401 before anything is read or waited for
        await caught_up(services, after)
        past = await looks_back(services, as_of_position, as_of)
        jam_id = await jam_of_idea(services, idea_id)
        if jam_id is None:
            raise NotFoundException(f"no idea with id {idea_id}")
        await require_member(services, request, jam_id)
        hidden_too = False
        if past:
            # The organizer's timeline: a thread as it was may show what is hidden now, to
            # those who read it now (its organizers, its author), never to a leader.
            await require_role(services, request, UUID(jam_id), LEADERSHIP)
            hidden_too = await sees_hidden(services, request, jam_id)
            notes_too = True  # a leader or an organizer of the jam, as require_role says
            if not hidden_too:
                reader = str(viewer(request))

                def hidden_now() -> bool:
                    with services.views.reading() as cur:
                        return queries.hidden_from(cur, str(idea_id), reader)

                if await sync_to_thread(hidden_now):
                    raise NotFoundException(f"no idea with id {idea_id}")
        else:
            if not never_sees_hidden(services, viewer(request)):
                hidden_too = await sees_hidden(services, request, jam_id)
            notes_too = hidden_too or await reads_decision_notes(services, request, jam_id)

        def read(cur: Any) -> Thread | None:
            found = queries.thread(cur, str(idea_id), include_hidden=hidden_too)
            return None if found is None else as_read_by(found, hidden_too, notes_too)

        if past:
            found, position = await sync_to_thread(
                time_travel, services, as_of_position, as_of, read
            )
            if found is None:
                raise NotFoundException(f"no idea with id {idea_id}")
            return Response(msgspec.structs.replace(found, position=position))

        def current(cur: Any) -> tuple[Body, tuple[str, ...]] | None:
            found = read(cur)
            if found is None:
                return None
            tags = (thread_of(str(idea_id)), names_in(found.idea.jam_id))
            return Body(_json.encode(found)), tags

        # Kept per kind of reader, as it was read for them: organizers, leaders, everyone else.
        key = ("thread", idea_id, hidden_too, notes_too)
        body = await cached(services, key, after, current)
        if body is None and not hidden_too:
            # Hidden, perhaps from everyone but its author: theirs is read apart, never
            # kept, so no other reader of their kind is ever served it.
            author = str(viewer(request))

            def own() -> Thread | None:
                with services.views.reading() as cur:
                    found = queries.thread(cur, str(idea_id), author=author)
                return None if found is None else as_read_by(found, False, notes_too)

            found = await sync_to_thread(own)
            if found is not None:
                return Response(found)
        if body is None:
            raise NotFoundException(f"no idea with id {idea_id}")
        return respond(body)
