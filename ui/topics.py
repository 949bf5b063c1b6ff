"""Topic clusters for organizers, duplicate suggestions, and similar ideas while typing."""

from __future__ import annotations

import asyncio
import csv
import functools
import io
import math
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, NamedTuple
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.exceptions import NotFoundException, TooManyRequestsException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from domain.errors import InvalidValue
from domain.text import quoted
from domain.topics import LABEL_MAX, require_cluster_id
from domain.values import Role
from jam import commands as c
from projections import ranking_views as rv
from projections.similar_ideas import SimilarIdea
from ranking.model import Cluster, DuplicatePair
from ui.asof import refresh_as_of
from ui.bootstrap import Services
from ui.errors import Busy
from ui.reads import AsOf, in_utc, require_member, require_role, require_role_of
from ui.schemas import Written, acting, handle, said, written
from ui.spreadsheets import (
    asked_for_json_file,
    csv_download,
    file_name,
    json_download,
    safe_cell,
)

SIMILAR_TEXT_MAX = 2_000  # what the page sends: its title and body, cut to 2,000 characters
# A search embeds its text and compares it with every idea of the jam: ~50 ms of CPU for
# 2,000 characters. Unbounded, 400 searches at once made another reader's page take 14 s.
SIMILAR_PER_PARTICIPANT = 2  # at once: a person typing asks again only after a pause
SIMILAR_RUNNING = 2  # at once in a worker's threads; the rest wait without holding one
SIMILAR_WAITING = 32  # waiting in a worker; more are refused (503)
SIMILAR_RETRY_AFTER_S = 2


class SimilarSearches:
    """Who is searching for similar ideas in this worker, and the turns at searching.

    Searches wait for a turn on the event loop, not in the threads every read shares.
    """

    def __init__(self) -> None:
        self._by: dict[UUID, int] = {}
        self._running = asyncio.Semaphore(SIMILAR_RUNNING)
        self.waiting = 0

    @asynccontextmanager
    async def turn(self, participant: UUID) -> AsyncIterator[None]:
        held = self._by.get(participant, 0)
        if held >= SIMILAR_PER_PARTICIPANT:
            raise TooManyRequestsException(
                f"at most {SIMILAR_PER_PARTICIPANT} searches for similar ideas at once",
                headers={"Retry-After": str(SIMILAR_RETRY_AFTER_S)},
            )
        if self._running.locked() and self.waiting >= SIMILAR_WAITING:
            raise Busy(
                "too many searches for similar ideas at once; retry in a moment",
                headers={"Retry-After": str(SIMILAR_RETRY_AFTER_S)},
            )
        self._by[participant] = held + 1
        try:
            self.waiting += 1
            try:
                await self._running.acquire()
            finally:
                self.waiting -= 1
            try:
                yield
            finally:
                self._running.release()
        finally:
            left = self._by[participant] - 1
            if left:
                self._by[participant] = left
            else:
                del self._by[participant]


def similar_searches(state: State) -> SimilarSearches:
    """This worker's (this app's) searches."""
    searches: SimilarSearches | None = state.get("similar_searches")
    if searches is None:
        searches = state["similar_searches"] = SimilarSearches()
    return searches


class ClusterOut(msgspec.Struct, frozen=True):
    cluster: Cluster
    ideas_now: int  # with the ideas assigned since the refresh


class TopicsOut(msgspec.Struct, frozen=True):
    jam_id: str
    position: int
    as_of: str
    method: str
    clusters: list[ClusterOut]
    unclustered: int
    history: list[str]  # the refresh kept for each hour of the jam, for the timeline
    # The representative ideas' titles: for a reader who does not see hidden ideas, none of
    # one an organizer has hidden (a view of the past, or topics not yet refreshed since).
    titles: dict[str, str]


class TopicChange(msgspec.Struct, frozen=True):
    action: Literal["rename", "pin", "unpin", "merge", "split"]
    label: Annotated[
        str, msgspec.Meta(max_length=LABEL_MAX * 4, description=said(LABEL_MAX, lines=False))
    ] = ""
    into: Annotated[str, msgspec.Meta(max_length=40)] = ""


