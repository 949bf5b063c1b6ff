"""Leadership: the ranked, diverse shortlist and its themes, the evidence, decisions and export.

The ranking worker stores the ranking (see docs/ranking.md for the formula); this
module joins it with titles, cluster labels and decision history. "As of" a past
time the ranking is computed again from the log replayed to that time, which gives
the same result the worker gave then: the ranking is a pure function of the log
and its versioned configuration.
"""

from __future__ import annotations

import csv
import io
import time
from datetime import datetime
from typing import Any, ClassVar, Literal, NamedTuple
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from domain.values import Role
from projections import queries
from projections import ranking_views as rv
from projections.db import Cursor
from ranking.model import SEGMENTS, Ranking, Support
from ranking.score import group_names
from ui.asof import refresh_as_of
from ui.bootstrap import Services
from ui.errors import NotCaughtUp
from ui.page_errors import PAGE_EXCEPTION_HANDLERS
from ui.reads import After, AsOf, caught_up, in_utc, page_time, require_role
from ui.spreadsheets import (
    asked_for_json_file,
    csv_download,
    file_name,
    json_download,
    safe_cell,
)

RANKING_POLL_S = 0.05


class IdeaRef(msgspec.Struct, frozen=True):
    id: str
    title: str
    hidden: bool = False  # hidden by an organizer since the ranking was made


class Evidence(msgspec.Struct, frozen=True):
    rank: int
    idea_id: str
    title: str
    forum: str
    author_segment: str
    score: float
    low: float
    high: float
    wilson: float
    bridging: float
    by_segment: dict[str, Support]
    by_group: dict[str, Support]
    comments: int
    trend: float
    cluster_id: str
    cluster_label: str
    duplicates: list[IdeaRef]
    suspect_votes: int
    rank_with_all_votes: int
    rank_without_suspects: int
    depends_on_suspects: bool
    decision: str | None
    decisions: list[rv.DecisionRow]
    # Hidden by an organizer since the ranking was made: a view of the past, or a ranking
    # that has not yet caught up with the hiding. Kept in its place, and said to be hidden.
    hidden: bool = False


class ThemeOut(msgspec.Struct, frozen=True):
    rank: int
    cluster_id: str
    label: str
    score: float
    ideas: list[IdeaRef]


class Shortlist(msgspec.Struct, frozen=True):
    jam_id: str
    ready: bool  # False until the ranking worker has ranked this jam once
    config_version: str = ""
    position: int = 0
    as_of: str = ""
    without_suspect_votes: bool = False
    opinion_groups: int = 0
    suspect_accounts: int = 0
    shortlist: list[Evidence] = msgspec.field(default_factory=list)
    themes: list[ThemeOut] = msgspec.field(default_factory=list)


class _Details(NamedTuple):
    title: str = ""
    forum: str = ""
    segment: str = ""
    decision: str | None = None
    hidden: bool = False


def _details(cur: Cursor, ids: list[str]) -> dict[str, _Details]:
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    rows = cur.execute(
        f"SELECT idea_id, title, forum, author_segment, decision, hidden FROM rm_ideas "
        f"WHERE idea_id IN ({marks})",
        ids,
    ).fetchall()
    return {r[0]: _Details(r[1], r[2], r[3], r[4], bool(r[5])) for r in rows}


