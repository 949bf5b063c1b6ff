"""A live stream's loop in process: keep-alives when idle, one decoding per message."""

from __future__ import annotations

import asyncio
import contextlib
from uuid import uuid4

import msgspec
import pytest
import redis.asyncio
from litestar.exceptions import TooManyRequestsException

from projections import queries
from projections.models import LiveUpdate
from projections.projector import Update
from tests.services import require_redis
from ui import live


def _published(*positions: int) -> bytes:
    return msgspec.json.encode([LiveUpdate(p, "jam", "idea", f"i{p}", f"i{p}") for p in positions])


def _late_subscribe(tasks: list[asyncio.Task]):
    """Redis's subscribe, as if Redis learned of each SUBSCRIBE 0.3 s late (its tasks kept)."""
    subscribe = live.ReconnectingRedisBackend.subscribe

    async def late(self, channels):
        channels = list(channels)

        async def later():
            await asyncio.sleep(0.3)
            await subscribe(self, channels)

        tasks.append(asyncio.get_running_loop().create_task(later()))

    return late


async def _next(stream):
    return await asyncio.wait_for(stream.__anext__(), 5)


def test_an_idle_stream_sends_keep_alives_and_then_the_updates_that_come(monkeypatch):
    monkeypatch.setattr(live, "KEEP_ALIVE_S", 0.05)

    async def main():
        plugin = live.channels_plugin(None)
        async with plugin:
            stream = live._follow(plugin, ["jam:jam"], lambda after: [], 0, None)
            assert await _next(stream) is live.KEEP_ALIVE
            assert await _next(stream) is live.KEEP_ALIVE
            plugin.publish(_published(7, 8), ["jam:jam"])
            message = await _next(stream)
            await stream.aclose()
        return message

    message = asyncio.run(main())
    assert (message.event, message.id) == ("updates", 8)
    assert [u["position"] for u in msgspec.json.decode(message.data)] == [7, 8]


def test_a_stream_ends_once_its_session_is_signed_out(monkeypatch):
    # A copy of a signed-out token must not go on hearing the jam: the stream checks its
    # session before each message, keep-alives included.
    monkeypatch.setattr(live, "KEEP_ALIVE_S", 0.05)
    signed_in = [True]

    async def main():
        plugin = live.channels_plugin(None)
        async with plugin:
            stream = live._stream(
                plugin, ["jam:jam"], lambda after: [], 0, None, alive=lambda: signed_in[0]
            )
            assert await _next(stream) is live.KEEP_ALIVE
            signed_in[0] = False
            plugin.publish(_published(9), ["jam:jam"])
            try:
                await _next(stream)
            except StopAsyncIteration:
                return True
        return False

    assert asyncio.run(main())


def test_a_message_reaching_many_streams_is_decoded_once():
    live._decoded.cache_clear()

    async def main():
        plugin = live.channels_plugin(None)
        async with plugin:
            streams = [
                live._follow(plugin, ["jam:jam"], lambda after: [], 0, None) for _ in range(3)
            ]
            # Each stream subscribes when first asked for a message.
            waiting = [asyncio.ensure_future(_next(s)) for s in streams]
            await asyncio.sleep(0.05)
            plugin.publish(_published(3), ["jam:jam"])
            messages = await asyncio.gather(*waiting)
            for s in streams:
                await s.aclose()
        return messages

    messages = asyncio.run(main())
    assert [m.id for m in messages] == [3, 3, 3]
    assert live._decoded.cache_info().misses == 1


def test_a_subscriber_that_keeps_its_messages_otherwise_is_read_through_a_pump():
    class Elsewhere:
        async def iter_events(self):
            yield b"first"
            yield b"second"

    async def main():
        inbox, pumping = live._inbox(Elsewhere())
        got = [await inbox.get(), await inbox.get()]
        await pumping
        return got

    assert asyncio.run(main()) == [b"first", b"second"]


def test_a_stream_reads_the_subscribers_own_queue_and_ends_with_the_subscription():
    async def main():
        plugin = live.channels_plugin(None)
        async with plugin:
            stream = live._follow(plugin, ["jam:jam"], lambda after: [], 0, None)
            waiting = asyncio.ensure_future(_next(stream))
            await asyncio.sleep(0.05)
            (subscriber,) = plugin._channels["jam:jam"]
            assert live._inbox(subscriber)[1] is None  # no pump task in between
            await subscriber.put(None)  # what unsubscribing sends
            try:
                await waiting
            except StopAsyncIteration:
                return True
        return False

    assert asyncio.run(main())