class DuplicateOut(msgspec.Struct, frozen=True):
    idea_id: str
    idea_title: str
    original_id: str
    original_title: str
    similarity: float
    # What tells two ideas of one title apart: who posted each, when, and their support.
    idea_author: str = ""
    idea_posted_at: str = ""
    idea_up: int = 0
    original_author: str = ""
    original_posted_at: str = ""
    original_up: int = 0


TIMELINE_HOURS = 168  # hours the timeline offers, the latest: a week of a jam


def timeline(kept: list[str], posted: list[str]) -> list[str]:
    """The times the timeline offers: the refresh kept for each hour, and the end of each
    other hour in which ideas were posted (shown by replaying the log), latest last."""
    times = {t[:13]: t for t in kept}
    for hour in posted:
        times.setdefault(hour, f"{hour}:59:59.999999+00:00")
    return [times[h] for h in sorted(times)][-TIMELINE_HOURS:]


def _needs_replay(kept: rv.TopicsView | None, hour: str, posted: list[str]) -> bool:
    """Whether the topics of `hour` must be computed again: ideas were posted by then, and
    nothing was kept before it, or ideas were posted in an hour after the refresh kept
    last before it (its hour has no refresh of its own: an import, a lost history)."""
    if not posted or hour < posted[0]:
        return False  # no idea yet then: nothing to show, and no replay to find it out
    if kept is None:
        return True
    return any(kept.as_of[:13] < h <= hour for h in posted)


def _replayed(services: Services, jam_id: str, at: datetime) -> rv.TopicsView | None:
    """The topics at `at` computed again from the log, for an hour nothing was kept for."""
    refreshed = refresh_as_of(services, jam_id, at)
    if refreshed is None:
        return None
    topics = refreshed.topics
    counts = dict(Counter(topics.assignment.values()))
    return rv.TopicsView(
        jam_id, topics.position, topics.as_of.isoformat(), topics.method, topics.clusters, counts
    )


def read_topics(
    services: Services, jam_id: str, as_of: datetime | None, hidden_too: bool
) -> TopicsOut | None:
    """The topics now or as of `as_of`; `hidden_too`: for a reader who sees hidden ideas."""
    with services.views.reading() as cur:
        view = (
            rv.current_topics(cur, jam_id) if as_of is None else rv.topics_as_of(cur, jam_id, as_of)
        )
        posted = rv.idea_hours(cur, jam_id)
        history = timeline(rv.topic_hours(cur, jam_id), posted)
    if as_of is not None and _needs_replay(view, as_of.astimezone(UTC).isoformat()[:13], posted):
        view = _replayed(services, jam_id, as_of)
    if view is None:
        return None
    with services.views.reading() as cur:
        shown = [i for cl in view.clusters for i in cl.representatives]
        titles = rv.idea_titles(cur, shown, include_hidden=hidden_too)
    return TopicsOut(
        jam_id=jam_id,
        position=view.position,
        as_of=view.as_of,
        method=view.method,
        clusters=[ClusterOut(cl, view.counts.get(cl.id, cl.size)) for cl in view.clusters],
        unclustered=view.counts.get("other", 0),
        history=history,
        titles=titles,
    )


def read_duplicates(services: Services, jam_id: str) -> list[DuplicateOut]:
    with services.views.reading() as cur:
        pairs: list[DuplicatePair] = rv.duplicate_pairs(cur, jam_id)
        cards = rv.idea_cards(
            cur, sorted({p.idea_id for p in pairs} | {p.original_id for p in pairs})
        )
    out = []
    for p in pairs:
        idea, original = cards[p.idea_id], cards[p.original_id]
        out.append(
            DuplicateOut(
                p.idea_id,
                idea.title,
                p.original_id,
                original.title,
                p.similarity,
                idea.author_name,
                idea.posted_at,
                idea.up,
                original.author_name,
                original.posted_at,
                original.up,
            )
        )
    return out