def assemble(
    cur: Cursor,
    jam_id: str,
    ranking: Ranking,
    labels: dict[str, str],
    clean: bool,
    until: datetime | None = None,
) -> Shortlist:
    """The shortlist with everything a reader needs to judge each rank. `until`: the time
    of a ranking of the past, shown with the decisions recorded by then only (by time, as
    the log was replayed)."""
    chosen, ideas, themes, groups = ranking.view(clean)
    by_id = {e.idea_id: e for e in ideas}
    theme_ideas = [i for t in themes for i in t.ideas]
    duplicate_ids = [d for i in chosen for d in by_id[i].duplicates]
    details = _details(cur, sorted({*chosen, *theme_ideas, *duplicate_ids}))
    history = rv.decisions(cur, list(chosen))
    if until is not None:
        history = {
            i: [d for d in rows if datetime.fromisoformat(d.at) <= until]
            for i, rows in history.items()
        }

    def ref(idea_id: str) -> IdeaRef:
        found = details.get(idea_id, _Details())
        return IdeaRef(idea_id, found.title, found.hidden)

    evidence = []
    for n, idea_id in enumerate(chosen, start=1):
        e = by_id[idea_id]
        title, forum, segment, decision, hidden = details.get(idea_id, _Details())
        if until is not None:
            decision = history[idea_id][-1].decision if history.get(idea_id) else None
        evidence.append(
            Evidence(
                rank=n,
                idea_id=idea_id,
                title=title,
                forum=forum,
                author_segment=segment,
                score=e.score,
                low=e.low,
                high=e.high,
                wilson=e.wilson,
                bridging=e.bridging,
                by_segment=e.by_segment,
                by_group=e.by_group,
                comments=e.comments,
                trend=e.trend,
                cluster_id=e.cluster_id,
                cluster_label=labels.get(e.cluster_id, "other"),
                duplicates=[ref(d) for d in e.duplicates],
                suspect_votes=e.suspect_votes,
                rank_with_all_votes=e.rank,
                rank_without_suspects=e.rank_without_suspects,
                depends_on_suspects=e.depends_on_suspects,
                decision=decision,
                decisions=history.get(idea_id, []),
                hidden=hidden,
            )
        )
    themes = [
        ThemeOut(
            t.rank,
            t.cluster_id,
            labels.get(t.cluster_id, "other"),
            t.score,
            [ref(i) for i in t.ideas],
        )
        for t in themes
    ]
    # The time the shortlist shows: its ranking's, or the newest decision it shows if later
    # (a saved copy with a decision is not named for a time before it).
    decided = [ranking.as_of, *(datetime.fromisoformat(d.at) for r in history.values() for d in r)]
    return Shortlist(
        jam_id=jam_id,
        ready=True,
        config_version=ranking.config_version,
        position=ranking.position,
        as_of=max(decided, default=ranking.as_of).isoformat(),
        without_suspect_votes=clean,
        opinion_groups=groups,
        suspect_accounts=len(ranking.suspects),
        shortlist=evidence,
        themes=themes,
    )


def current_shortlist(services: Services, jam_id: str, clean: bool) -> Shortlist:
    with services.views.reading() as cur:
        ranking = rv.ranking(cur, jam_id)
        if ranking is None:
            return Shortlist(jam_id=jam_id, ready=False)
        topics = rv.current_topics(cur, jam_id)
        labels = {c.id: c.label for c in topics.clusters} if topics else {}
        return assemble(cur, jam_id, ranking, labels, clean)


def shortlist_as_of(services: Services, jam_id: str, at: datetime, clean: bool) -> Shortlist:
    """Rank again from the log replayed to `at`: the shortlist leadership saw then."""
    result = refresh_as_of(services, jam_id, at)
    if result is None:
        return Shortlist(jam_id=jam_id, ready=False)
    labels = {c.id: c.label for c in result.topics.clusters}
    with services.views.reading() as live:  # titles as they read now
        return assemble(live, jam_id, result.ranking, labels, clean, until=at)


