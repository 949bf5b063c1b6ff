"""Comments: moderation."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from litestar import Controller, Request, Response, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from jam import commands as c
from ui.schemas import CommentModeration, Written, acting, handle, written


class CommentController(Controller):
    path = "/api/comments/{comment_id:uuid}"
    tags: ClassVar[list[str]] = ["comments"]

    @post("/moderation", summary="Hide or restore a comment (organizers)", status_code=HTTP_200_OK)
    async def moderate(
        self,
        state: State,
        comment_id: FromPath[UUID],
        data: JSONBody[CommentModeration],
        request: Request[Any, Any, Any],
    ) -> Response[Written]:
        kind = c.HideComment if data.action == "hide" else c.RestoreComment
        command = kind(
            **acting(request),
            comment_id=comment_id,
            reason=data.reason,
        )
        return written(await handle(state, command), HTTP_200_OK)