MAP_W, MAP_H = 600, 260
MAP_PAD = 45  # the 2-D positions are scaled inside this margin: room for most labels
MAP_EDGE = 2.0  # pushed apart, a circle still keeps this far inside the picture
CIRCLE_GAP = 4.0  # between two circles, so that each reads as a topic of its own
SPREAD_SLACK = 0.5  # of that gap, what pushing apart may leave unmet: pairs settle sooner
LABEL_GAP = 3.0  # between a label and another circle or label, so it reads as its own's
SPREAD_ROUNDS = 300  # rounds of pushing overlapping circles apart before shrinking them all
SPREAD_SHRINK = 0.85  # the circles' radii, times this, when they do not fit apart
SPREAD_TRIES = 25  # 0.85 ** 25 ~ 1.7%: even thousands of circles fit by then


LABEL_CHARS = 32  # a label is cut to this on the map (its full text on hover)
CHAR_W, LINE_H = 6.2, 12.0  # a label's box at the map's 11px type, in map units

Box = tuple[float, float, float, float]  # left, top, right, bottom


def topic_map(clusters: list[ClusterOut]) -> list[dict[str, Any]]:
    """Circles for the cluster map: the 2-D positions scaled to the picture, area ~ size,
    pushed apart where they would overlap, and where each label goes (beside its circle,
    clear of every other circle and label). A label with no such place is `keyed`: its
    circle shows its number and the label is listed under the map, as on a phone.

    Laying out many topics takes a tenth of a second or more, and every organizer's Jam
    Central draws the same map again at each live update: maps are kept by their clusters.
    The map returned is shared: read it, never change it."""
    if not clusters:
        return []
    return _map_of(tuple(_MapTopic.of(c) for c in clusters))


class _MapTopic(NamedTuple):
    """What the map draws of a topic: the key its layout is kept by."""

    id: str
    label: str
    x: float
    y: float
    emerging: bool
    ideas_now: int

    @classmethod
    def of(cls, c: ClusterOut) -> _MapTopic:
        cl = c.cluster
        return cls(cl.id, cl.label, cl.x, cl.y, cl.emerging, c.ideas_now)


@functools.lru_cache(maxsize=32)
def _map_of(topics: tuple[_MapTopic, ...]) -> list[dict[str, Any]]:
    circles = _scaled(topics)
    _spread(circles)
    for m in circles:
        m["cx"], m["cy"], m["r"] = round(m["cx"], 1), round(m["cy"], 1), round(m["r"], 1)
    labels: list[Box] = []
    for m in sorted(circles, key=lambda m: -m["r"]):  # the biggest topics choose first
        m.update(_label_place(m, circles, labels))
    return circles


def _scaled(topics: tuple[_MapTopic, ...]) -> list[dict[str, Any]]:
    xs = [t.x for t in topics]
    ys = [t.y for t in topics]
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    biggest = max(t.ideas_now for t in topics) or 1
    return [
        {
            "id": t.id,
            "label": t.label,
            "cx": MAP_PAD + (t.x - min(xs)) / span_x * (MAP_W - 2 * MAP_PAD),
            "cy": MAP_PAD + (t.y - min(ys)) / span_y * (MAP_H - 2 * MAP_PAD),
            "r": 6 + 22 * (t.ideas_now / biggest) ** 0.5,
            "emerging": t.emerging,
        }
        for t in topics
    ]


def _spread(circles: list[dict[str, Any]]) -> None:
    """Push the circles apart until none overlaps another, inside the picture; if they do
    not fit, start again from where they were with every circle smaller."""
    start = [(m["cx"], m["cy"]) for m in circles]
    for _ in range(SPREAD_TRIES):
        if _pushed_apart(circles):
            return
        for m, (x, y) in zip(circles, start, strict=True):
            m["cx"], m["cy"], m["r"] = x, y, m["r"] * SPREAD_SHRINK


