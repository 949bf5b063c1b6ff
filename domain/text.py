"""Normalisation and limits for user text.

Text is stored normalised (NFC, no control characters) so that what is shown,
searched and compared is exactly what was checked against the limits.
"""

from __future__ import annotations

import unicodedata

from domain.errors import InvalidText

TITLE_MAX = 120
BODY_MAX = 5_000
NAME_MAX = 60
REASON_MAX = 500
NOTE_MAX = 2_000

# Explicit bidi embeddings, overrides and isolates: invisible, and able to make
# text read differently from how it is stored.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def normalise(value: str, *, multiline: bool) -> str:
    """NFC, newlines unified, control characters removed, trimmed.

    Single-line text also has every run of white space folded to one space.
    """
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = "".join(
        ch
        for ch in value
        if ch in "\n\t" or (unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS)
    )
    # NFC last: removing a control character can bring a letter and its accent together.
    value = unicodedata.normalize("NFC", value)
    if not multiline:
        value = " ".join(value.split())
    return value.strip()


def require_text(
    field: str, value: str, *, max_len: int, min_len: int = 1, multiline: bool = False
) -> str:
    """Return the normalised text, or raise InvalidText naming the field."""
    if not isinstance(value, str):
        raise InvalidText(field, "must be text")
    cleaned = normalise(value, multiline=multiline)
    if len(cleaned) < min_len:
        raise InvalidText(
            field, "must not be empty" if min_len == 1 else f"needs {min_len}+ characters"
        )
    if len(cleaned) > max_len:
        raise InvalidText(field, f"must be at most {max_len:,} characters (got {len(cleaned):,})")
    return cleaned
