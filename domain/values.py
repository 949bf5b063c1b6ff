"""Value types shared by the aggregates: segments, roles, decisions, ids."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar
from uuid import UUID, uuid5

from domain.errors import InvalidValue
from domain.text import quoted


class Segment(StrEnum):
    EMPLOYEE = "employee"
    CLIENT = "client"
    FAMILY = "family"
    PARTNER = "partner"


class Role(StrEnum):
    PARTICIPANT = "participant"
    ORGANIZER = "organizer"
    LEADER = "leader"


class Decision(StrEnum):
    SHORTLISTED = "shortlisted"
    FUNDED = "funded"
    PARKED = "parked"
    DECLINED = "declined"


class JamState(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"


# Namespaces for ids derived from natural keys (uuid5), fixed forever.
VOTE_NAMESPACE = UUID("6f1c1c3e-3d5a-4a36-9a51-9e1f2b0c7a10")
INVITE_NAMESPACE = UUID("0b9e4f6e-58d4-4c53-a0f4-3d0f3f1c2e77")
SIGN_IN_KEY_NAMESPACE = UUID("5d3a8c1e-7f2b-4e69-b8a4-c61e0d9f4b25")

E = TypeVar("E", bound=StrEnum)

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


def vote_id(idea_id: UUID, participant_id: UUID) -> UUID:
    """One vote per person per idea: the id is the consistency boundary."""
    return uuid5(VOTE_NAMESPACE, f"{idea_id.hex}:{participant_id.hex}")


def normalise_invite_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def invite_id(code: str) -> UUID:
    """Invites are found by their code without storing the code itself."""
    return uuid5(INVITE_NAMESPACE, normalise_invite_code(code))


def sign_in_key_id(code: str) -> UUID:
    """A personal sign-in code is found the way an invite is, and never stored either."""
    return uuid5(SIGN_IN_KEY_NAMESPACE, normalise_invite_code(code))


def parse_enum(kind: type[E], value: str, field: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        if value == "":  # nothing chosen (a form's "choose…"): no "got “”" to puzzle over
            raise InvalidValue(f"choose a {field}: one of {allowed}") from None
        raise InvalidValue(f"{field} must be one of: {allowed} (got {quoted(value)})") from None


def require_slug(slug: str) -> str:
    if not isinstance(slug, str) or not _SLUG.match(slug):
        raise InvalidValue(
            f"forum slug {quoted(slug)} must be 1-40 lowercase letters, digits or inner hyphens"
        )
    return slug


# Latin letters that are not a plain letter and an accent, so that decomposing them
# leaves nothing of a-z ("Förum" keeps its o by decomposing; "Ørsted" would lose its Ø).
_LATIN = str.maketrans(
    {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ẞ": "SS",
     "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH",
     "ı": "i", "ħ": "h", "Ħ": "H", "ŋ": "ng", "Ŋ": "NG"}
)  # fmt: skip


def slug_from(title: str) -> str:
    """A forum slug made from its title ("Health & care" -> "health-care"); empty if the
    title has no letter or digit of a-z and 0-9 (accents are dropped, other scripts too)."""
    latin = title.translate(_LATIN)
    plain = unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:40].rstrip("-")


def slug_for(title: str, taken: Collection[str]) -> str:
    """The address name of a forum titled `title`: made from the title, or, for a title in
    another script ("日本", "صحة"), the first of forum-1, forum-2, ... not `taken`."""
    made = slug_from(title)
    n = 1
    while not made and f"forum-{n}" in taken:
        n += 1
    return made or f"forum-{n}"


def require_aware(field: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidValue(f"{field} must be a timezone-aware datetime")
    try:
        value.astimezone(UTC)  # the log keeps times in UTC
    except OverflowError:
        raise InvalidValue(f"{field} is out of range: UTC cannot hold it") from None
    return value