def _pushed_apart(circles: list[dict[str, Any]]) -> bool:
    """Rounds of moving each overlapping pair apart along the line between their centres,
    each by half the overlap, then back inside the picture. True once none overlaps."""
    for _ in range(SPREAD_ROUNDS):
        moved = False
        for n, a in enumerate(circles):
            for k, b in enumerate(circles[n + 1 :], start=n + 1):
                dx, dy = b["cx"] - a["cx"], b["cy"] - a["cy"]
                apart = math.hypot(dx, dy)
                need = a["r"] + b["r"] + CIRCLE_GAP
                if apart >= need - SPREAD_SLACK:
                    continue
                if apart < 1e-6:  # one place: a direction of its own for each, the same every time
                    dx, dy, apart = math.cos(k), math.sin(k), 1.0
                push = (need - apart) / 2
                a["cx"] -= dx / apart * push
                a["cy"] -= dy / apart * push
                b["cx"] += dx / apart * push
                b["cy"] += dy / apart * push
                moved = True
        for m in circles:
            m["cx"] = min(max(m["cx"], m["r"] + MAP_EDGE), MAP_W - m["r"] - MAP_EDGE)
            m["cy"] = min(max(m["cy"], m["r"] + MAP_EDGE), MAP_H - m["r"] - MAP_EDGE)
        if not moved:
            return True
    return False


def label_box(label: str, x: float, y: float, anchor: str) -> Box:
    """The box a label drawn at (x, baseline y) with this text-anchor takes on the map."""
    width = min(len(label), LABEL_CHARS) * CHAR_W
    left = {"middle": x - width / 2, "start": x, "end": x - width}[anchor]
    return (left, y - LINE_H + 2, left + width, y + 2)


def box_gap_to_circle(b: Box, cx: float, cy: float, r: float) -> float:
    """How far the box is from the circle's edge (negative: they overlap)."""
    dx = max(b[0] - cx, 0.0, cx - b[2])
    dy = max(b[1] - cy, 0.0, cy - b[3])
    return math.hypot(dx, dy) - r


def boxes_apart(a: Box, b: Box, gap: float = 0.0) -> bool:
    return a[2] + gap <= b[0] or b[2] + gap <= a[0] or a[3] + gap <= b[1] or b[3] + gap <= a[1]


def _label_spots(cx: float, cy: float, r: float) -> list[tuple[float, float, str]]:
    """(text x, baseline y, anchor) beside a circle, the most natural first."""
    below, above, d = cy + r + LINE_H - 1, cy - r - 3, 0.75 * r  # diagonals clear the circle
    return [
        (cx, below, "middle"),
        (cx, above, "middle"),
        (cx + r + 3, cy + 4, "start"),
        (cx - r - 3, cy + 4, "end"),
        (cx - r, below, "start"),
        (cx + r, below, "end"),
        (cx - r, above, "start"),
        (cx + r, above, "end"),
        (cx + d, cy + d + LINE_H - 1, "start"),
        (cx - d, cy + d + LINE_H - 1, "end"),
        (cx + d, cy - d - 3, "start"),
        (cx - d, cy - d - 3, "end"),
    ]


def _label_place(
    m: dict[str, Any], circles: list[dict[str, Any]], labels: list[Box]
) -> dict[str, Any]:
    """The first spot beside `m` inside the picture and clear of every circle and of the
    labels placed (`labels`, to which it adds its own); else keyed."""

    def fits(b: Box) -> bool:
        return (
            b[0] >= 0
            and b[1] >= 0
            and b[2] <= MAP_W
            and b[3] <= MAP_H
            and box_gap_to_circle(b, m["cx"], m["cy"], m["r"]) >= 0
            and all(
                box_gap_to_circle(b, o["cx"], o["cy"], o["r"]) >= LABEL_GAP
                for o in circles
                if o is not m
            )
            and all(boxes_apart(b, placed, LABEL_GAP) for placed in labels)
        )

    for x, y, anchor in _label_spots(m["cx"], m["cy"], m["r"]):
        x, y = round(x, 1), round(y, 1)  # as drawn
        b = label_box(m["label"], x, y, anchor)
        if fits(b):
            labels.append(b)
            return {"lx": x, "ly": y, "anchor": anchor, "keyed": False}
    return {"lx": None, "ly": None, "anchor": "middle", "keyed": True}


HIDDEN_TITLE = "(hidden by an organizer)"  # in place of a title its reader may not see


def _titles(idea_ids: list[str] | tuple[str, ...], titles: dict[str, str]) -> str:
    """The ideas' titles for one spreadsheet cell, in the ids' order."""
    return " | ".join(titles.get(i, HIDDEN_TITLE) for i in idea_ids)


