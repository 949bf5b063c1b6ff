"""Signing in (with an invite code, or back in with a personal code) and signing out.

Tokens are checked by every worker without a session store (`ui.auth`); signing out
records that the session ended, and every worker refuses its token from then on: the
one that recorded it at once, the others once `EndedSessions` has read it (within
`ENDED_POLL_S`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, ClassVar

from eventsourcing.utils import get_topic
from litestar import Controller, Request, Response, delete, post
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.handlers import BaseRouteHandler
from litestar.params import JSONBody
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_201_CREATED,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
)

from domain import Participant
from jam import commands as c
from jam.application import JamApplication
from jam.sign_in_keys import holder_of
from projections.payloads import SessionEnded
from ui.auth import (
    SIGNS_IN,
    cookie_gone,
    end_session,
    issue_token,
    mark_signed_in,
    session_cookie,
    this_session,
)
from ui.errors import refused_input
from ui.headers import NO_STORE
from ui.schemas import PersonalCode, Session, SignIn, Written, handle, idempotency_key

log = logging.getLogger(__name__)
ENDED_POLL_S = 1.0


class EndedSessions:
    """Follows the log's SessionEnded events, so that this worker refuses a signed-out
    session's tokens whichever worker recorded it. From the log itself, not a read model:
    read models being rebuilt would forget them for a while (and a copied token could
    make itself a personal code meanwhile)."""

    PAGE = 1000

    def __init__(self, key: bytes, app: JamApplication) -> None:
        self._key, self._app = key, app
        self._topics = [get_topic(Participant.SessionEnded)]
        self._decode = app.mapper.transcoder.views_decoder(SessionEnded)  # type: ignore[attr-defined]
        self.position = 0  # how far the log has been read

    def catch_up(self) -> None:
        recorder = self._app.recorder
        end = recorder.max_notification_id() or 0
        while self.position < end:
            found = recorder.select_notifications(
                self.position + 1, self.PAGE, stop=end, topics=self._topics
            )
            for n in found:
                ended = self._decode(n.state)
                # Its time and now by the log's clock: a long-past end is not kept at all.
                at, now = ended.timestamp.timestamp(), self._app.now().timestamp()
                end_session(self._key, n.originator_id, ended.session, at, now)
            self.position = found[-1].id if len(found) == self.PAGE else end

    async def follow(self) -> None:
        """Catch up every ENDED_POLL_S until cancelled."""
        while True:
            await asyncio.sleep(ENDED_POLL_S)
            try:
                await sync_to_thread(self.catch_up)
            except Exception:  # a store away: the next turn
                log.warning("could not read the ended sessions", exc_info=True)


async def end_this_session(state: State, request: Request[Any, Any, Any]) -> c.Done:
    """End the session making the request, durably, then refuse its token here at once."""
    participant, _, session = this_session(request)
    done = await handle(state, c.EndSession(actor=participant, session=session))
    end_session(state.secret, participant, session)
    return done


@contextlib.asynccontextmanager
async def following_ended_sessions(key: bytes, app: JamApplication) -> Any:
    ended = EndedSessions(key, app)
    await sync_to_thread(ended.catch_up)  # before the first request: none slips through
    task = asyncio.create_task(ended.follow())
    try:
        yield ended
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _json_only(request: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard: it runs before the body is read, so a form is told what to send, not that
    it is malformed JSON."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        # A page elsewhere can post a form or text/plain here, not JSON: without this, it
        # could sign a visitor in as someone else (the rest of the API takes JSON only).
        raise HTTPException(
            status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail="sign in with a JSON body (Content-Type: application/json)",
        )


def _session(
    state: State, request: Request[Any, Any, Any], person: Participant
) -> Response[Session]:
    mark_signed_in(request)
    body = Session(
        issue_token(state.secret, person.id),
        str(person.id),
        person.role.value,
        person.segment.value,
    )
    # The answer carries the session's token.
    return Response(
        body,
        status_code=HTTP_201_CREATED,
        cookies=[session_cookie(state.secret, person.id)],
        headers=NO_STORE,
    )


SIGN_IN_KEY_MIN = 16


class SessionController(Controller):
    path = "/api/session"
    tags: ClassVar[list[str]] = ["sessions"]
    security: ClassVar[list[dict[str, list[str]]]] = [{}]  # signing in needs no session

    @post(
        "/",
        summary="Sign in with an invite code",
        description="With an `Idempotency-Key` (a random one, at least"
        f" {SIGN_IN_KEY_MIN} characters), a retry answers with a session for the same"
        " participant: whoever repeats the key, the invite code and the name signs in as them.",
        status_code=HTTP_201_CREATED,
        opt={"refuses": (415,), SIGNS_IN: True},
        guards=[_json_only],
    )
    async def sign_in(
        self, state: State, data: JSONBody[SignIn], request: Request[Any, Any, Any]
    ) -> Response[Session]:
        app: JamApplication = state.services.jam
        key = idempotency_key(request)
        if key is not None and len(key) < SIGN_IN_KEY_MIN:
            # Not scoped to anyone yet: a short key could be guessed, and with the invite
            # code and the name it signs the guesser in as whoever sent it first.
            raise refused_input(
                f"an Idempotency-Key for signing in is at least {SIGN_IN_KEY_MIN} characters"
                " (make it random: repeating it signs in as the same participant)",
                "Idempotency-Key",
                "header",
            )
        participant_id = app.new_id(None, f"session:{key}" if key else None)
        command = c.JoinJam(
            invite_code=data.invite_code,
            participant_id=participant_id,
            display_name=data.display_name,
            client_key=key,
        )
        done = await sync_to_thread(app.handle, command)
        return _session(state, request, await sync_to_thread(app.read, Participant, done.id))

    @delete(
        "/",
        summary="Sign out: this session's token stops working, copies of it included",
        description="Every worker refuses the token from then on (the one that answers at"
        " once, the others within a second). Other sessions of the same participant go on.",
        status_code=HTTP_200_OK,
        security=[{"session": []}, {"cookie": []}],
        opt={"retry_key": False, "never": (403, 409)},
    )
    async def sign_out(self, state: State, request: Request[Any, Any, Any]) -> Response[Written]:
        done = await end_this_session(state, request)
        body = Written(id=str(done.id), position=done.position)
        return Response(body, headers=NO_STORE, cookies=[cookie_gone()])

    @post(
        "/personal-code",
        summary="Sign back in with a personal code",
        description="The code a participant made for themselves (`POST /api/me/personal-code`):"
        " it signs them in as the same participant, on any device, after signing out.",
        status_code=HTTP_201_CREATED,
        opt={"refuses": (415,), "never": (409,), "retry_key": False, SIGNS_IN: True},
        guards=[_json_only],
    )
    async def sign_in_again(
        self, state: State, data: JSONBody[PersonalCode], request: Request[Any, Any, Any]
    ) -> Response[Session]:
        app: JamApplication = state.services.jam
        return _session(state, request, await sync_to_thread(holder_of, app, data.personal_code))
