"""The signed-in participant's own page of activity."""

from __future__ import annotations

from typing import Any, ClassVar

from litestar import Controller, Request, get
from litestar.datastructures import State

from projections.models import Activity
from ui.auth import signed_in
from ui.bootstrap import Services
from ui.reads import After, activity_of, caught_up


class MeController(Controller):
    path = "/api/me"
    tags: ClassVar[list[str]] = ["sessions"]

    @get("/activity", summary="My ideas, comments and votes")
    async def activity(
        self, state: State, request: Request[Any, Any, Any], after: After = None
    ) -> Activity:
        participant = signed_in(request)
        services: Services = state.services
        await caught_up(services, after)
        return await activity_of(services, participant)