def topics_csv(topics: TopicsOut) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "cluster_id",
            "label",
            "ideas",
            "growth_last_hour",
            "emerging",
            "pinned",
            "terms",
            "representatives",
            "employee",
            "client",
            "family",
            "partner",
            "map_x",
            "map_y",
            # Added after the columns above, which readers of earlier files know by place.
            "representative_titles",
        ]
    )
    for item in topics.clusters:
        cl = item.cluster
        writer.writerow(
            [
                cl.id,
                safe_cell(cl.label),
                item.ideas_now,
                cl.growth_last_hour,
                int(cl.emerging),
                int(cl.pinned),
                safe_cell(" ".join(cl.terms)),
                " ".join(cl.representatives),
                *(cl.segments.get(s, 0) for s in ("employee", "client", "family", "partner")),
                f"{cl.x:.4f}",
                f"{cl.y:.4f}",
                safe_cell(_titles(cl.representatives, topics.titles)),
            ]
        )
    return out.getvalue()


async def change_topic(
    state: State,
    who: dict[str, Any],
    jam_id: UUID,
    cluster_id: str,
    data: TopicChange,
) -> c.Done:
    """An organizer's decision about a cluster, with the ideas it holds now.

    `who` is the acting part of the command (see `ui.schemas.acting`).
    """
    services: Services = state.services
    # Before anything about the clusters: what they hold is for organizers to learn.
    await require_role_of(services, who["actor"], jam_id, {Role.ORGANIZER}, "shape its topics")
    try:
        require_cluster_id(cluster_id)
    except InvalidValue:
        # The path names no cluster there could be: not found, as for one that is gone.
        raise NotFoundException(
            f"no topic cluster {quoted(cluster_id)} in this jam (ids look like t7, or t7.2)"
        ) from None
    try:
        if data.action == "merge":
            require_cluster_id(data.into)
    except InvalidValue as exc:
        raise ValidationException(str(exc)) from None

    def members(*clusters: str) -> list[tuple[UUID, ...]]:
        """Each cluster's ideas as they are now, read together."""
        with services.views.reading() as cur:
            return [
                tuple(UUID(i) for i in rv.cluster_members(cur, str(jam_id), cluster))
                for cluster in clusters
            ]

    command: c.Command
    if data.action == "rename":
        # A label for a topic no one sees would wait, unseen, for an id a later refresh
        # might give to something else.
        (ideas,) = await sync_to_thread(members, cluster_id)
        if not ideas:
            raise NotFoundException(f"cluster {cluster_id} holds no ideas in this jam now")
        command = c.RenameCluster(**who, jam_id=jam_id, cluster_id=cluster_id, label=data.label)
    elif data.action == "unpin":
        command = c.UnpinCluster(**who, jam_id=jam_id, cluster_id=cluster_id)
    else:
        clusters = (cluster_id, data.into) if data.action == "merge" else (cluster_id,)
        found = await sync_to_thread(members, *clusters)
        ideas = found[0]
        if not ideas:
            raise NotFoundException(f"cluster {cluster_id} holds no ideas in this jam now")
        if data.action == "pin":
            command = c.PinCluster(**who, jam_id=jam_id, cluster_id=cluster_id, ideas=ideas)
        elif data.action == "split":
            command = c.SplitCluster(**who, jam_id=jam_id, cluster_id=cluster_id, ideas=ideas)
        else:
            # Both clusters' ideas: recorded, the merged topic holds them together in later
            # refreshes; with the first one's alone, the target's own ideas, left free,
            # formed a topic of their own and the target id went to the first one's.
            into = found[1]
            if not into:
                raise NotFoundException(f"cluster {data.into} holds no ideas in this jam now")
            command = c.MergeClusters(
                **who, jam_id=jam_id, cluster_id=cluster_id, into=data.into, ideas=ideas + into
            )
    return await handle(state, command)


