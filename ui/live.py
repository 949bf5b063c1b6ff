"""Live streams: read-model updates fanned out over litestar channels, served as SSE.

In the embedded default the channels live in process memory; with Redis
configured they go through Redis pub/sub, so an update projected by one process
reaches clients connected to any web worker. A client that reconnects with
Last-Event-ID gets what it missed from the read model's update feed, then
continues live.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, get
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from projections import queries
from projections.models import LiveUpdate
from projections.projector import Update
from ui.bootstrap import Services

log = logging.getLogger(__name__)
KEEP_ALIVE_S = 15.0
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(list[LiveUpdate])
CATCH_UP_BATCH = 100


def jam_channel(jam_id: str) -> str:
    return f"jam:{jam_id}"


def idea_channel(idea_id: str) -> str:
    return f"idea:{idea_id}"


def channels_plugin(redis_url: str | None) -> ChannelsPlugin:
    if redis_url:
        from redis.asyncio import Redis

        backend: Any = RedisChannelsPubSubBackend(redis=Redis.from_url(redis_url))
    else:
        backend = MemoryChannelsBackend()
    return ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True)


class Publisher:
    """Publishes updates from the projection thread onto the event loop's channels."""

    def __init__(self, plugin: ChannelsPlugin, loop: asyncio.AbstractEventLoop) -> None:
        self._plugin = plugin
        self._loop = loop

    def __call__(self, updates: list[Update]) -> None:
        # One message per channel per projected page: fewer, larger messages keep
        # fan-out cheap when thousands of writes a second reach the same jam.
        by_channel: dict[str, list[LiveUpdate]] = {}
        for u in updates:
            live = LiveUpdate(u.position, u.jam_id, u.kind, u.item_id, u.idea_id)
            by_channel.setdefault(jam_channel(u.jam_id), []).append(live)
            if u.idea_id:
                by_channel.setdefault(idea_channel(u.idea_id), []).append(live)
        batch = [(_encoder.encode(items), name) for name, items in by_channel.items()]
        # publish() is not thread-safe: hand the batch to the loop's own thread.
        self._loop.call_soon_threadsafe(self._publish, batch)

    def _publish(self, batch: list[tuple[bytes, str]]) -> None:
        try:
            for data, name in batch:
                self._plugin.publish(data, [name])
        except RuntimeError:
            # The channels start after the projection's start-up catch-up; nobody can
            # be subscribed before then, and late subscribers catch up from the read model.
            log.debug("channels not started yet; %d messages not broadcast", len(batch))


def _feed_bounds(services: Services) -> tuple[int, int]:
    with services.views.reading() as cur:
        floor = queries.feed_floor(cur, services.projector.feed_retention)
        return floor, queries.position(cur)


def _last_event_id(request: Request[Any, Any, Any], after: int | None) -> int:
    raw = request.headers.get("last-event-id")
    if raw is None:
        return after or 0
    try:
        return max(int(raw), 0)
    except ValueError:
        raise ValidationException("Last-Event-ID must be a log position (a whole number)") from None


def _message(updates: list[LiveUpdate]) -> ServerSentEventMessage:
    """One SSE event carries the updates in log order; its id is the last position."""
    return ServerSentEventMessage(
        data=_encoder.encode(updates).decode(), event="updates", id=updates[-1].position
    )


async def _stream(
    plugin: ChannelsPlugin,
    channel: str,
    missed: Callable[[int], list[LiveUpdate]],
    sent: int,
    services: Services,
) -> AsyncIterator[ServerSentEventMessage]:
    async with plugin.start_subscription([channel]) as subscriber:
        # Subscribed first, then caught up from the read model: nothing falls in between.
        if sent > 0:
            floor, now = await sync_to_thread(_feed_bounds, services)
            if sent < floor:
                # Further behind than the feed keeps: the client reloads what it shows.
                yield ServerSentEventMessage(data=f'{{"position":{now}}}', event="reset", id=now)
                sent = now
        while True:
            page = await sync_to_thread(missed, sent)
            for start in range(0, len(page), CATCH_UP_BATCH):
                yield _message(page[start : start + CATCH_UP_BATCH])
            if page:
                sent = page[-1].position
            if len(page) < queries.UPDATES_PAGE:
                break
        inbox: asyncio.Queue[bytes] = asyncio.Queue()

        async def pump() -> None:
            async for raw in subscriber.iter_events():
                inbox.put_nowait(raw)

        pumping = asyncio.create_task(pump())
        try:
            while True:
                try:
                    raws = [await asyncio.wait_for(inbox.get(), KEEP_ALIVE_S)]
                except TimeoutError:
                    yield ServerSentEventMessage(comment="keep-alive")
                    continue
                while not inbox.empty():  # coalesce whatever else is already waiting
                    raws.append(inbox.get_nowait())
                fresh = [u for raw in raws for u in _decoder.decode(raw) if u.position > sent]
                if fresh:
                    yield _message(fresh)
                    sent = fresh[-1].position
        finally:
            pumping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pumping


def _respond(
    channels: ChannelsPlugin,
    state: State,
    request: Request[Any, Any, Any],
    after: int | None,
    channel: str,
    **feed: str,
) -> ServerSentEvent:
    """An SSE response for one channel, catching up from the feed rows matching `feed`."""
    views = state.services.views

    def missed(position: int) -> list[LiveUpdate]:
        with views.reading() as cur:
            return queries.updates_after(cur, position, **feed)

    sent = _last_event_id(request, after)
    return ServerSentEvent(_stream(channels, channel, missed, sent, state.services))


@get(
    "/api/jams/{jam_id:uuid}/stream",
    summary="Live updates for a jam (Server-Sent Events; resumes from Last-Event-ID)",
)
async def jam_stream(
    jam_id: FromPath[UUID],
    state: State,
    channels: NamedDependency[ChannelsPlugin],
    request: Request[Any, Any, Any],
    after: Annotated[int | None, QueryParameter(ge=0)] = None,
) -> ServerSentEvent:
    return _respond(channels, state, request, after, jam_channel(str(jam_id)), jam_id=str(jam_id))


@get(
    "/api/ideas/{idea_id:uuid}/stream",
    summary="Live updates for one thread (Server-Sent Events; resumes from Last-Event-ID)",
)
async def idea_stream(
    idea_id: FromPath[UUID],
    state: State,
    channels: NamedDependency[ChannelsPlugin],
    request: Request[Any, Any, Any],
    after: Annotated[int | None, QueryParameter(ge=0)] = None,
) -> ServerSentEvent:
    channel = idea_channel(str(idea_id))
    return _respond(channels, state, request, after, channel, idea_id=str(idea_id))
