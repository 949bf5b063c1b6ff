"""Live streams: read-model updates fanned out over litestar channels, served as SSE.

In the embedded default the channels live in process memory; with Redis
configured they go through Redis pub/sub, so an update projected by one process
reaches clients connected to any web worker. A client that reconnects with
Last-Event-ID gets what it missed from the read model's update feed, then
continues live.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import secrets
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from types import TracebackType
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, get
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.channels.subscriber import AsyncDeque, Subscriber
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, TooManyRequestsException
from litestar.params import FromPath, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from redis.exceptions import RedisError

from projections import queries
from projections.db import ViewDatabase
from projections.models import LiveUpdate
from projections.pipeline import feed_between
from projections.pipeline import tracked as tracked_position
from projections.projector import Update
from projections.ranking_views import ranking_position
from projections.ranking_worker import TOPICS, topics_notice
from ui.auth import read_session, signed_in, token_of
from ui.bootstrap import Services
from ui.errors import refused_input
from ui.metrics import SSE_CLIENTS
from ui.reads import (
    MAX_POSITION,
    caught_up,
    jam_of_idea,
    log_end_before,
    require_member,
    sees_hidden,
)

log = logging.getLogger(__name__)
KEEP_ALIVE_S = 15.0
# A comment only: the message's default empty data field would reach clients as an event.
KEEP_ALIVE = ServerSentEventMessage(comment="keep-alive", data=None)
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(list[LiveUpdate])
CATCH_UP_BATCH = 100
# Live updates a stream remembers sending, to send one that arrives late (after a later
# one, from another worker) once. What it caught up on from the feed is not remembered.
RECENT_KEPT = 2_000
STREAM_RETRY_AFTER_S = 30  # a refused stream's Retry-After: about how long a tab stays open


_TICK = b""  # put in a stream's inbox by its keep-alive timer; never published
_PROBE = b'"probe:'  # a stream's own message, to learn that its subscription is live
PROBE_WAIT_S = 2.0  # the longest a new stream waits for its subscription to be live
PROBE_AGAIN_S = 0.05


@functools.lru_cache(maxsize=64)
def _decoded(raw: bytes) -> list[LiveUpdate]:
    """A published message's updates, decoded once for all the streams it reaches.

    Every stream subscribed to a channel is handed the same bytes object, and bytes
    keep their hash, so a repeat is found at the cost of an identity check. Streams
    only read the list.
    """
    return _decoder.decode(raw)


def jam_channel(jam_id: str) -> str:
    return f"jam:{jam_id}"


def idea_channel(idea_id: str) -> str:
    return f"idea:{idea_id}"


def jam_wide_channel(jam_id: str) -> str:
    """What every page of a jam shows, threads included: its schedule, alert, blocks."""
    return f"jam-wide:{jam_id}"


# Sent to every subscribed channel when the subscription to Redis was broken and is
# whole again: messages published meanwhile are lost, so streams catch up from the feed.
RESYNC = b'"resync"'
REDIS_RETRY_S = 0.5
# How long publishing waits for Redis to come back, holding this worker's updates in
# order, before it drops them (so memory stays bounded in a long outage).
REDIS_HOLD_S = 120.0


class OutageHold:
    """Whether a publish that failed is held and tried again, for both publishers (the web
    workers' channels backend and the workers' publisher thread): while Redis has been
    down for at most `hold_s`, and never once the worker stops (`release`).

    Dropping a failed publish at once lost updates: a subscription that came back before
    the next publish had already caught up from the feed, so the dropped update reached
    no stream, and later updates moved the streams past it.
    """

    def __init__(self, hold_s: float = REDIS_HOLD_S) -> None:
        self.hold_s = hold_s
        self.down_since: float | None = None
        self.holding = True

    def release(self) -> None:
        """From now on drop what cannot be published: the worker is stopping."""
        self.holding = False

    def failed(self, now: float, exc: Exception) -> bool:
        """A publish failed at `now`: True if it should be held and tried again."""
        if self.down_since is None:
            self.down_since = now
            log.warning("live updates held, Redis is unreachable: %s", exc)
        return not self.given_up(now)

    def given_up(self, now: float) -> bool:
        """Redis is down and publishes are no longer held."""
        return self.down_since is not None and (
            not self.holding or now - self.down_since > self.hold_s
        )

    def succeeded(self) -> None:
        if self.down_since is not None:
            self.down_since = None
            log.warning("live updates published again: Redis is reachable")


class ReconnectingRedisBackend(RedisChannelsPubSubBackend):
    """Redis pub/sub that outlives a Redis outage.

    Litestar's backend lets a Redis error end its publishing and subscribing tasks
    for good, so live updates would stop until the worker restarts. Here a publish
    that fails is tried again until Redis is back (as `OutageHold` says; later ones
    wait behind it, in order), and a broken subscription reconnects, resubscribes,
    and tells each channel to resync from the read model's feed.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hold = OutageHold()

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        channels = list(channels)
        loop = asyncio.get_running_loop()
        while True:
            try:
                await super().publish(data, channels)
            except RedisError as exc:
                if not self.hold.failed(loop.time(), exc):
                    return  # dropped: its update stays in the feed for reconnecting clients
                await asyncio.sleep(REDIS_RETRY_S)
                continue
            self.hold.succeeded()
            return

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        while True:
            try:
                async for event in super().stream_events():
                    yield event
            except RedisError as exc:
                log.warning("live updates interrupted, Redis is unreachable: %s", exc)
                await self._reconnect()
                for channel in list(self._pub_sub.channels):
                    yield channel.decode(), RESYNC

    async def _reconnect(self) -> None:
        while True:
            await asyncio.sleep(REDIS_RETRY_S)
            try:
                await self._pub_sub.connect()  # resubscribes to every channel
            except RedisError:
                continue
            log.warning("live updates resumed: Redis is reachable again")
            return


