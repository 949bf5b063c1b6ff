"""Participants: blocking and unblocking (organizers)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from jam import commands as c
from ui.schemas import BlockWhy, Written, acting, handle, written


class Blocking(msgspec.Struct, frozen=True):
    action: Literal["block", "unblock"]
    reason: BlockWhy = ""


class ParticipantController(Controller):
    path = "/api/participants/{participant_id:uuid}"
    tags: ClassVar[list[str]] = ["participants"]

    @post(
        "/moderation",
        summary="Block a participant from writing, or unblock them (organizers)",
        status_code=HTTP_200_OK,
    )
    async def moderate(
        self,
        state: State,
        participant_id: FromPath[UUID],
        data: JSONBody[Blocking],
        request: Request[Any, Any, Any],
    ) -> Response[Written]:
        kind = c.BlockParticipant if data.action == "block" else c.UnblockParticipant
        command = kind(**acting(request), participant_id=participant_id, reason=data.reason)
        return written(await handle(state, command), HTTP_200_OK)
