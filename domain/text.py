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


# Letters that render as nothing (Hangul fillers) and the blank Braille pattern: a text of
# these alone, or of spaces, format characters (zero-width space, joiners) and marks, shows
# nothing at all.
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


ECHO_MAX = 40


def quoted(value: object) -> str:
    """A value someone sent, quoted in a message about it: cut at ECHO_MAX characters, so
    that a refusal does not send a megabyte back (or into a redirect's address)."""
    text = value if isinstance(value, str) else repr(value)
    return f"“{text[:ECHO_MAX]}…”" if len(text) > ECHO_MAX else f"“{text}”"


def shows_something(value: str) -> bool:
    """Whether the text has a character one can see: a letter, digit, punctuation or symbol."""
    return any(unicodedata.category(ch)[0] in "LNPS" and ch not in _BLANK_GLYPHS for ch in value)


def _fewer_blank_lines(value: str) -> str:
    """One empty line parts paragraphs; a run of them only pads the page. A line showing
    nothing (spaces, zero-width or blank characters) counts as empty, and becomes so."""
    kept: list[str] = []
    for line in value.split("\n"):
        if shows_something(line):
            kept.append(line)
        elif kept and kept[-1]:  # the first empty line after text
            kept.append("")
    return "\n".join(kept)


def normalise(value: str, *, multiline: bool) -> str:
    """NFC, newlines unified, control characters removed, trimmed.

    Single-line text also has every run of white space folded to one space; multiline
    text keeps at most one empty line between two lines. Text that
    shows nothing (only invisible characters) becomes empty.
    """
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = "".join(
        ch
        for ch in value
        if ch in "\n\t" or (unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS)
    )
    # NFC last: removing a control character can bring a letter and its accent together.
    value = unicodedata.normalize("NFC", value)
    value = _fewer_blank_lines(value) if multiline else " ".join(value.split())
    value = value.strip()
    return value if shows_something(value) else ""


def require_text(
    field: str, value: str, *, max_len: int, min_len: int = 1, multiline: bool = False
) -> str:
    """Return the normalised text, or raise InvalidText naming the field."""
    if not isinstance(value, str):
        raise InvalidText(field, "must be text")
    cleaned = normalise(value, multiline=multiline)
    if len(cleaned) < min_len:
        if min_len > 1:
            raise InvalidText(field, f"needs {min_len}+ characters")
        # Spaces, or marks that show nothing, look typed: say they do not count.
        said = " (spaces alone do not count)" if value else ""
        raise InvalidText(field, f"must not be empty{said}")
    if len(cleaned) > max_len:
        raise InvalidText(field, f"must be at most {max_len:,} characters (got {len(cleaned):,})")
    return cleaned
