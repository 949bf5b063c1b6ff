"""Invite codes: short enough to type, long enough not to guess."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING
from uuid import UUID

from domain.errors import InvalidValue
from jam.commands import IssueInvite
from jam.committer import Prepared

if TYPE_CHECKING:
    from jam.application import JamApplication

# Crockford's base32: no I, L, O or U to misread.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_invite_code() -> str:
    """15 characters of base32 (75 bits), shown in groups of five."""
    return secret_code(15)


def invite_code_for(secret: bytes, scope: str) -> str:
    """A code derived from `scope` (a request's retry key): a retry gets the same codes,
    and without the secret they are as hard to guess as random ones."""
    return secret_code_for(secret, scope, 15)


def secret_code(chars: int) -> str:
    """`chars` random characters of base32 (5 bits each), in groups of five."""
    return _grouped("".join(secrets.choice(_ALPHABET) for _ in range(chars)))


def secret_code_for(secret: bytes, scope: str, chars: int) -> str:
    digest = hmac.digest(secret, scope.encode(), hashlib.sha256)[: (5 * chars + 7) // 8]
    bits = int.from_bytes(digest, "big")
    return _grouped("".join(_ALPHABET[(bits >> (5 * i)) & 31] for i in range(chars)))


def _grouped(raw: str) -> str:
    return "-".join(raw[i : i + 5] for i in range(0, len(raw), 5))


# The most codes one request makes: the API's limit (ui.schemas.NewInvites.count), and the
# command line's, so that one transaction holds them all.
MAX_INVITES = 1000


def issue_invites(
    app: JamApplication,
    count: int,
    *,
    role: str,
    segment: str = "employee",
    jam_id: UUID | None = None,
    uses: int = 1,
    actor: UUID | None = None,
) -> list[str]:
    """Issue `count` new invite codes as one durable step: every code is recorded, in one
    transaction, or none is (a run stopped midway must not leave codes nobody was shown)."""
    if not 1 <= count <= MAX_INVITES:
        raise InvalidValue(f"count must be from 1 to {MAX_INVITES}, got {count}")
    codes: dict[str, None] = {}  # distinct, in the order made
    while len(codes) < count:
        codes[new_invite_code()] = None
    changed = []
    for code in codes:
        # Decided by the command's own handler, as `app.handle` would, but saved together.
        prepared = app.prepare(
            IssueInvite(
                actor=actor, code=code, role=role, segment=segment, jam_id=jam_id, uses=uses
            ),
            app,
        )
        if not isinstance(prepared, Prepared):  # a fresh code always records an invite
            raise InvalidValue(f"invite code {code} was taken meanwhile: run it again")
        changed.extend(prepared.changed)
    app.save(*changed)
    return list(codes)
