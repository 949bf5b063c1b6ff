"""What page forms carry beside their fields: notices and keys.

Notices: what a form's redirect tells the next page ("the cluster is already pinned").

They travel in the address (`?notice=...`), so pages work without cookies or scripts, with
a signature (`ns`): a link from anywhere else cannot make one of our pages show its text in
our alert box ("your session expired, mail your code to ...").
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

from litestar import Request


def signature(secret: bytes, text: str) -> str:
    return hmac.new(secret, b"notice:" + text.encode(), hashlib.sha256).hexdigest()[:32]


def notice_params(request: Request[Any, Any, Any], text: str) -> list[tuple[str, str]]:
    """The query parameters that make the next page show `text`."""
    return [("notice", text), ("ns", signature(request.app.state.secret, text))]


def form_key() -> str:
    """A key for one rendering of a form that creates something (an idea, a comment): sent
    again (reload, back button, a second click), it creates nothing more."""
    return uuid.uuid4().hex


def key_of(data: dict[str, str]) -> str | None:
    """The form's key, if it sent a sensible one."""
    key = data.get("key", "")
    return key if 0 < len(key) <= 64 and key.isalnum() else None


def shown_notice(request: Request[Any, Any, Any]) -> str | None:
    """The notice this request's address carries, if one of our redirects signed it."""
    text, given = request.query_params.get("notice"), request.query_params.get("ns")
    if not text or not given:
        return None
    return text if hmac.compare_digest(signature(request.app.state.secret, text), given) else None