def test_updates_projected_before_the_channels_start_are_published_once_they_have(monkeypatch):
    """With Redis, another worker's clients may be waiting for them already."""

    monkeypatch.setattr(live.Publisher, "RETRY_S", 0.2)

    async def main():
        plugin = live.channels_plugin(None)
        publisher = live.Publisher(plugin, asyncio.get_running_loop())
        publisher._publish(live.encode_updates([Update(4, "jam", "idea", "i4", "i4")]))
        publisher._publish(live.encode_updates([Update(5, "jam", "vote", "v5", "i4")]))
        async with plugin, plugin.start_subscription(["jam:jam"]) as subscriber:
            events = subscriber.iter_events()
            got = [await asyncio.wait_for(events.__anext__(), 5) for _ in range(2)]
        return [u["position"] for raw in got for u in msgspec.json.decode(raw)]

    assert asyncio.run(main()) == [4, 5]


def test_updates_are_given_up_when_the_channels_never_start(monkeypatch):

    monkeypatch.setattr(live.Publisher, "START_WAIT_S", 0.0)
    monkeypatch.setattr(live.Publisher, "RETRY_S", 0.01)

    async def main():
        publisher = live.Publisher(live.channels_plugin(None), asyncio.get_running_loop())
        publisher._publish(live.encode_updates([Update(4, "jam", "idea", "i4", "i4")]))
        await asyncio.sleep(0.1)
        return list(publisher._waiting)

    assert asyncio.run(main()) == []


def test_a_stream_catches_up_only_once_its_redis_subscription_is_live(monkeypatch):
    # Redis confirms a SUBSCRIBE only through the subscription, so litestar's subscribe
    # returns before Redis has it. Here Redis learns of it 0.3 s late; an update committed
    # and published meanwhile reached neither the subscription nor the catch-up, which
    # had read the feed before the commit.
    redis_url = require_redis()
    monkeypatch.setattr(live.ReconnectingRedisBackend, "subscribe", _late_subscribe([]))
    # A thread follows two channels (its idea's and its jam's jam-wide one): the second
    # must be live too before the catch-up, not only the first.
    channels = [f"idea:{uuid4().hex}", f"jam-wide:{uuid4().hex}"]
    feed: list[LiveUpdate] = []

    async def main():
        plugin = live.channels_plugin(redis_url)
        async with plugin:
            stream = live._follow(plugin, channels, lambda after: list(feed), 0, None)
            first = asyncio.ensure_future(_next(stream))
            await asyncio.sleep(0.1)  # subscribed, as litestar sees it; not yet in Redis
            feed.append(LiveUpdate(5, "jam", "alert", "jam", None))  # committed...
            other = redis.asyncio.Redis.from_url(redis_url)
            await other.publish(channels[1], _published(5))  # ...and published
            await other.aclose()
            message = await first
            await stream.aclose()
        return message

    message = asyncio.run(main())
    assert [u["position"] for u in msgspec.json.decode(message.data)] == [5]


def test_a_stream_waits_for_every_channel_it_follows_not_only_one_already_live(monkeypatch):
    # Another stream of this worker already holds the idea's channel, so litestar asks Redis
    # only for the jam-wide one, which Redis learns of 0.3 s late. A probe of the idea's
    # channel alone would come back at once, and an update on the other channel, committed
    # after the catch-up read the feed, would be lost.
    redis_url = require_redis()
    late = _late_subscribe([])
    idea, jam_wide = f"idea:{uuid4().hex}", f"jam-wide:{uuid4().hex}"
    feed: list[LiveUpdate] = []

    async def main():
        plugin = live.channels_plugin(redis_url)
        async with plugin:
            holder = live._follow(plugin, [idea], lambda after: [], 0, None)
            held = asyncio.ensure_future(_next(holder))
            await asyncio.sleep(0.6)  # the idea's channel is live in Redis
            monkeypatch.setattr(live.ReconnectingRedisBackend, "subscribe", late)
            stream = live._follow(plugin, [idea, jam_wide], lambda after: list(feed), 0, None)
            first = asyncio.ensure_future(_next(stream))
            await asyncio.sleep(0.1)  # the stream has read the feed if it did not wait
            feed.append(LiveUpdate(5, "jam", "alert", "jam", None))
            other = redis.asyncio.Redis.from_url(redis_url)
            await other.publish(jam_wide, _published(5))
            await other.aclose()
            message = await first
            held.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await held
            await stream.aclose()
            await holder.aclose()
        return message

    message = asyncio.run(main())
    assert [u["position"] for u in msgspec.json.decode(message.data)] == [5]


def test_a_pages_jam_wide_updates_reach_the_jam_its_threads_and_the_jam_wide_channel():
    page = [
        Update(10, "j", "comment", "c1", "x"),
        Update(11, "j", "alert", "j", None),
        Update(12, "j", "vote", "v1", "x"),
        Update(13, "j", "participant", "p1", None),  # someone joining: no thread shows it
    ]
    sent = {name: msgspec.json.decode(data) for data, name in live.encode_updates(page)}
    assert [u["position"] for u in sent["jam:j"]] == [10, 11, 12, 13]
    assert [u["position"] for u in sent["jam-wide:j"]] == [11]
    # With its own, in log order: sent apart, a stream that named 12 as its position and
    # then dropped would resume past 11.
    assert [u["position"] for u in sent["idea:x"]] == [10, 11, 12]