def shortlist_csv(shortlist: Shortlist) -> str:
    """One row per shortlisted idea: its evidence, its theme's rank and its decisions."""
    out = io.StringIO()
    writer = csv.writer(out)
    groups = group_names(shortlist.opinion_groups)
    theme_rank = {t.cluster_id: t.rank for t in shortlist.themes}
    writer.writerow(
        [
            "rank",
            "idea_id",
            "title",
            "forum",
            "author_segment",
            "score",
            "low",
            "high",
            "wilson",
            "bridging",
            "comments",
            "trend",
            "cluster_id",
            "cluster_label",
            "duplicates",
            "suspect_votes",
            "rank_with_all_votes",
            "rank_without_suspects",
            "depends_on_suspects",
            "decision",
            *(f"{s}_{side}" for s in SEGMENTS for side in ("agree", "disagree")),
            "theme_rank",
            "decisions",
            "hidden",
            *(f"group_{g}_{side}" for g in groups for side in ("agree", "disagree")),
            # Added after the columns above, which readers of earlier files know by place.
            *(f"{s}_passes" for s in SEGMENTS),
            *(f"group_{g}_passes" for g in groups),
        ]
    )
    for e in shortlist.shortlist:
        writer.writerow(
            [
                e.rank,
                e.idea_id,
                safe_cell(e.title),
                e.forum,
                e.author_segment,
                f"{e.score:.4f}",
                f"{e.low:.4f}",
                f"{e.high:.4f}",
                f"{e.wilson:.4f}",
                f"{e.bridging:.4f}",
                e.comments,
                f"{e.trend:.2f}",
                e.cluster_id,
                safe_cell(e.cluster_label),
                " ".join(d.id for d in e.duplicates),
                e.suspect_votes,
                e.rank_with_all_votes,
                e.rank_without_suspects,
                int(e.depends_on_suspects),
                e.decision or "",
                *(
                    getattr(e.by_segment.get(s, Support(0, 0)), side)
                    for s in SEGMENTS
                    for side in ("agree", "disagree")
                ),
                theme_rank.get(e.cluster_id, ""),
                safe_cell(" | ".join(_decided(d) for d in e.decisions)),
                int(e.hidden),
                *(
                    getattr(e.by_group.get(g, Support(0, 0)), side)
                    for g in groups
                    for side in ("agree", "disagree")
                ),
                *(e.by_segment.get(s, Support(0, 0)).passes for s in SEGMENTS),
                *(e.by_group.get(g, Support(0, 0)).passes for g in groups),
            ]
        )
    return out.getvalue()


def _decided(d: rv.DecisionRow) -> str:
    """A decision as the page says it: when (UTC, to the minute), what, by whom, the note."""
    when = d.at[:16].replace("T", " ")
    by = f" by {d.decided_by_name}" if d.decided_by_name else ""
    return f"{when} UTC {d.decision}{by}" + (f": {d.note}" if d.note else "")


def _ranked_to(services: Services, jam_id: str, position: int) -> bool:
    """Wait until the ranking of `jam_id` includes log `position` (read-your-writes)."""
    wait_s = services.settings.read_wait_ms / 1000
    with services.views.reading() as cur:
        if rv.newest_idea(cur, jam_id) == 0:
            return True  # nothing to rank yet
    if services.ranking is not None:
        return services.ranking.wait_for(jam_id, position, wait_s)
    deadline = time.monotonic() + wait_s
    retention = services.projector.feed_retention
    while True:  # the worker is another process: look, then look again
        with services.views.reading() as cur:
            # A decision needs no new ranking, only the worker's record of it (a round).
            if rv.ranking_current_to(cur, jam_id, position, retention):
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(RANKING_POLL_S)


async def _read(
    services: Services,
    jam_id: UUID,
    clean: bool,
    as_of: datetime | None,
    after: int | None,
    hidden_too: bool,
) -> Shortlist:
    """The shortlist now or as of a time; `hidden_too`: for a reader who sees hidden ideas."""
    if after is not None and as_of is None:
        await caught_up(services, after)
        if not await sync_to_thread(_ranked_to, services, str(jam_id), after):
            raise NotCaughtUp(
                f"the ranking has not reached log position {after} yet; retry shortly"
            )
    if as_of is None:
        found = await sync_to_thread(current_shortlist, services, str(jam_id), clean)
    else:
        found = await sync_to_thread(shortlist_as_of, services, str(jam_id), in_utc(as_of), clean)
    return found if hidden_too else without_hidden_titles(found)


