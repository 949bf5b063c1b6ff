"""Errors on the pages as pages: a person with a browser gets HTML, never the API's JSON.

A page signed out goes to the sign-in form (the home page), which comes back to it
afterwards; any other refusal renders `error.html` with the API's status, headers
and message (the JSON handlers in ui/errors.py decide those, so both agree).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template

from domain import Participant
from domain.errors import DomainError
from jam.errors import ApplicationError, StoreUnavailable
from ui.auth import viewer
from ui.errors import EXCEPTION_HANDLERS
from ui.headers import answered_headers
from ui.notices import notice_params

SIGN_IN_NOTICE = "Sign in to see that page."
# A form sent once signed out (elsewhere, or the session ended): nothing was done.
SIGN_IN_TO_SEND = "You were signed out, so that was not sent. Sign in, then send it again."
NOT_A_PAGE = "This address is where a form sends what it holds; it has no page to show."
FORM_UNREADABLE = (
    "The form sent something this page cannot read (a field twice, or a file where text "
    "belongs). Go back, reload the page and send it again."
)
_TITLES = {
    401: "Please sign in",
    403: "Not for you",
    404: "Not found",
    405: "Not a page",
    409: "Not now",
    413: "Too large",
    422: "That did not work",
    429: "Slow down",
    503: "Try again shortly",
}


def safe_next(path: str | None) -> str | None:
    """A path on this site to come back to, or None: never another site's address.

    Browsers drop tabs and newlines from addresses and read a backslash as a slash, so
    "/\t/evil.example" would become "//evil.example": another site.
    """
    if not path or not path.startswith("/") or len(path) > 2000:
        return None
    if any(ch <= " " or ch == "\\" or ch == "\x7f" for ch in path) or path.startswith("//"):
        return None
    return path


def _here(request: Request[Any, Any, Any]) -> str:
    query = request.scope.get("query_string", b"").decode("latin-1")
    return request.url.path + ("?" + query if query else "")


def _me(request: Request[Any, Any, Any]) -> Participant | None:
    # Exception handlers are called synchronously; one aggregate read is cheap.
    try:
        pid = viewer(request)
        return request.app.state.services.jam.find(Participant, pid) if pid else None
    except Exception:  # an error page must render even when the store is down
        return None


def _as_json(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The API's answer to `exc`: its most specific handler, as litestar chooses one."""
    handler = next(EXCEPTION_HANDLERS[k] for k in type(exc).__mro__ if k in EXCEPTION_HANDLERS)
    return handler(request, exc)


def page_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    answer = _as_json(request, exc)
    status = answer.status_code
    if status == 401:
        # Signed out (or the session expired): sign in, then come back here. A form post
        # cannot be replayed, so it comes back to the page the form was on.
        back = _here(request) if request.method == "GET" else _back_link(request)
        said = SIGN_IN_NOTICE if request.method == "GET" else SIGN_IN_TO_SEND
        query = notice_params(request, said, "/", reader=None)
        if nxt := safe_next(back):
            query.append(("next", nxt))
        return Redirect("/?" + urlencode(query))
    content = answer.content if isinstance(answer.content, dict) else {}
    detail = content.get("detail")
    if not isinstance(detail, str):
        detail = msgspec.json.encode(detail).decode() if detail is not None else ""
    fields = content.get("fields")
    if isinstance(fields, list) and any(
        isinstance(f, dict) and f.get("source") == "body" for f in fields
    ):
        # Not the address: the form itself, sent otherwise than our pages send it.
        detail = FORM_UNREADABLE
    elif isinstance(fields, list):  # which parameter was wrong, and how, in plain words
        said = [
            f"{f.get('key')} {_plain(str(f.get('message')))}" for f in fields if isinstance(f, dict)
        ]
        if said:  # the API's "Validation failed for GET /path?query" says nothing more
            detail = "The address has a value this page cannot use: " + "; ".join(said) + "."
    if status == 404:
        detail = _page_not_found(detail)
    back = safe_next(_back_link(request))
    if status == 405 and request.method in ("GET", "HEAD"):
        # The address a form sent to, opened again from the address bar or a bookmark.
        detail = NOT_A_PAGE
        back = back or form_page(request.url.path)
    headers = {**answered_headers(request.app), **dict(answer.headers)}
    headers.pop("content-type", None)
    return Template(
        "error.html",
        context={
            "me": _me(request),
            "status": status,
            "heading": _TITLES.get(status, "Something went wrong"),
            "message": detail or "",
            "back": back or "/",
        },
        status_code=status,
        headers=headers,
    )


