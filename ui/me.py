"""The signed-in participant's own page of activity, and their personal code."""

from __future__ import annotations

from typing import Any, ClassVar

from litestar import Controller, Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.status_codes import HTTP_201_CREATED

from domain import Participant
from domain.errors import ConflictingState
from domain.values import sign_in_key_id
from jam import commands as c
from jam.sign_in_keys import new_sign_in_code, sign_in_code_for
from projections.models import Activity
from ui.auth import signed_in
from ui.bootstrap import Services
from ui.headers import NO_STORE
from ui.reads import After, activity_of, caught_up
from ui.schemas import PersonalCode, handle, idempotency_key


async def make_personal_code(
    state: State, request: Request[Any, Any, Any], key: str | None, *, form: bool = False
) -> str:
    """Makes the signed-in participant a new personal code, retiring the one before.

    A retry with the same `key` (a reload of the page that showed it) answers the same
    code, without retiring it, while no newer code has replaced it."""
    actor = signed_in(request, form=form)
    code = sign_in_code_for(state.secret, f"{actor.hex}:{key}") if key else new_sign_in_code()
    await handle(state, c.MakeSignInKey(actor=actor, client_key=key, code=code))
    holder = await sync_to_thread(state.services.jam.read, Participant, actor)
    if holder.sign_in_key != sign_in_key_id(code):
        raise ConflictingState(
            "a newer personal code has replaced the one this request made: make another"
        )
    return code


class MeController(Controller):
    path = "/api/me"
    tags: ClassVar[list[str]] = ["sessions"]

    # 404: a session whose participant the read models never came to hold.
    @get(
        "/activity",
        summary="My ideas, comments and votes",
        opt={"never": (403,), "refuses": (404,)},
    )
    async def activity(
        self, state: State, request: Request[Any, Any, Any], after: After = None
    ) -> Activity:
        participant = signed_in(request)
        services: Services = state.services
        await caught_up(services, after)
        return await activity_of(services, participant)

    @post(
        "/personal-code",
        summary="Make my personal code",
        description="A code that signs me back in as myself (`POST /api/session/personal-code`),"
        " after signing out or on another device. It is shown only in this answer and stored"
        " only as a one-way hash; making a new one retires the one before.",
        status_code=HTTP_201_CREATED,
    )
    async def personal_code(
        self, state: State, request: Request[Any, Any, Any]
    ) -> Response[PersonalCode]:
        code = await make_personal_code(state, request, idempotency_key(request))
        return Response(PersonalCode(code), status_code=HTTP_201_CREATED, headers=NO_STORE)