def without_hidden_titles(shortlist: Shortlist) -> Shortlist:
    """The shortlist for a reader who does not see hidden content (a leader): an idea an
    organizer hid since keeps its place, untitled (its title is often what was hidden)."""

    def ref(r: IdeaRef) -> IdeaRef:
        return msgspec.structs.replace(r, title="") if r.hidden else r

    return msgspec.structs.replace(
        shortlist,
        shortlist=[
            msgspec.structs.replace(
                e,
                title="" if e.hidden else e.title,
                duplicates=[ref(d) for d in e.duplicates],
            )
            for e in shortlist.shortlist
        ],
        themes=[
            msgspec.structs.replace(t, ideas=[ref(i) for i in t.ideas]) for t in shortlist.themes
        ],
    )


class LeadershipController(Controller):
    tags: ClassVar[list[str]] = ["leadership"]

    @get(
        "/jams/{jam_id:uuid}/leadership",
        include_in_schema=False,
        exception_handlers=PAGE_EXCEPTION_HANDLERS,  # a page: errors as pages too
    )
    async def page(
        self,
        state: State,
        request: Request[Any, Any, Any],
        jam_id: FromPath[UUID],
        clean: FromQuery[bool] = True,
        as_of: FromQuery[str | None] = None,
        after: After = None,
    ) -> Template:
        services: Services = state.services
        me = await require_role(services, request, jam_id, {Role.LEADER, Role.ORGANIZER})
        at = page_time(as_of)
        later = at is not None and at > services.jam.now()
        at = None if later else at  # a time to come: the shortlist now, said to be now

        def info() -> Any:
            with services.views.reading() as cur:
                return queries.jam_info(cur, str(jam_id)), queries.position(cur)

        # The position before the shortlist is read: its stream announces any ranking since.
        jam, position = await sync_to_thread(info)
        if jam is None:
            raise NotFoundException(f"no jam with id {jam_id}")
        hidden_too = me.acts_as(Role.ORGANIZER, jam_id)  # an organizer reads hidden ideas
        shortlist = await _read(services, jam_id, clean, at, after, hidden_too)
        return Template(
            "leadership.html",
            context={
                "me": me,
                "jam": jam,
                "list": shortlist,
                "segments": SEGMENTS,
                "leader": me.role is Role.LEADER,
                "as_of": at.isoformat() if at else "",
                "later": later,
                "clean_asked": "true" if clean else "false",
                "position": position,
            },
        )

    @get(
        "/api/jams/{jam_id:uuid}/shortlist",
        summary="The ranked shortlist, its themes and the evidence (leaders, organizers)",
        responses={
            200: ResponseSpec(
                Shortlist,
                description="The shortlist (a file with format=csv, or format=json written out)",
            )
        },
        opt={"csv": True},
    )
    async def export(
        self,
        state: State,
        request: Request[Any, Any, Any],
        jam_id: FromPath[UUID],
        format: FromQuery[Literal["json", "csv"]] = "json",
        clean: FromQuery[bool] = True,
        as_of: AsOf = None,
        after: After = None,
    ) -> Response[Any]:
        services: Services = state.services
        me = await require_role(services, request, jam_id, {Role.LEADER, Role.ORGANIZER})
        hidden_too = me.acts_as(Role.ORGANIZER, jam_id)  # an organizer reads hidden ideas
        shortlist = await _read(services, jam_id, clean, as_of, after, hidden_too)
        every = () if clean else ("every-vote",)
        shows = shortlist.as_of or in_utc(as_of or services.jam.now())
        if format == "csv":
            name = file_name("shortlist", jam_id, shows, *every)
            return csv_download(shortlist_csv(shortlist), name)
        if asked_for_json_file(request.query_params):
            name = file_name("shortlist", jam_id, shows, *every, suffix="json")
            return json_download(shortlist, name)
        return Response(shortlist)
