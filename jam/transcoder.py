"""Event payloads as MessagePack, encoded and decoded by msgspec.

The library's default transcoder is JSON with an object hook per dict; msgspec
does the same work in C. UUIDs travel as a 16-byte extension (the library gives
us untyped dicts, so the type must survive the round trip on its own) and
datetimes as MessagePack timestamps, which decode to aware UTC datetimes.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import Transcoder

_UUID_EXT = 1


def _tag_uuids(value: Any) -> Any:
    # msgspec encodes UUIDs natively, as plain strings or bytes that would come
    # back untyped, so they are wrapped before encoding.
    if isinstance(value, UUID):
        return msgspec.msgpack.Ext(_UUID_EXT, value.bytes)
    if isinstance(value, dict):
        return {k: _tag_uuids(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tag_uuids(v) for v in value]
    return value


def _enc_hook(obj: Any) -> Any:
    msg = f"cannot encode {type(obj).__name__} in an event payload"
    raise TypeError(msg)


def _ext_hook(code: int, data: memoryview) -> Any:
    if code == _UUID_EXT:
        return UUID(bytes=bytes(data))
    msg = f"unknown MessagePack extension {code}"
    raise ValueError(msg)


class MsgpackTranscoder(Transcoder):
    def __init__(self) -> None:
        self._encoder = msgspec.msgpack.Encoder(enc_hook=_enc_hook)
        self._decoder = msgspec.msgpack.Decoder(ext_hook=_ext_hook)

    def encode(self, obj: Any) -> bytes:
        return self._encoder.encode(_tag_uuids(obj))

    def decode(self, data: bytes) -> Any:
        return self._decoder.decode(data)
