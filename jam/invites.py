"""Invite codes: short enough to type, long enough not to guess."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# Crockford's base32: no I, L, O or U to misread.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_invite_code() -> str:
    """15 characters of base32 (75 bits), shown in groups of five."""
    return _grouped("".join(secrets.choice(_ALPHABET) for _ in range(15)))


def invite_code_for(secret: bytes, scope: str) -> str:
    """A code derived from `scope` (a request's retry key): a retry gets the same codes,
    and without the secret they are as hard to guess as random ones."""
    bits = int.from_bytes(hmac.digest(secret, scope.encode(), hashlib.sha256)[:10], "big")
    return _grouped("".join(_ALPHABET[(bits >> (5 * i)) & 31] for i in range(15)))


def _grouped(raw: str) -> str:
    return f"{raw[:5]}-{raw[5:10]}-{raw[10:]}"