class TopicController(Controller):
    path = "/api/jams/{jam_id:uuid}"
    tags: ClassVar[list[str]] = ["topics"]

    @get(
        "/topics",
        summary="Live topic clusters, now or as of an hour (organizers, leaders)",
        responses={
            200: ResponseSpec(
                TopicsOut,
                description="The topics (a file with format=csv, or format=json written out)",
            )
        },
        opt={"csv": True},
    )
    async def topics(
        self,
        state: State,
        request: Request[Any, Any, Any],
        jam_id: FromPath[UUID],
        as_of: AsOf = None,
        format: FromQuery[Literal["json", "csv"]] = "json",
    ) -> Response[Any]:
        services: Services = state.services
        me = await require_role(services, request, jam_id, {Role.ORGANIZER, Role.LEADER})
        at = None if as_of is None else in_utc(as_of)
        hidden_too = me.acts_as(Role.ORGANIZER, jam_id)  # an organizer reads hidden ideas
        found = await sync_to_thread(read_topics, services, str(jam_id), at, hidden_too)
        if found is None:
            raise NotFoundException("no topic clusters for this jam yet")
        if format == "csv":
            return csv_download(topics_csv(found), file_name("topics", jam_id, found.as_of))
        if asked_for_json_file(request.query_params):
            name = file_name("topics", jam_id, found.as_of, suffix="json")
            return json_download(found, name)
        return Response(found)

    @post(
        "/topics/{cluster_id:str}",
        summary="Rename, pin, unpin, merge or split a cluster (organizers)",
        status_code=HTTP_200_OK,
    )
    async def change(
        self,
        state: State,
        request: Request[Any, Any, Any],
        jam_id: FromPath[UUID],
        cluster_id: FromPath[str],
        data: JSONBody[TopicChange],
    ) -> Response[Written]:
        done = await change_topic(state, acting(request), jam_id, cluster_id, data)
        return written(done, HTTP_200_OK)

    @get("/duplicates", summary="Suggested duplicate pairs not yet dealt with (organizers)")
    async def duplicates(
        self, state: State, request: Request[Any, Any, Any], jam_id: FromPath[UUID]
    ) -> list[DuplicateOut]:
        services: Services = state.services
        await require_role(services, request, jam_id, {Role.ORGANIZER})
        return await sync_to_thread(read_duplicates, services, str(jam_id))

    @get(
        "/similar",
        summary="Ideas already posted that are like this text (while typing)",
        description=f"At most {SIMILAR_PER_PARTICIPANT} searches of one person at once (429"
        " beyond, with Retry-After); 503 when the worker has too many waiting.",
        opt={"refuses": (429,)},
    )
    async def similar(
        self,
        state: State,
        request: Request[Any, Any, Any],
        jam_id: FromPath[UUID],
        text: Annotated[str, QueryParameter(max_length=SIMILAR_TEXT_MAX)],
        limit: Annotated[int, QueryParameter(ge=1, le=20)] = 5,
    ) -> list[SimilarIdea]:
        services: Services = state.services
        reader = await require_member(services, request, jam_id)  # the blocked still read
        async with similar_searches(state).turn(reader):
            return await sync_to_thread(services.similar.search, str(jam_id), text, limit)


class DuplicateLink(msgspec.Struct, frozen=True):
    original_id: UUID


class DuplicateController(Controller):
    path = "/api/ideas/{idea_id:uuid}/duplicate-of"
    tags: ClassVar[list[str]] = ["topics"]

    @put("/", summary="Mark an idea a duplicate of another; its votes count there (organizers)")
    async def mark(
        self,
        state: State,
        request: Request[Any, Any, Any],
        idea_id: FromPath[UUID],
        data: JSONBody[DuplicateLink],
    ) -> Response[Written]:
        command = c.MarkDuplicate(**acting(request), idea_id=idea_id, original_id=data.original_id)
        return written(await handle(state, command), HTTP_200_OK)

    @delete("/", summary="Undo a duplicate link (organizers)", status_code=HTTP_200_OK)
    async def unmark(
        self, state: State, request: Request[Any, Any, Any], idea_id: FromPath[UUID]
    ) -> Response[Written]:
        command = c.UnmarkDuplicate(**acting(request), idea_id=idea_id)
        return written(await handle(state, command), HTTP_200_OK)
