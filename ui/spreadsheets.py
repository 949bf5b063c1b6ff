"""Downloads: CSV that opens cleanly in a spreadsheet, and JSON asked for as a file."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from litestar import Response

# Excel reads a CSV without a byte-order mark in the machine's legacy code page, so accents
# and every non-Latin name come out garbled; the mark makes it read UTF-8. Python's csv
# readers skip it with encoding="utf-8-sig".
BOM = "\ufeff"


def safe_cell(text: str) -> str:
    """A cell starting with = + - @ would run as a formula in a spreadsheet."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def csv_download(text: str, filename: str) -> Response[Any]:
    return Response(
        BOM + text,
        media_type="text/csv",  # litestar adds "; charset=utf-8"
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def json_download(body: object, filename: str) -> Response[Any]:
    """The API's JSON answer, as a file saved under `filename`."""
    return Response(body, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def asked_for_json_file(query: Mapping[str, Any]) -> bool:
    """`format=json` written out asks for a file, like `format=csv`; without it the same
    address is the plain API answer."""
    return query.get("format") == "json"


def file_name(
    kind: str, jam_id: object, shows: str | datetime, *extra: str, suffix: str = "csv"
) -> str:
    """A download's name that tells its versions apart once saved: the jam, the time it
    shows (UTC, to the second; now's as well as a past one's), and what else sets it
    apart (`extra`)."""
    at = datetime.fromisoformat(shows) if isinstance(shows, str) else shows
    parts = [kind, str(jam_id)]
    if at is not None:
        parts.append(f"as-of-{at.astimezone(UTC):%Y-%m-%dT%H%M%SZ}")
    return "-".join([*parts, *extra]) + "." + suffix
