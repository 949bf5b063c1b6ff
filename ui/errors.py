"""Errors as JSON: `{"error": code, "detail": message}` with a 4xx or 503 status."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE

from jam.errors import StoreUnavailable


class NotCaughtUp(HTTPException):
    """The read models have not yet reached the log position a reader asked for."""

    status_code = HTTP_503_SERVICE_UNAVAILABLE


_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 503: "unavailable"}


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"error": _CODES.get(exc.status_code, "error"), "detail": exc.detail}
    if isinstance(exc, ValidationException):
        body["error"] = "invalid"
        if exc.extra:
            body["fields"] = exc.extra
    headers = {"Retry-After": "1"} if exc.status_code == HTTP_503_SERVICE_UNAVAILABLE else None
    return Response(body, status_code=exc.status_code, headers=headers)


def _unavailable(
    request: Request[Any, Any, Any], exc: StoreUnavailable
) -> Response[dict[str, str]]:
    return Response(
        {"error": exc.code, "detail": str(exc)},
        status_code=HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "2"},
    )


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    HTTPException: _http_error,
    StoreUnavailable: _unavailable,
}
