"""Request and response bodies of the JSON API, and the helpers every controller uses.

The web layer adds who is acting (from the session) and nothing else; the
domain decides. `Idempotency-Key` makes a retry safe: the same key from the same
participant returns the first result and records nothing new.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Request, Response
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.status_codes import HTTP_201_CREATED

from domain.text import BODY_MAX, NAME_MAX, NOTE_MAX, REASON_MAX, TITLE_MAX
from domain.values import Decision, Role, Segment
from jam import commands as c
from jam.application import JamApplication
from ui.auth import signed_in
from ui.errors import refused_input

# What a field may hold is counted once the text is cleaned (control characters removed,
# and on one line runs of spaces collapsed), so the raw text may be longer than that:
# up to this many characters, beyond which nothing is worth decoding.
RAW_TEXT_MAX = 20_000


def said(limit: int, *, lines: bool) -> str:
    """A text field's limit, as its description gives it."""
    cleaned = "control characters removed" + ("" if lines else ", runs of spaces collapsed")
    return f"at most {limit:,} characters once cleaned ({cleaned})"


Title = Annotated[
    str, msgspec.Meta(max_length=RAW_TEXT_MAX, description=said(TITLE_MAX, lines=False))
]
Body = Annotated[str, msgspec.Meta(max_length=RAW_TEXT_MAX, description=said(BODY_MAX, lines=True))]
Name = Annotated[
    str, msgspec.Meta(max_length=RAW_TEXT_MAX, description=said(NAME_MAX, lines=False))
]
Why = Annotated[
    str, msgspec.Meta(max_length=RAW_TEXT_MAX, description=said(REASON_MAX, lines=False))
]
# Reasons some actions need and others may leave out.
HideWhy = Annotated[
    str,
    msgspec.Meta(
        max_length=RAW_TEXT_MAX,
        description=f"{said(REASON_MAX, lines=False)}; needed to hide or restore, not to dismiss",
    ),
]
BlockWhy = Annotated[
    str,
    msgspec.Meta(
        max_length=RAW_TEXT_MAX,
        description=f"{said(REASON_MAX, lines=False)}; needed to block, not to unblock",
    ),
]
Note = Annotated[str, msgspec.Meta(max_length=RAW_TEXT_MAX, description=said(NOTE_MAX, lines=True))]


class FieldError(msgspec.Struct, frozen=True, omit_defaults=True):
    """One input that could not be read."""

    message: str
    key: Annotated[str | None, msgspec.Meta(description="the input; `data`: the whole body")] = None
    source: Annotated[str | None, msgspec.Meta(description="body, query, path or header")] = None


class ErrorBody(msgspec.Struct, frozen=True, omit_defaults=True):
    """The body of every refusal: a code for programs, and words for people."""

    error: Annotated[
        str,
        msgspec.Meta(
            description="by status: 401 not_signed_in; 403 forbidden, not_permitted,"
            " not_organizer, not_leader, not_author, participant_blocked, other_jam;"
            " 404 not_found; 405 method_not_allowed; 409 conflicting_state, jam_not_open,"
            " idea_hidden, comment_hidden, invite_used_up, concurrent_update; 413 too_large;"
            " 415 unsupported_media_type; 422 invalid, invalid_text, invalid_value,"
            " invalid_schedule, unknown_forum, idempotency_key_reused; 429 too_many_requests;"
            " 503 unavailable, store_unavailable"
        ),
    ]
    detail: Annotated[str, msgspec.Meta(description="what was refused and why, in words")]
    fields: Annotated[
        list[FieldError] | None, msgspec.Meta(description="with `invalid`: which inputs, why")
    ] = None


class Written(msgspec.Struct, frozen=True):
    id: str
    position: int


class SignIn(msgspec.Struct, frozen=True):
    invite_code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    display_name: Name


class PersonalCode(msgspec.Struct, frozen=True):
    """A participant's own code for signing back in (made at `POST /api/me/personal-code`)."""

    personal_code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Session(msgspec.Struct, frozen=True):
    token: str
    participant_id: str
    role: str
    segment: str


# A forum's slug: its rules (1-40 of a-z, 0-9 and inner hyphens) are the domain's; the
# length is checked here too, so a megabyte is refused before anything reads it.
Slug = Annotated[str, msgspec.Meta(max_length=40)]


class ForumIn(msgspec.Struct, frozen=True):
    slug: Slug
    title: Title
    description: Body = ""


class NewForum(msgspec.Struct, frozen=True):
    """A forum added to a jam: its slug, if left out, is made from its title (forum-1,
    forum-2, ... for a title with no letter or digit of a-z and 0-9)."""

    title: Title
    slug: Slug = ""
    description: Body = ""


class NewJam(msgspec.Struct, frozen=True):
    title: Title
    forums: Annotated[list[ForumIn], msgspec.Meta(min_length=1, max_length=24)]
    starts_at: datetime
    ends_at: datetime
    description: Body = ""


class JamChange(msgspec.Struct, frozen=True):
    """Reschedule (both times, before the start), extend (a later end) or close early."""

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    close: bool = False
    reason: Why = ""


class NewInvites(msgspec.Struct, frozen=True):
    role: Role
    segment: Segment = Segment.EMPLOYEE
    count: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1
    uses: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1


class Invites(msgspec.Struct, frozen=True):
    codes: list[str]
    position: int


class Alert(msgspec.Struct, frozen=True):
    message: Why


class NewIdea(msgspec.Struct, frozen=True):
    forum: Slug
    title: Title
    body: Body


class IdeaEdit(msgspec.Struct, frozen=True):
    """Either or both: a field left out stays as it is."""

    title: Title | None = None
    body: Body | None = None


class NewComment(msgspec.Struct, frozen=True):
    body: Body
    parent_id: UUID | None = None


class VoteIn(msgspec.Struct, frozen=True):
    value: Literal[1, -1, 0]


class Reason(msgspec.Struct, frozen=True):
    reason: Why


class Moderation(msgspec.Struct, frozen=True):
    action: Literal["hide", "restore", "dismiss"]  # dismiss: the flags, keeping the idea
    reason: HideWhy = ""


class CommentModeration(msgspec.Struct, frozen=True):
    action: Literal["hide", "restore"]  # a comment has no flags to dismiss
    reason: HideWhy = ""


class DecisionIn(msgspec.Struct, frozen=True):
    decision: Decision
    note: Note = ""


KEY_MAX = 200


def idempotency_key(request: Request[Any, Any, Any]) -> str | None:
    key = request.headers.get("idempotency-key")
    if key and len(key) > KEY_MAX:  # cut short, two different keys would be one
        raise refused_input(
            f"an Idempotency-Key is at most {KEY_MAX} characters", "Idempotency-Key", "header"
        )
    return key or None


def acting(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Who is acting, and the retry key they sent: the web layer's part of a command."""
    return {"actor": signed_in(request), "client_key": idempotency_key(request)}


async def handle(state: State, command: c.Command) -> c.Done:
    app: JamApplication = state.services.jam
    pending = app.submit(command)
    if pending is None:
        return await sync_to_thread(app.handle, command)
    # Waiting on the committer's answer holds no worker thread, which reads need.
    return await pending


def written(done: c.Done, status: int = HTTP_201_CREATED) -> Response[Written]:
    return Response(Written(id=str(done.id), position=done.position), status_code=status)