class LiveChannels(ChannelsPlugin):
    """Litestar's channels plugin, whose backend is told first when the worker stops.

    The plugin's shutdown waits until every message queued for publishing is sent, and
    a backend holding messages while Redis is down would keep it waiting for up to
    REDIS_HOLD_S; the app's own shutdown code runs only after the plugin's.
    """

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        if isinstance(self._backend, ReconnectingRedisBackend):
            self._backend.hold.release()  # the plugin waits for every held update
        await super().__aexit__(exc_type, exc_val, exc_tb)


def channels_plugin(redis_url: str | None) -> ChannelsPlugin:
    if redis_url:
        from redis.asyncio import Redis

        backend: Any = ReconnectingRedisBackend(redis=Redis.from_url(redis_url))
    else:
        backend = MemoryChannelsBackend()
    return LiveChannels(backend=backend, arbitrary_channels_allowed=True)


REPUBLISH_WINDOW = 1_000  # log positions sent again when nothing says what was published
REPUBLISH_PAGE = 500  # updates per batch sent again


def publish_feed(
    views: ViewDatabase, publish: Callable[[list[Update]], None], after: int | None
) -> int:
    """Publish the read models' feed past `after` (None: the last REPUBLISH_WINDOW
    positions); the number of updates sent.

    A process killed between committing a projected page and publishing it leaves
    updates no stream hears of: the process that goes on resumes after the page, and
    the later updates it publishes move every stream past it. Streams send each update
    once, so a process starting sends the feed's recent updates again.
    """
    with views.reading() as cur:
        upto = tracked_position(cur)
        updates = feed_between(
            cur, max(0, upto - REPUBLISH_WINDOW) if after is None else after, upto
        )
    for start in range(0, len(updates), REPUBLISH_PAGE):
        publish(updates[start : start + REPUBLISH_PAGE])
    return len(updates)


