"""A small HTTP/1.1 client on asyncio streams: keep-alive requests and SSE streams.

Far lighter per request than a general client library, so on a two-core machine
the load generator takes less of the CPU the server under test needs. The same
client drives the bare ceiling app and OpenJam.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

import msgspec

POSITIONS = re.compile(rb'"position":(\d+)')
_json = msgspec.json.Encoder()


class HttpError(Exception):
    pass


class Connection:
    """One keep-alive connection; requests on it go one after another."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.headers = headers or {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def request(
        self,
        method: str,
        path: str,
        body: object | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        payload = b"" if body is None else _json.encode(body)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in {**self.headers, **(headers or {})}.items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        message = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
        # A kept-alive connection the server closed while we were idle (uvicorn closes
        # them after 5 s) fails before any answer: send once more on a new one.
        reused = self._writer is not None
        for attempt in (1, 2):
            reader, writer = await self._open()
            writer.write(message)
            try:
                return await self._response(reader)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                self.close()
                if attempt == 2 or not reused or getattr(exc, "partial", b""):
                    raise HttpError(f"{method} {path}: connection lost ({exc})") from None
        raise AssertionError("unreachable")

    async def _response(self, reader: asyncio.StreamReader) -> tuple[int, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        fields = {}
        for line in header_lines:
            if ":" in line:
                k, v = line.split(":", 1)
                fields[k.strip().lower()] = v.strip()
        if fields.get("transfer-encoding") == "chunked":
            body = bytearray()
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
            data = bytes(body)
        else:
            data = await reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, data


async def follow_stream(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    on_positions: Callable[[list[int], float], None],
    stop: asyncio.Event,
) -> None:
    """Keep an SSE stream open; report the log positions each event carries, on arrival."""
    reader, writer = await asyncio.open_connection(host, port)
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}\r\n".encode())
    try:
        while not stop.is_set():
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"data: "):
                on_positions([int(p) for p in POSITIONS.findall(line)], time.time())
    finally:
        writer.close()