def refused_with_text(
    request: Request[Any, Any, Any], exc: Exception, typed: list[tuple[str, str]]
) -> Response[Any]:
    """A refused form's error page, with what was typed in it to copy.

    For a browser that ran no script of ours: the script keeps a form's text and gives it
    back after the redirect that says why; without it, that redirect lost the text (an idea
    sent a minute after the jam closed)."""
    answer = page_error(request, exc)
    if isinstance(answer, Template):
        given = [(name, text) for name, text in typed if text.strip()]
        answer.context = {**answer.context, "given_back": given}
    return answer


# The validators' wording (msgspec's, for query parameters), as a reader would say it.
_PLAIN = (
    (re.compile(r"Expected `int` >= (-?\d+)"), r"must be a whole number, \1 or more"),
    (re.compile(r"Expected `int` <= (-?\d+)"), r"must be a whole number, \1 or less"),
    (re.compile(r"Expected `int`.*"), "must be a whole number"),
    (re.compile(r"Expected `bool`.*"), "must be true or false"),
    (re.compile(r"Invalid RFC3339 encoded datetime.*"), "must be a time, as 2030-05-02T12:00:00Z"),
    (re.compile(r"Expected `str` of length <= (\d+)"), r"must be at most \1 characters"),
    (re.compile(r"Invalid enum value (.*)"), r"cannot be \1"),
    (re.compile(r"Expected `str` matching regex '\^\[a-z0-9-\]\+\$'.*"), "takes a-z, 0-9 and -"),
)


def _plain(message: str) -> str:
    for pattern, words in _PLAIN:
        if pattern.match(message):
            return pattern.sub(words, message, count=1)
    return f"is not valid ({message})" if message else "is not valid"


_NO_SUCH = re.compile(r"^no (\w+) with id \S+$")


def _page_not_found(detail: str) -> str:
    """The API's "no idea with id 1f0c..." or litestar's "Not Found", as a reader would
    want it said; any other message (a hidden idea, a forum the jam lacks) as it is."""
    if detail in ("", "Not Found"):
        return "There is no page at this address: it may be mistyped or incomplete."
    if found := _NO_SUCH.match(detail):
        return f"There is no such {found[1]}: the link may be mistyped or incomplete."
    return detail


_UUID = r"[0-9a-fA-F-]{36}"
# The page each form of ours is on, by the address it sends to (None: the home page).
_FORM_PAGES = (
    (
        re.compile(rf"/jams/({_UUID})/(?:schedule|forums|alert|topics|invites)/?"),
        "/jams/{}/central",
    ),
    (re.compile(rf"/jams/({_UUID})/ideas/?"), "/jams/{}"),
    (re.compile(rf"/ideas/({_UUID})/[a-z]+/?"), "/ideas/{}"),
    (re.compile(r"/me/personal-code/?"), "/me"),
)


def form_page(path: str) -> str | None:
    """The page whose form sends to `path`, where one can go back to from it; None where
    the address does not say (a comment's or a participant's forms, signing in or out)."""
    for pattern, page in _FORM_PAGES:
        if found := pattern.fullmatch(path):
            return page.format(*found.groups())
    return None


def _back_link(request: Request[Any, Any, Any]) -> str | None:
    """Where "go back" leads: the page before, if it was ours, else the home page."""
    referer = request.headers.get("referer", "")
    base = str(request.base_url).rstrip("/")
    if referer.startswith(base + "/"):
        return referer[len(base) :]
    return None


PAGE_EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    HTTPException: page_error,
    DomainError: page_error,
    ApplicationError: page_error,
    StoreUnavailable: page_error,
    Exception: page_error,
}

# Paths under these serve no pages (the API, probes, metrics, the schema, static files).
NOT_PAGES = ("/api", "/health", "/ready", "/metrics", "/schema", "/static")


def page_or_json(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Where no route answers (an unknown path), a browser asking for a page gets one."""
    wants_page = "text/html" in request.headers.get("accept", "")
    if wants_page and not request.url.path.startswith(NOT_PAGES):
        return page_error(request, exc)
    return _as_json(request, exc)


APP_EXCEPTION_HANDLERS: dict[type[Exception], Any] = dict.fromkeys(EXCEPTION_HANDLERS, page_or_json)