def encode_updates(updates: list[Update]) -> list[tuple[bytes, str]]:
    """A page's updates as (message, channel) pairs, ready to publish."""
    # One message per channel per projected page: fewer, larger messages keep
    # fan-out cheap when thousands of writes a second reach the same jam.
    by_channel: dict[str, list[LiveUpdate]] = {}
    jam_wide: dict[str, list[LiveUpdate]] = {}
    for u in updates:
        live = LiveUpdate(u.position, u.jam_id, u.kind, u.item_id, u.idea_id)
        by_channel.setdefault(jam_channel(u.jam_id), []).append(live)
        if u.idea_id:
            by_channel.setdefault(idea_channel(u.idea_id), []).append(live)
        elif u.kind in queries.JAM_WIDE:
            by_channel.setdefault(jam_wide_channel(u.jam_id), []).append(live)
            jam_wide.setdefault(u.jam_id, []).append(live)
    # A thread of this page hears its jam-wide updates in the same message as its own, in
    # log order: sent apart, a stream that named the later of them as its position and
    # then dropped would resume past the other. (The jam-wide channel still carries them to
    # the threads this page did not touch; a stream sends each update once.)
    for name, items in by_channel.items():
        if name.startswith("idea:") and (wide := jam_wide.get(items[0].jam_id)):
            items[:] = sorted([*items, *wide], key=lambda u: (u.position, u.item_id))
    return [(_encoder.encode(items), name) for name, items in by_channel.items()]


class Publisher:
    """Publishes updates from the projection thread onto the event loop's channels.

    The channels start after the app's own start-up, in which the projection already
    follows the log. With Redis, clients of other web workers may be waiting for what
    this worker projects meanwhile (they caught up from the read models before it was
    there), so messages made before the channels start are kept and published, in
    order, as soon as they have started; after START_WAIT_S they are given up.
    """

    START_WAIT_S = 30.0
    RETRY_S = 0.05

    def __init__(self, plugin: ChannelsPlugin, loop: asyncio.AbstractEventLoop) -> None:
        self._plugin = plugin
        self._loop = loop
        self._waiting: collections.deque[tuple[bytes, str]] = collections.deque()
        self._since: float | None = None  # when the oldest waiting message was kept

    def __call__(self, updates: list[Update]) -> None:
        batch = encode_updates(updates)
        # publish() is not thread-safe: hand the batch to the loop's own thread.
        self._loop.call_soon_threadsafe(self._publish, batch)

    def _publish(self, batch: list[tuple[bytes, str]]) -> None:
        waited = bool(self._waiting)
        self._waiting.extend(batch)
        if not waited:  # otherwise a retry is already scheduled and keeps the order
            self._send()

    def _send(self) -> None:
        while self._waiting:
            data, name = self._waiting[0]
            try:
                self._plugin.publish(data, [name])
            except RuntimeError:  # the channels have not started (or have stopped)
                now = self._loop.time()
                self._since = self._since or now
                if now - self._since > self.START_WAIT_S:
                    log.debug("channels not running; %d messages dropped", len(self._waiting))
                    self._waiting.clear()
                    break
                self._loop.call_later(self.RETRY_S, self._send)
                return
            self._waiting.popleft()
        self._since = None


def _feed_bounds(services: Services) -> tuple[int, int]:
    with services.views.reading() as cur:
        floor = queries.feed_floor(cur, services.projector.feed_retention)
        return floor, queries.position(cur)


def _last_event_id(request: Request[Any, Any, Any], after: int | None) -> int | None:
    """Where the client's stream resumes: its Last-Event-ID, else `?after`; None when it
    gave neither (a new client: from now on, not the whole retained feed)."""
    raw = request.headers.get("last-event-id")
    if raw is None:
        return after
    try:
        last = int(raw)
    except ValueError:
        last = None
    if last is None or not 0 <= last <= MAX_POSITION:
        raise refused_input(
            "Last-Event-ID must be a log position (a whole number)", "Last-Event-ID", "header"
        )
    return last


