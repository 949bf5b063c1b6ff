"""Invite codes: short enough to type, long enough not to guess."""

from __future__ import annotations

import secrets

# Crockford's base32: no I, L, O or U to misread.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_invite_code() -> str:
    """15 characters of base32 (75 bits), shown in groups of five."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(15))
    return f"{raw[:5]}-{raw[5:10]}-{raw[10:]}"
