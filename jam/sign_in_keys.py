"""Signing back in with a personal code: the participant who holds it, if it still counts."""

from __future__ import annotations

from domain import Invite, Participant, SignInKey
from domain.errors import InvalidValue
from domain.values import invite_id, sign_in_key_id
from jam.application import JamApplication
from jam.invites import secret_code, secret_code_for

# 100 bits: unlike an invite's, this code is a password, and never shared.
CODE_CHARS = 20


def new_sign_in_code() -> str:
    return secret_code(CODE_CHARS)


def sign_in_code_for(secret: bytes, scope: str) -> str:
    """The same code on every retry of one request (see `invite_code_for`)."""
    return secret_code_for(secret, f"sign-in-key:{scope}", CODE_CHARS)


def holder_of(app: JamApplication, code: str) -> Participant:
    """The participant `code` signs in, or a refusal that says no more for an unknown code
    than for a retired one."""
    key = app.find(SignInKey, sign_in_key_id(code)) if code.strip() else None
    holder = app.find(Participant, key.participant_id) if key is not None else None
    if key is not None and holder is not None and holder.signs_in_with(key):
        return holder
    if code.strip() and app.find(Invite, invite_id(code)) is not None:
        raise InvalidValue("that is an invite code: sign in with it as an invite")
    raise InvalidValue(
        "this personal code signs no one in: check it for typos"
        " (once someone makes a new code, only the new one works)"
    )
