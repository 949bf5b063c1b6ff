"""Invite codes: short enough to type, long enough not to guess."""

from __future__ import annotations

import hashlib
import hmac
import secrets

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
