"""Leadership: the ideas with the strongest support, the evidence, decisions and export.

Until the ranking lands, ideas are ordered by the lower bound of their up-vote
share (Wilson), which already discounts ideas with few votes; the evidence is
their support per segment, discussion and decision state.
"""

from __future__ import annotations

import csv
import io
from typing import Any, ClassVar
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from domain.values import Role
from projections import queries
from projections.models import IdeaSummary, SegmentTally
from ui.bootstrap import Services
from ui.reads import After, caught_up, require_role

SHORTLIST_SIZE = 50


class Candidate(msgspec.Struct, frozen=True):
    rank: int
    idea: IdeaSummary
    segments: list[SegmentTally]


def _shortlist(services: Services, jam_id: UUID, limit: int) -> list[Candidate]:
    with services.views.reading() as cur:
        ideas = [
            i
            for i in queries.ideas(cur, str(jam_id), sort="top", limit=limit * 2)
            if i.duplicate_of is None
        ][:limit]
        tallies = queries.segment_tallies(cur, [i.id for i in ideas])
    return [Candidate(n, i, tallies[i.id]) for n, i in enumerate(ideas, 1)]


class LeadershipController(Controller):
    tags: ClassVar[list[str]] = ["leadership"]

    @get("/jams/{jam_id:uuid}/leadership", include_in_schema=False)
    async def page(
        self, state: State, request: Request[Any, Any, Any], jam_id: FromPath[UUID]
    ) -> Template:
        services: Services = state.services
        me = await require_role(services, request, jam_id, {Role.LEADER, Role.ORGANIZER})

        def read() -> tuple[Any, list[Candidate]]:
            with services.views.reading() as cur:
                info = queries.jam_info(cur, str(jam_id))
            return info, _shortlist(services, jam_id, SHORTLIST_SIZE)

        info, shortlist = await sync_to_thread(read)
        if info is None:
            raise NotFoundException(f"no jam with id {jam_id}")
        return Template(
            "leadership.html",
            context={
                "me": me,
                "jam": info,
                "shortlist": shortlist,
                "leader": me.role is Role.LEADER,
            },
        )

    @get("/api/jams/{jam_id:uuid}/shortlist", summary="The shortlist with its evidence (leaders)")
    async def export(
        self,
        state: State,
        request: Request[Any, Any, Any],
        jam_id: FromPath[UUID],
        format: FromQuery[str] = "json",
        after: After = None,
    ) -> Response[Any]:
        services: Services = state.services
        await require_role(services, request, jam_id, {Role.LEADER, Role.ORGANIZER})
        await caught_up(services, after)
        shortlist = await sync_to_thread(_shortlist, services, jam_id, SHORTLIST_SIZE)
        if format == "csv":
            return Response(
                _csv(shortlist),
                media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="shortlist-{jam_id}.csv"'},
            )
        return Response(shortlist)


def _csv(shortlist: list[Candidate]) -> str:
    out = io.StringIO()
    segments = ["employee", "client", "family", "partner"]
    writer = csv.writer(out)
    writer.writerow(
        [
            "rank",
            "idea_id",
            "title",
            "forum",
            "author_segment",
            "up",
            "down",
            "score",
            "comments",
            "decision",
            *(f"{s}_up" for s in segments),
            *(f"{s}_down" for s in segments),
        ]
    )
    for c in shortlist:
        by = {t.segment: t for t in c.segments}
        i = c.idea
        writer.writerow(
            [
                c.rank,
                i.id,
                _cell(i.title),
                i.forum,
                i.author_segment,
                i.up,
                i.down,
                f"{i.score:.4f}",
                i.comments,
                i.decision or "",
                *(by[s].up if s in by else 0 for s in segments),
                *(by[s].down if s in by else 0 for s in segments),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    # A title starting with = + - @ would run as a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