class StreamSlots:
    """The live streams each participant holds open in this web worker, at most `limit`.

    A stream holds a worker's memory and a connection for as long as it is open, and one
    that starts far back reads the feed first: without a cap, one session opening
    thousands of them exhausted a worker.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[UUID, int] = {}

    def take(self, participant: UUID) -> Callable[[], None]:
        """One slot for `participant` (429 when all theirs are taken): the call that gives
        it back, which may be called any number of times."""
        held = self._open.get(participant, 0)
        if held >= self.limit:
            raise TooManyRequestsException(
                f"too many live streams open: at most {self.limit} at once per person; close"
                " another tab of this jam or retry later",
                headers={"Retry-After": str(STREAM_RETRY_AFTER_S)},
            )
        self._open[participant] = held + 1
        given_back = False

        def give_back() -> None:
            nonlocal given_back
            if given_back:
                return
            given_back = True
            left = self._open.get(participant, 0) - 1
            if left > 0:
                self._open[participant] = left
            else:
                self._open.pop(participant, None)

        return give_back

    def held(self, participant: UUID) -> int:
        return self._open.get(participant, 0)


STREAMS_CAPPED = (
    "A person may hold a few live streams open at once in each web worker"
    " (OPENJAM_STREAMS_PER_PARTICIPANT, jam and thread streams together); one more is"
    " refused with 429 and Retry-After until another ends."
)


def stream_slots(state: State, services: Services) -> StreamSlots:
    """This worker's (this app's) stream slots."""
    slots: StreamSlots | None = state.get("live_stream_slots")
    if slots is None:
        slots = state["live_stream_slots"] = StreamSlots(services.settings.streams_per_participant)
    return slots


class _Sent:
    """The updates a stream has sent lately.

    Each web worker's projection publishes the pages it applied, so an update can
    arrive after a later one from another worker; it is sent all the same, once. At or
    below its floor a stream goes by the client's position instead: it moves up to where
    a catch-up from the feed ended (the feed holds, in log order, everything up to there,
    so none of it can arrive late) and past what the stream forgets.
    """

    def __init__(self, keep: int = RECENT_KEPT) -> None:
        self._order: collections.deque[tuple[int, str, str]] = collections.deque()
        self._keys: set[tuple[int, str, str]] = set()
        self._keep = keep
        self._floor: int | None = None  # None: below the oldest update remembered

    def caught_up(self, position: int) -> None:
        """Everything up to `position` was sent from the feed."""
        self._floor = position if self._floor is None else max(self._floor, position)

    def __len__(self) -> int:
        return len(self._keys)

    def unsent(self, updates: list[LiveUpdate], last: int) -> list[LiveUpdate]:
        # Below what it remembers sending, a stream cannot tell what a client has seen:
        # it goes by the client's position, which the client has (Last-Event-ID).
        if self._floor is not None:
            floor = self._floor
        else:
            floor = self._order[0][0] - 1 if self._order else last
        fresh = sorted(
            (
                u
                for u in updates
                if u.position > last
                or (u.position > floor and (u.position, u.kind, u.item_id) not in self._keys)
                # A topic refresh is a notice, not a log entry: sent once, however old.
                or (u.kind == TOPICS and (u.position, u.kind, u.item_id) not in self._keys)
            ),
            key=lambda u: u.position,
        )
        self.remember(fresh)
        return fresh

    def remember(self, updates: list[LiveUpdate]) -> None:
        for u in updates:
            key = (u.position, u.kind, u.item_id)
            if key not in self._keys:
                self._keys.add(key)
                self._order.append(key)
        while len(self._order) > self._keep:
            forgotten = self._order.popleft()
            self._keys.discard(forgotten)
            if self._floor is not None:
                self._floor = max(self._floor, forgotten[0])


def resume_point(last: int, sent: list[LiveUpdate]) -> int:
    """Where a client resumes (its Last-Event-ID) once `sent` reached it.

    Topic refreshes carry the read models' position when they were computed, which may
    be ahead of updates this stream has not received yet: they must not move it on.
    """
    return max([last, *(u.position for u in sent if u.kind != TOPICS)])


def _message(updates: list[LiveUpdate], resume: int) -> ServerSentEventMessage:
    """One SSE event carries the updates in log order; its id is where the client resumes."""
    return ServerSentEventMessage(
        data=_encoder.encode(updates).decode(), event="updates", id=resume
    )


def _inbox(subscriber: Subscriber) -> tuple[asyncio.Queue[bytes | None], asyncio.Task | None]:
    """The queue a subscriber's messages wait in, to be read as they come and in bursts.

    Litestar hands each message to the subscriber's own asyncio queue; reading that
    queue directly spares a second queue and a task's wake-up per message per stream.
    Should a later litestar keep its messages otherwise, a task moves them over.
    """
    own = getattr(subscriber, "_queue", None)
    if isinstance(own, asyncio.Queue) and not isinstance(own, AsyncDeque):
        return own, None
    inbox: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def pump() -> None:
        async for raw in subscriber.iter_events():
            inbox.put_nowait(raw)

    return inbox, asyncio.create_task(pump())


async def _stream(
    plugin: ChannelsPlugin,
    channels: list[str],
    missed: Callable[[int], list[LiveUpdate]],
    after: int,
    services: Services,
    *,
    stale: bool = False,
    alive: Callable[[], bool] = lambda: True,
    done: Callable[[], None] = lambda: None,
) -> AsyncIterator[ServerSentEventMessage]:
    """The stream's messages; `done` is called once it ends, however it ends (the client
    gone, the task cancelled, the worker stopping)."""
    try:
        with SSE_CLIENTS.track_inprogress():
            if stale:  # what the client shows is not of this log: it reloads it
                yield ServerSentEventMessage(
                    data=f'{{"position":{after}}}', event="reset", id=after
                )
            async for message in _follow(plugin, channels, missed, after, services):
                if not alive():  # signed out (or expired) since: a copied token hears no more
                    return
                yield message
    finally:
        done()


async def _follow(
    plugin: ChannelsPlugin,
    channels: list[str],
    missed: Callable[[int], list[LiveUpdate]],
    after: int,
    services: Services,
) -> AsyncIterator[ServerSentEventMessage]:
    last = [after]
    sent = _Sent()

    async def catch_up(again: bool = False) -> AsyncIterator[ServerSentEventMessage]:
        if last[0] > 0:
            floor, now = await sync_to_thread(_feed_bounds, services)
            if last[0] < floor:
                # Further behind than the feed keeps: the client reloads what it shows.
                yield ServerSentEventMessage(data=f'{{"position":{now}}}', event="reset", id=now)
                last[0] = now
        # A page of the feed at a time (UPDATES_PAGE), not the whole of it: a client far
        # behind holds no more of it than that.
        while True:
            page = await sync_to_thread(missed, last[0])
            for start in range(0, len(page), CATCH_UP_BATCH):
                batch = page[start : start + CATCH_UP_BATCH]
                yield _message(batch, resume_point(last[0], batch))
            if again:  # live updates sent before may still come late: told apart by key
                sent.remember(page)
            else:  # a refresh announced from here may come live too: sent once
                sent.remember([u for u in page if u.kind == TOPICS])
            if page:
                last[0] = max(last[0], page[-1].position)
            if len(page) < queries.UPDATES_PAGE:
                break
        if not again:
            # Not remembered key by key: a client that asked from far back made the stream
            # hold thousands of them. The feed holds everything up to here, in log order:
            # none of it can arrive late.
            sent.caught_up(last[0])

    async with plugin.start_subscription(channels) as subscriber:
        # Subscribed first, then caught up from the read model: nothing falls in between.
        inbox, pumping = _inbox(subscriber)
        early = await _live(plugin, channels, inbox)
        async for message in catch_up():
            yield message
        for raw in early:  # what came through the subscription before its probe
            inbox.put_nowait(raw)
        loop = asyncio.get_running_loop()
        quiet = [True]  # nothing sent since the last keep-alive tick

        # A timer per stream, not a timeout per message: waiting with a timeout would
        # make a task and a timer for every update fanned out to every stream.
        def tick() -> None:
            if quiet[0]:
                inbox.put_nowait(_TICK)
            quiet[0] = True
            timer[0] = loop.call_later(KEEP_ALIVE_S, tick)

        timer = [loop.call_later(KEEP_ALIVE_S, tick)]
        try:
            while True:
                raws = [await inbox.get()]
                while not inbox.empty():  # coalesce whatever else is already waiting
                    raws.append(inbox.get_nowait())
                if None in raws:  # the subscription was ended
                    return
                if RESYNC in raws:  # the subscription was broken: updates may have been lost
                    async for message in catch_up(again=True):
                        yield message
                    raws = [raw for raw in raws if raw != RESYNC]
                updates = [
                    u for raw in raws if raw and not raw.startswith(_PROBE) for u in _decoded(raw)
                ]
                fresh = sent.unsent(updates, last[0])
                if fresh:
                    quiet[0] = False
                    last[0] = resume_point(last[0], fresh)
                    yield _message(fresh, last[0])
                elif _TICK in raws:
                    yield KEEP_ALIVE
        finally:
            timer[0].cancel()
            if pumping is not None:
                pumping.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pumping


async def _live(
    plugin: ChannelsPlugin, channels: list[str], inbox: asyncio.Queue[bytes | None]
) -> list[bytes | None]:
    """Wait until the subscription to each of `channels` is live; the messages that came
    first.

    Redis answers a SUBSCRIBE only through the subscription itself, so litestar's
    `subscribe` returns before Redis has it: an update published in between reached
    neither the subscription nor a catch-up that had read the feed just before. A probe
    published now comes back only once the subscription is live. In process, subscribing
    takes effect at once.
    """
    if not isinstance(plugin._backend, ReconnectingRedisBackend):
        return []
    token = secrets.token_hex(8)
    # A probe of its own per channel: one that is live answers even while another is not.
    waiting = {_PROBE + f'{token}-{n}"'.encode(): name for n, name in enumerate(channels)}
    loop = asyncio.get_running_loop()
    deadline, early = loop.time() + PROBE_WAIT_S, []
    while (left := deadline - loop.time()) > 0:
        for probe, name in waiting.items():  # again: one sent before Redis had it is lost
            plugin.publish(probe, name)
        try:
            raw = await asyncio.wait_for(inbox.get(), min(left, PROBE_AGAIN_S))
        except TimeoutError:
            continue
        while True:
            if raw in waiting:
                del waiting[raw]
            elif not (raw and raw.startswith(_PROBE)):  # a probe sent again: already heard
                early.append(raw)
            if not waiting or inbox.empty():
                break
            raw = inbox.get_nowait()
        if not waiting:
            return early
    return early  # Redis is slow or down: go on; a broken subscription resyncs anyway


async def _respond(
    channels: ChannelsPlugin,
    state: State,
    request: Request[Any, Any, Any],
    after: int | None,
    shown_topics: int | None = None,
    **feed: str,
) -> ServerSentEvent:
    """An SSE response for a jam (its channel) or a thread (its idea's channel and its
    jam's jam-wide one), catching up from the feed rows matching `feed`; 404 for a jam or
    idea the read models do not hold (once they include `after`).

    `shown_topics`: the topics' refresh (its log position, 0 for none) the client shows.
    A refresh is announced live only, not kept in the feed: one that landed between the
    page's rendering and this stream is announced as the stream starts."""
    services: Services = state.services
    views = services.views
    resumed = "last-event-id" in request.headers
    sent = _last_event_id(request, after)
    signed_in(request)  # 401 before anything is read or waited for
    # A browser reconnects to the page's own URL, whose `after` its Last-Event-ID supersedes.
    await caught_up(services, None if resumed else after)
    if "jam_id" in feed:

        def known() -> bool:
            with views.reading() as cur:
                return queries.jam_info(cur, feed["jam_id"]) is not None

        jam_id = feed["jam_id"] if await sync_to_thread(known) else None
    else:
        jam_id = await jam_of_idea(services, feed["idea_id"])
    if jam_id is None:
        what = "jam" if "jam_id" in feed else "idea"
        raise NotFoundException(f"no {what} with id {next(iter(feed.values()))}")
    reader = await require_member(services, request, jam_id)  # a jam's updates: its members'
    if "jam_id" in feed:
        follow = [jam_channel(jam_id)]
    else:  # a thread shows its jam's schedule and alert too, and whether its reader may write
        if not await sees_hidden(services, request, jam_id):
            idea_id, reader_id = feed["idea_id"], str(reader)

            def hidden_from_reader() -> bool:
                with views.reading() as cur:
                    return queries.hidden_from(cur, idea_id, reader_id)

            # As its thread: a hidden idea's stream is for its author and the organizers.
            if await sync_to_thread(hidden_from_reader):
                raise NotFoundException(f"no idea with id {idea_id}")
        follow = [idea_channel(feed["idea_id"]), jam_wide_channel(jam_id)]
        feed = {**feed, "jam_wide": jam_id}

    first = [shown_topics is not None]

    def missed(position: int) -> list[LiveUpdate]:
        with views.reading() as cur:
            found = queries.updates_after(cur, position, **feed)
            if first[0]:  # read after subscribing: a later refresh comes live
                first[0] = False
                refreshed = ranking_position(cur, feed["jam_id"])
                if refreshed > (shown_topics or 0):
                    found.append(LiveUpdate(*topics_notice(refreshed, feed["jam_id"])))
            return found

    stale = False
    if sent is None:  # from the log's end now: what was written before is not news
        sent = await sync_to_thread(services.jam.position)
    elif (end := await log_end_before(services, sent)) is not None:
        # The client followed another log (a store restored from an older copy): waiting
        # for its position would drop every update. It starts again from this log's end,
        # told to reload what it shows.
        sent, stale = end, True

    key, token = state.secret, token_of(request)

    def alive() -> bool:  # checked before each message and keep-alive: a dict and a set
        return token is not None and read_session(key, token) is not None

    # Taken after the last await, so no refusal or failure can come between it and the
    # stream that gives it back.
    give_back = stream_slots(state, services).take(reader)  # 429 past the reader's cap
    stream = _stream(
        channels, follow, missed, sent, services, stale=stale, alive=alive, done=give_back
    )
    # A stream that never starts (its client gone at once) never runs its `finally`: its
    # slot comes back when it is dropped.
    weakref.finalize(stream, give_back)
    return ServerSentEvent(stream)


@get(
    "/api/jams/{jam_id:uuid}/stream",
    summary="Live updates for a jam (Server-Sent Events; resumes from Last-Event-ID)",
    description=STREAMS_CAPPED,
    # 422: a Last-Event-ID that is no log position; 429: too many streams open
    opt={"refuses": (422, 429), "events": True},
)
async def jam_stream(
    jam_id: FromPath[UUID],
    state: State,
    channels: NamedDependency[ChannelsPlugin],
    request: Request[Any, Any, Any],
    after: Annotated[int | None, QueryParameter(ge=0, le=MAX_POSITION)] = None,
    topics: Annotated[
        int | None,
        QueryParameter(
            ge=0,
            le=MAX_POSITION,
            description="The topics' refresh the client shows (its log position, 0 for"
            " none): a later one is announced as the stream starts",
        ),
    ] = None,
) -> ServerSentEvent:
    return await _respond(channels, state, request, after, topics, jam_id=str(jam_id))


@get(
    "/api/ideas/{idea_id:uuid}/stream",
    summary="Live updates for one thread (Server-Sent Events; resumes from Last-Event-ID)",
    description=STREAMS_CAPPED,
    opt={"refuses": (422, 429), "events": True},
)
async def idea_stream(
    idea_id: FromPath[UUID],
    state: State,
    channels: NamedDependency[ChannelsPlugin],
    request: Request[Any, Any, Any],
    after: Annotated[int | None, QueryParameter(ge=0, le=MAX_POSITION)] = None,
) -> ServerSentEvent:
    return await _respond(channels, state, request, after, idea_id=str(idea_id))
