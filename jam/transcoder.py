"""Event payloads as MessagePack, encoded and decoded by msgspec.

The library's default transcoder is JSON with an object hook per dict; msgspec
does the same work in C. UUIDs travel as a 16-byte extension (the library gives
us untyped dicts, so the type must survive the round trip on its own) and
datetimes as MessagePack timestamps, which decode to aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from eventsourcing.persistence import Transcoder

_UUID_EXT = 1
T = TypeVar("T")


_PLAIN = (str, int, float, bool, bytes, type(None))


def _tag_uuids(value: Any) -> Any:
    """Prepare a payload: UUIDs wrapped, anything that would not come back as itself refused.

    msgspec would encode UUIDs, Decimals, dates and naive datetimes as strings that
    decode untyped, silently changing the event on replay.
    """
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, UUID):
        return msgspec.msgpack.Ext(_UUID_EXT, value.bytes)
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value
    if isinstance(value, dict):
        return {k: _tag_uuids(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tag_uuids(v) for v in value]
    kind = "naive datetime" if isinstance(value, datetime) else type(value).__name__
    msg = f"cannot encode {kind} in an event payload"
    raise TypeError(msg)


def _ext_hook(code: int, data: memoryview) -> Any:
    if code == _UUID_EXT:
        return UUID(bytes=bytes(data))
    msg = f"unknown MessagePack extension {code}"
    raise ValueError(msg)


def uuid_text(h: str) -> str:
    """The canonical text of a UUID from its 32 hex digits (faster than `str(UUID(h))`)."""
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class _IdText:
    """A UUID extension's canonical text, remembered for the ids seen most recently.

    Views read the same few ids over and over (a jam's, its ideas', its people's: a
    vote names three), and a lookup costs a third of formatting one. The memory is
    dropped whole when it reaches `limit` ids.
    """

    def __init__(self, limit: int = 1_000_000) -> None:
        self._known: dict[bytes, str] = {}
        self._limit = limit

    def __call__(self, code: int, data: memoryview) -> Any:
        if code != _UUID_EXT:
            msg = f"unknown MessagePack extension {code}"
            raise ValueError(msg)
        try:
            text = self._known.get(data)  # type: ignore[call-overload]
        except (TypeError, ValueError):  # a writable buffer cannot be hashed
            text = None
        if text is not None:
            return text
        text = uuid_text(data.hex())
        if len(self._known) >= self._limit:
            self._known.clear()
        self._known[bytes(data)] = text
        return text


class MsgpackTranscoder(Transcoder):
    def __init__(self) -> None:
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(ext_hook=_ext_hook)
        self._id_text = _IdText()

    def views_decoder(self, type_: type[T]) -> Callable[[bytes], T]:
        """Decode payloads straight into `type_`, a struct of the fields a view needs
        (ids, in fields typed Any, as canonical text): no dicts, unused fields skipped."""
        return msgspec.msgpack.Decoder(type_, ext_hook=self._id_text).decode

    def encode(self, obj: Any) -> bytes:
        return self._encoder.encode(_tag_uuids(obj))

    def decode(self, data: bytes) -> Any:
        return self._decoder.decode(data)
