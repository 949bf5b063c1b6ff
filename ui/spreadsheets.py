"""CSV downloads that open cleanly in a spreadsheet."""

from __future__ import annotations

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
