"""Small wording helpers for the pages' templates."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and its noun in the right number: 1 comment, 2 comments, 0 flags."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
