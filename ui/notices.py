"""What page forms carry beside their fields: notices and keys.

Notices: what a form's redirect tells the next page ("the cluster is already pinned").

They travel in the address (`?notice=...`), so pages work without cookies or scripts, with
a signature (`ns`) over the text, the page it is for and the person it is for (anyone not
signed in counts as one person): a link from anywhere else cannot make one of our pages show
its text in our alert box ("your session expired, mail your code to ..."), and neither can
a notice someone provoked for themselves (some repeat what was typed) shown to another.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, NamedTuple
from uuid import UUID

from litestar import Request

from ui.auth import viewer

_SAME = object()  # the notice is for whoever sent the form


class Shown(NamedTuple):
    text: str
    done: bool  # says what was done (shown calmly), rather than what went wrong


def signature(
    secret: bytes, text: str, path: str, reader: UUID | None, *, done: bool = False
) -> str:
    kind = "notice:done" if done else "notice"  # signed too: an error cannot pass as done
    signed = f"{kind}\n{reader or '-'}\n{path}\n{text}".encode()
    return hmac.new(secret, signed, hashlib.sha256).hexdigest()[:32]


def notice_params(
    request: Request[Any, Any, Any],
    text: str,
    path: str,
    reader: Any = _SAME,
    *,
    done: bool = False,
) -> list[tuple[str, str]]:
    """The query parameters that make page `path` show `text` to `reader` (by default the
    person who sent this request; None: someone not signed in)."""
    who = viewer(request) if reader is _SAME else reader
    signed = signature(request.app.state.secret, text, path, who, done=done)
    return [("notice", text), ("ns", signed), *([("nk", "done")] if done else [])]


def place_key(secret: bytes, reader: UUID | None, *place: object) -> str:
    """A key for a form that creates something in one place (an idea in a jam, a comment on
    an idea, a reply to a comment), the same at each rendering for the same reader: a page
    fetched again (the back button) and sent again with the same text creates nothing more,
    whatever the browser restored into the form's hidden fields. Joined by `key_of` with a digest of
    the text, so other words are another comment."""
    signed = "\n".join(["form-key", str(reader or "-"), *map(str, place)]).encode()
    return hmac.new(secret, signed, hashlib.sha256).hexdigest()[:32]


def key_of(data: dict[str, str], *fields: str) -> str | None:
    """The form's key, if it sent a sensible one, joined with a digest of what `fields`
    hold: sent twice as it was (a double click, a reload), the same key; sent again with
    other text (after going back to the page as it was), another request, not a reused key."""
    key = data.get("key", "")
    if not (0 < len(key) <= 64 and key.isalnum()):
        return None
    said = hashlib.sha256("\x00".join(data.get(f, "") for f in fields).encode()).hexdigest()
    return f"{key}{said[:16]}"


# The rules name a text by its field; on a page, the field's box is labelled otherwise
# ("The text of your idea", "Add a comment"), so a body is "the text".
_FIELD_WORDS = (("body ", "the text "),)


def sentence(text: str) -> str:
    """A message from the rules ("body must not be empty") as a page says it: a sentence,
    capitalised and ended ("The text must not be empty.")."""
    for field, words in _FIELD_WORDS:
        if text.startswith(field):
            text = words + text[len(field) :]
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def shown_notice(request: Request[Any, Any, Any]) -> Shown | None:
    """The notice this request's address carries, if one of our redirects signed it."""
    text, given = request.query_params.get("notice"), request.query_params.get("ns")
    if not text or not given:
        return None
    done = request.query_params.get("nk") == "done"
    secret, path = request.app.state.secret, request.url.path
    expected = signature(secret, text, path, viewer(request), done=done)
    return Shown(sentence(text), done) if hmac.compare_digest(expected, given) else None
