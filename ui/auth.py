"""Sessions: a signed token names the participant; every request checks it.

Tokens are `<participant id>.<issued at>.<session>.<signature>`, signed with HMAC-SHA256
under the service's secret key, so any web worker can check any token without a
shared session store. The role is never taken from the token: it is read from
the participant aggregate on each request, so a block or a change takes effect
at once. Signing out ends the token's session for good (`ui.sessions`): every worker
keeps the ended sessions and refuses their tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from jam.settings import Settings

SESSION_COOKIE = "openjam_session"
MAX_AGE_S = 14 * 24 * 3600
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def secret_key(settings: Settings) -> bytes:
    """The configured key, or one kept beside the embedded store (made on first use)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.data_dir) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        try:
            os.link(fresh, path)  # first writer wins; workers starting together share its key
        except FileExistsError:
            pass
        finally:
            fresh.unlink()
    return path.read_text().strip().encode()


def cookie_gone() -> Cookie:
    """The cookie that makes a browser forget its session."""
    return Cookie(
        key=SESSION_COOKIE, value="", httponly=True, samesite="lax", max_age=0, expires=0, path="/"
    )


def session_cookie(key: bytes, participant_id: UUID) -> Cookie:
    """The cookie that signs this browser in as `participant_id`."""
    return Cookie(
        key=SESSION_COOKIE,
        value=issue_token(key, participant_id),
        httponly=True,
        samesite="lax",
        max_age=MAX_AGE_S,
        path="/",
    )


def _sign(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue_token(key: bytes, participant_id: UUID, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    # The session's own name: what signing out ends (two sign-ins in one second differ).
    session = secrets.token_hex(8)
    payload = f"{participant_id.hex}.{issued}.{session}"
    return f"{payload}.{_sign(key, payload)}"


# Tokens whose signature checked out, with what they say: every request of a signed-in
# participant sends the same token, and checking its HMAC again each time cost about a
# tenth of a cached read. Only valid tokens are kept, so junk cannot fill it; the age is
# still checked on each use.
VERIFIED_MAX = 100_000
_verified: dict[tuple[bytes, str], tuple[UUID, int, str]] = {}
# Sessions signed out for good, by key, participant and session, with when they ended:
# their tokens, and any copy of them, are refused (`ui.sessions.EndedSessions` keeps this
# up to date). A session's tokens were all issued before it ended, so MAX_AGE_S after
# its end none is valid any more and it is forgotten; ENDED_SLACK_S allows for clocks
# that disagree. Kept in the order heard, which is about the order ended.
ENDED_SLACK_S = 24 * 3600
_ended: dict[tuple[bytes, UUID, str], float] = {}


def read_token(key: bytes, token: str, now: float | None = None) -> UUID | None:
    """The participant a valid, unexpired token names; None otherwise."""
    session = read_session(key, token, now)
    return session[0] if session is not None else None


def read_session(key: bytes, token: str, now: float | None = None) -> tuple[UUID, int, str] | None:
    """The participant, issue time and session of a valid, unexpired token whose session
    was not signed out."""
    known = _verified.get((key, token))
    if known is None:
        known = _verify(key, token)
        if known is None:
            return None
        if len(_verified) >= VERIFIED_MAX:
            _verified.clear()
        _verified[(key, token)] = known
    participant, issued, session = known
    if (now if now is not None else time.time()) - issued > MAX_AGE_S:
        return None
    if _ended and (key, participant, session) in _ended:
        return None
    return known


def end_session(
    key: bytes, participant: UUID, session: str, at: float | None = None, now: float | None = None
) -> None:
    """Refuse the session's tokens from now on, in this process; `at` is when it ended
    (by default `now`, the clock's time)."""
    now = now if now is not None else time.time()
    forget_before = now - MAX_AGE_S - ENDED_SLACK_S
    while _ended:  # the oldest first: ended long enough ago, no token of theirs is valid
        oldest, ended_at = next(iter(_ended.items()))
        if ended_at >= forget_before:
            break
        del _ended[oldest]
    at = at if at is not None else now
    if at >= forget_before:
        _ended.setdefault((key, participant, session), at)


def _verify(key: bytes, token: str) -> tuple[UUID, int, str] | None:
    try:
        parts = token.split(".")
        if len(parts) == 3:
            # Issued before tokens named their session (valid 14 days at most): still good,
            # named after their signature, so that signing out ends them too.
            pid, issued, signature = parts
            if not hmac.compare_digest(signature, _sign(key, f"{pid}.{issued}")):
                return None
            session = "L" + hashlib.sha256(signature.encode()).hexdigest()[:16]
            return UUID(hex=pid), int(issued), session
        pid, issued, session, signature = parts
        if not hmac.compare_digest(signature, _sign(key, f"{pid}.{issued}.{session}")):
            return None
        return UUID(hex=pid), int(issued), session
    except ValueError:
        return None


def token_of(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


def this_session(request: Request[Any, Any, Any]) -> tuple[UUID, int, str]:
    """The participant, issue time and session making the request, or 401."""
    token = token_of(request)
    session = read_session(request.app.state.secret, token) if token else None
    if session is None:
        raise NotAuthorizedException("sign in first: send a session token or cookie")
    return session


def signed_in(request: Request[Any, Any, Any], *, form: bool = False) -> UUID:
    """The participant making the request, or 401.

    `form` is for our pages' form posts, which the CSRF middleware has checked.
    """
    participant = this_session(request)[0]
    # Signed in by cookie alone: accept only what a page of ours can send. A form on
    # another site cannot send JSON without a CORS preflight, which is never granted.
    by_cookie = (
        not form and "authorization" not in request.headers and request.method not in _SAFE_METHODS
    )
    media_type = request.headers.get("content-type", "").split(";")[0].strip()
    if by_cookie and media_type != "application/json":
        raise PermissionDeniedException("cookie-authenticated writes must send JSON")
    return participant


def viewer(request: Request[Any, Any, Any]) -> UUID | None:
    """The signed-in participant, if any (for reads that show more to some roles)."""
    token = token_of(request)
    return read_token(request.app.state.secret, token) if token else None


# A handler's `opt` flag: it tries a code, so its writes count per address even with a
# session, or every session one holds would bring its own allowance of guessed codes.
SIGNS_IN = "signs_in"


# The scope's mark of a sign-in that succeeded: the write limiter gives it back, so that
# only refused attempts count against the address (see ui/limits.py).
_SIGNED_IN_MARK = "openjam.signed_in"


def mark_signed_in(request: Request[Any, Any, Any]) -> None:
    request.scope[_SIGNED_IN_MARK] = True  # type: ignore[literal-required]


def signs_in(request: Request[Any, Any, Any]) -> bool:
    """Whether the request tries a code (its route is marked SIGNS_IN)."""
    handler = request.scope.get("route_handler")
    return handler is not None and bool(handler.opt.get(SIGNS_IN, False))


def signed_in_now(scope: Any) -> bool:
    return bool(scope.get(_SIGNED_IN_MARK, False))


def rate_limit_key(request: Request[Any, Any, Any]) -> str:
    """Writes are limited per participant (per address before signing in, and for every
    refused attempt to sign in)."""
    token = None if signs_in(request) else token_of(request)
    participant = read_token(request.app.state.secret, token) if token else None
    if participant is not None:
        return f"participant:{participant.hex}"
    client = request.client
    return f"address:{client.host if client else 'unknown'}"
