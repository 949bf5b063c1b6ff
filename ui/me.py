"""The signed-in participant's own page of activity."""

from __future__ import annotations

from typing import Any, ClassVar

from litestar import Controller, Request, get
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.exceptions import NotFoundException

from projections import queries
from projections.models import Activity
from ui.auth import signed_in
from ui.bootstrap import Services
from ui.reads import After, caught_up


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

        def read() -> Activity | None:
            with services.views.reading() as cur:
                return queries.activity(cur, str(participant))

        found = await sync_to_thread(read)
        if found is None:
            raise NotFoundException("your activity is not in the read models yet")
        return found
