"""The MessagePack transcoder: event state goes in, the same typed values come out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID, uuid4

import msgspec
import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from jam.transcoder import MsgpackTranscoder, _IdText

POSTED_AT = datetime(2030, 5, 1, 9, 30, 15, 123456, tzinfo=UTC)


def idea_posted() -> dict[str, object]:
    """The state the library hands over for a typical event (an Idea.Posted)."""
    return {
        "jam_id": uuid4(),
        "forum": "future-of-work",
        "title": "A four-day week pilot to keep experienced people",
        "body": "Today this is hard for many of us. Let's start within a quarter.",
        "author_id": uuid4(),
        "author_segment": "employee",
        "timestamp": POSTED_AT,
        "originator_topic": "domain.idea:Idea",
    }


def round_trip(value: object) -> object:
    transcoder = MsgpackTranscoder()
    return transcoder.decode(transcoder.encode(value))


def test_an_event_state_comes_back_equal_with_its_types():
    state = idea_posted()
    back = round_trip(state)
    assert back == state
    assert isinstance(back["jam_id"], UUID)  # type: ignore[index]
    assert isinstance(back["timestamp"], datetime)  # type: ignore[index]


def test_uuids_nested_in_lists_of_dicts_come_back_as_uuids():
    voters = [uuid4(), uuid4()]
    state = {
        "forums": [{"slug": "health", "moderator": uuid4()}, {"slug": "cities", "moderator": None}],
        "voters": voters,
        "ballot": {"idea": {"id": uuid4(), "by": voters}},
    }
    back = round_trip(state)
    assert back == state
    assert isinstance(back["forums"][0]["moderator"], UUID)  # type: ignore[index]
    assert all(isinstance(v, UUID) for v in back["ballot"]["idea"]["by"])  # type: ignore[index]


@pytest.mark.parametrize(
    "offset", [timedelta(0), timedelta(hours=5, minutes=30), timedelta(hours=-8)]
)
def test_an_aware_datetime_comes_back_as_the_same_instant(offset):
    at = datetime(2030, 5, 1, 9, 30, 15, 123456, tzinfo=timezone(offset))
    back = round_trip({"at": at})["at"]  # type: ignore[index]
    assert back == at
    assert back.utcoffset() is not None  # aware: comparable with the clock's times


@pytest.mark.parametrize(
    "value",
    [None, 0, -1, 2**63 - 1, True, 1.5, "", "Grüße aus Zürich, 東京 🎉", [], {}, {"nested": []}],
)
def test_plain_values_come_back_unchanged(value):
    assert round_trip({"value": value}) == {"value": value}


def test_tuples_come_back_as_lists_as_with_the_library_json():
    assert round_trip({"forums": ("health", "cities")}) == {"forums": ["health", "cities"]}


def test_a_value_it_cannot_encode_is_refused_with_a_clear_message():
    with pytest.raises(TypeError, match="cannot encode object in an event payload"):
        MsgpackTranscoder().encode({"thing": object()})


@pytest.mark.parametrize(
    "value", [Decimal("9.99"), date(2030, 5, 1), datetime(2030, 5, 1, 9)], ids=type
)
def test_a_value_that_would_come_back_as_another_type_is_refused(value):
    with pytest.raises(TypeError, match="cannot encode"):
        MsgpackTranscoder().encode({"value": value})


def test_an_unknown_extension_in_stored_bytes_is_reported():
    stored = msgspec.msgpack.encode({"x": msgspec.msgpack.Ext(7, b"?")})
    with pytest.raises(ValueError, match="unknown MessagePack extension 7"):
        MsgpackTranscoder().decode(stored)


def test_a_typical_event_takes_fewer_bytes_than_with_the_library_json():
    json = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DatetimeAsISO(), DecimalAsStr()):
        json.register(transcoding)
    state = idea_posted()
    packed, as_json = MsgpackTranscoder().encode(state), json.encode(state)
    assert json.decode(as_json) == state  # a fair comparison: both keep the types
    assert len(packed) < len(as_json)


def test_views_decode_only_the_fields_they_name_with_ids_as_text():
    class Posted(msgspec.Struct):
        timestamp: datetime
        author_id: object  # ids in fields typed Any come out as canonical text
        forum: str

    state = idea_posted()
    transcoder = MsgpackTranscoder()
    posted = transcoder.views_decoder(Posted)(transcoder.encode(state))
    assert posted == Posted(POSTED_AT, str(state["author_id"]), "future-of-work")


def test_views_remember_id_text_within_a_bound_and_decode_any_buffer():
    class Voted(msgspec.Struct):
        idea_id: object
        jam_id: object

    transcoder = MsgpackTranscoder()
    decode = transcoder.views_decoder(Voted)
    ideas = [uuid4() for _ in range(5)]
    jam = uuid4()
    payloads = [transcoder.encode({"idea_id": i, "jam_id": jam}) for i in ideas * 2]
    # Read twice: the second time from memory, with the same canonical text.
    assert [decode(p) for p in payloads] == [Voted(str(i), str(jam)) for i in ideas * 2]
    assert decode(bytearray(payloads[0])) == Voted(str(ideas[0]), str(jam))  # writable

    small = _IdText(limit=3)
    for i in ideas:
        assert small(1, memoryview(i.bytes)) == str(i)
        assert len(small._known) <= 3
    with pytest.raises(ValueError, match="unknown MessagePack extension 7"):
        small(7, memoryview(ideas[0].bytes))