def test_a_stream_caught_up_from_far_back_reads_a_page_at_a_time_and_remembers_none_of_it(
    monkeypatch,
):
    # 600 streams asking from position 1 each kept up to 10,000 update keys: 0.5 GB.
    feed = [LiveUpdate(p, "jam", "idea", f"i{p}", f"i{p}") for p in range(1, 5001)]
    pages_read: list[int] = []

    def missed(after: int) -> list[LiveUpdate]:
        pages_read.append(after)
        return [u for u in feed if u.position > after][: queries.UPDATES_PAGE]

    made: list[live._Sent] = []

    class Kept(live._Sent):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(live, "_Sent", Kept)

    async def main():
        plugin = live.channels_plugin(None)
        async with plugin:
            stream = live._follow(plugin, ["jam:jam"], missed, 0, None)
            first = await _next(stream)
            read_first = len(pages_read)  # the feed's first page, not all of it
            last = first.id
            while last < 5000:
                last = (await _next(stream)).id
            (sent,) = made
            remembered = len(sent._keys)
            # Live: another worker's later page first, then the one before it, which also
            # repeats an update the catch-up sent (a page published again).
            plugin.publish(_published(5002), ["jam:jam"])
            ahead = await _next(stream)
            plugin.publish(_published(4990, 5001), ["jam:jam"])
            late = await _next(stream)
            await stream.aclose()
        return read_first, remembered, ahead, late

    read_first, remembered, ahead, late = asyncio.run(main())
    assert read_first == 1
    assert len(pages_read) == 5000 // queries.UPDATES_PAGE + 1
    assert remembered == 0
    assert ahead.id == 5002
    assert [u["position"] for u in msgspec.json.decode(late.data)] == [5001]  # once, late


def test_a_stream_forgets_its_oldest_updates_and_goes_by_position_below_them():
    def update(position: int) -> LiveUpdate:
        return LiveUpdate(position, "jam", "idea", f"i{position}", None)

    sent = live._Sent(keep=3)
    sent.caught_up(10)
    assert [u.position for u in sent.unsent([update(14), update(12)], last=10)] == [12, 14]
    assert [u.position for u in sent.unsent([update(11), update(15)], last=14)] == [11, 15]
    assert len(sent) == 3  # 12 forgotten: at or below it, the client's position decides
    assert sent.unsent([update(12), update(11), update(15)], last=15) == []
    assert [u.position for u in sent.unsent([update(13)], last=15)] == [13]  # late, sent


def test_a_stream_gives_its_slot_back_however_it_ends(monkeypatch):
    monkeypatch.setattr(live, "KEEP_ALIVE_S", 0.05)
    slots = live.StreamSlots(2)
    ada = uuid4()
    signed_in = [True]

    def opened(plugin):
        return live._stream(
            plugin,
            ["jam:jam"],
            lambda after: [],
            0,
            None,
            alive=lambda: signed_in[0],
            done=slots.take(ada),
        )

    async def main():
        held = []
        plugin = live.channels_plugin(None)
        async with plugin:
            # The client goes away: the response's task is cancelled while the stream waits.
            stream = opened(plugin)
            assert await _next(stream) is live.KEEP_ALIVE
            waiting = asyncio.ensure_future(stream.__anext__())
            await asyncio.sleep(0)  # let it start waiting
            held.append(slots.held(ada))
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiting
            held.append(slots.held(ada))
            # Closed by the server (the worker stopping).
            stream = opened(plugin)
            assert await _next(stream) is live.KEEP_ALIVE
            await stream.aclose()
            held.append(slots.held(ada))
            # Ended by itself: its session was signed out.
            stream = opened(plugin)
            assert await _next(stream) is live.KEEP_ALIVE
            signed_in[0] = False
            with contextlib.suppress(StopAsyncIteration):
                await _next(stream)
            held.append(slots.held(ada))
        return held

    assert asyncio.run(main()) == [1, 0, 0, 0]


def test_a_person_holds_a_few_stream_slots_at_most_and_each_is_given_back_once():
    slots = live.StreamSlots(2)
    ada, bea = uuid4(), uuid4()
    first, second = slots.take(ada), slots.take(ada)
    with pytest.raises(TooManyRequestsException) as refused:
        slots.take(ada)
    assert refused.value.headers["Retry-After"] == str(live.STREAM_RETRY_AFTER_S)
    assert "at most 2" in refused.value.detail
    slots.take(bea)()  # someone else's are their own
    first()
    first()  # given back twice: counted once
    assert slots.held(ada) == 1
    third = slots.take(ada)
    second()
    third()
    assert slots.held(ada) == 0
