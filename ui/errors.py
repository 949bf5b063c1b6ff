"""Errors as JSON: `{"error": code, "detail": message}` with a 4xx or 503 status, or 500
for a fault of ours (logged with its traceback)."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE

from domain.errors import (
    ConflictingState,
    DomainError,
    InvalidSchedule,
    InvalidText,
    InvalidValue,
    JamNotOpen,
    NotPermitted,
    UnknownForum,
)
from jam.errors import (
    ApplicationError,
    ConcurrentUpdate,
    IdempotencyKeyReused,
    NotFound,
    NotSignedIn,
    StoreUnavailable,
)
from ui.headers import answered_headers


class NotCaughtUp(HTTPException):
    """The read models have not yet reached the log position a reader asked for."""

    status_code = HTTP_503_SERVICE_UNAVAILABLE


class Busy(HTTPException):
    """A costly computation of this kind is already running in this worker; retry later."""

    status_code = HTTP_503_SERVICE_UNAVAILABLE


_CODES = {
    400: "bad_request",
    401: "not_signed_in",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    503: "unavailable",
}

# What each refusal means for a client.
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (NotSignedIn, 401),
    (NotPermitted, 403),
    (NotFound, 404),
    (JamNotOpen, 409),
    (ConflictingState, 409),
    (ConcurrentUpdate, 409),
    (InvalidText, 422),
    (InvalidValue, 422),
    (InvalidSchedule, 422),
    (UnknownForum, 422),
    (IdempotencyKeyReused, 422),
)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    body: dict[str, Any] = {"error": _CODES.get(status, "error"), "detail": exc.detail}
    if isinstance(exc, ValidationException) or status == 400:
        # Input that cannot be understood is unprocessable, whatever part of it is wrong.
        status = 422
        body["error"] = "invalid"
        missing = _MISSING.match(exc.detail) if isinstance(exc.detail, str) else None
        if missing:
            source, key = missing.groups()
            body["detail"] = f"the {source} parameter {key!r} is required"
            body["fields"] = [{"key": key, "source": source, "message": body["detail"]}]
        elif isinstance(exc, ValidationException) and exc.extra:
            body["fields"] = _fields(exc.extra)
            if isinstance(exc.detail, str) and exc.detail.startswith(_LITESTARS):
                body["detail"] = _what_failed(request, body["fields"])
    # Also here: a path no route matches is answered before any route's middleware.
    headers = {**answered_headers(request.app), **(exc.headers or {})}
    if status == HTTP_503_SERVICE_UNAVAILABLE:
        headers.setdefault("Retry-After", "1")
    if status == 429:
        # The rate limiter says when its window resets; clients read Retry-After.
        headers.setdefault("Retry-After", headers.get("RateLimit-Reset", "60"))
    return Response(body, status_code=status, headers=headers)


# litestar's detail for inputs its validation refused: "Validation failed for GET
# /path?query", which repeats the whole query (a text of thousands of characters).
_LITESTARS = "Validation failed for "
NO_BODY = "the request needs a JSON body"
_TYPED_PARAM = re.compile(r"\{(\w+):[^}]*\}")


def refused_input(message: str, key: str, source: str) -> ValidationException:
    """A 422 for one query parameter or header (`source`: "query" or "header"), named in
    `fields` as litestar names the inputs its own validation refuses."""
    return ValidationException(message, extra=[{"key": key, "source": source, "message": message}])


# litestar's detail for a required parameter that is missing, with the whole query after it.
_MISSING = re.compile(r"^Missing required (\w+) parameter '([^']+)' for path ")


def _fields(extra: Any) -> Any:
    """Which inputs were refused, in words: a body missing altogether is said so (litestar
    reports it as the KeyError it met, `'data'`)."""
    if not isinstance(extra, list):
        return extra
    return [
        {**f, "message": NO_BODY}
        if isinstance(f, dict)
        and f.get("key") == "data"
        and f.get("source") == "body"
        and f.get("message") == "'data'"
        else f
        for f in extra
    ]


def _what_failed(request: Request[Any, Any, Any], fields: Any) -> str:
    """A short detail for refused inputs: the route, never the query it was given."""
    if isinstance(fields, list) and any(
        isinstance(f, dict) and f.get("message") == NO_BODY for f in fields
    ):
        return NO_BODY
    route = _TYPED_PARAM.sub(r"{\1}", request.scope.get("path_template") or request.url.path)
    return f"{_LITESTARS}{request.method} {route}"


def _refused(
    request: Request[Any, Any, Any], exc: DomainError | ApplicationError
) -> Response[dict[str, str]]:
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 422)
    return Response({"error": exc.code, "detail": str(exc)}, status_code=status)


log = logging.getLogger("openjam.errors")


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, str]]:
    # litestar logs unexpected errors only in debug mode: a fault must leave its trace.
    log.error(
        "unexpected error in %s %s",
        request.method,
        request.url.path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return Response(
        {"error": "internal", "detail": "something went wrong on our side; it has been logged"},
        status_code=500,
        headers=answered_headers(request.app),
    )


def _unavailable(
    request: Request[Any, Any, Any], exc: StoreUnavailable
) -> Response[dict[str, str]]:
    return Response(
        {"error": exc.code, "detail": str(exc)},
        status_code=HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "2"},
    )


class JamRequest(Request[Any, Any, Any]):
    """litestar's request, but a JSON body that is not UTF-8 (or is compressed), or nested
    deeper than the decoder goes, is the client's invalid input, not a UnicodeDecodeError
    or RecursionError of ours: any other one stays a fault."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except UnicodeDecodeError:
            raise ValidationException("the body is not UTF-8 text") from None
        except RecursionError:
            raise ValidationException("the JSON is nested too deeply") from None


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    HTTPException: _http_error,
    DomainError: _refused,
    ApplicationError: _refused,
    StoreUnavailable: _unavailable,
    Exception: _internal,
}
