"""What the OpenAPI description says that litestar cannot derive from the handlers.

Litestar documents a 400 with its own body for every operation that takes input; we never
send it (`ui/errors.py` answers unreadable input with 422, and every refusal with
`{error, detail}`). Here each operation gets the refusals it can answer with, from what it
is: signed or open to anyone, about a thing named in its path or not, a read or a write,
with a body or without. A handler's `opt` can add to that (`refuses`) or take away
(`never`); `csv` and `events` say what else a success can be, `pages` that it is a page
of a longer list (`X-Next-Cursor`). Writes also document the write limit's `RateLimit-*`
headers and the `Idempotency-Key` header they honour (`retry_key=False`: one that takes
none).

The render plugins below apply this once to the schema litestar builds, before it is served.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin

from ui.schemas import ErrorBody

ERROR_SCHEMA = "Error"
WRITES = frozenset({"post", "put", "patch", "delete"})

# What each refusal means, for the reader of the description.
MEANING: dict[int, str] = {
    401: "Not signed in: no session token or cookie, or it is no longer valid. Sign in again.",
    403: "Signed in, but not allowed: not invited to this jam, blocked, a role this"
    " operation is not for, or a write signed with the cookie that does not send JSON.",
    404: "No such jam, idea, comment or participant (or no such forum, where one is named).",
    409: "Refused by the present state: the jam is not open, the idea is hidden, an invite"
    " is used up, or something changed meanwhile. `error` says which.",
    413: "The body is larger than the API accepts.",
    415: "The body is not JSON (`Content-Type: application/json`).",
    422: "The input is not valid: `detail` says what, and `fields` which input when the"
    " body, query or a header could not be read. Also: an Idempotency-Key reused for a"
    " different request.",
    429: "Too many requests: on a write, more than the writes allowed a minute (the"
    " `RateLimit-*` headers say how many are left; a refused sign-in counts against the"
    " address); on a live stream or a search for similar ideas, more open at once than one"
    " person may have. Wait the `Retry-After` seconds.",
    503: "The event store does not answer, or the read models have not reached the log"
    " position asked for (`after`): retry after `Retry-After` seconds.",
}
RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}},
}
_NUMBER = {"schema": {"type": "integer"}}
RATE_LIMIT: dict[str, Any] = {
    "RateLimit-Policy": {
        "description": 'the write limit, e.g. "60; w=60": 60 writes a 60-second window',
        "schema": {"type": "string"},
    },
    "RateLimit-Limit": {"description": "writes allowed in the window", **_NUMBER},
    "RateLimit-Remaining": {"description": "writes left in this window", **_NUMBER},
    "RateLimit-Reset": {"description": "seconds until the window starts again", **_NUMBER},
}
NEXT_CURSOR: dict[str, Any] = {
    "X-Next-Cursor": {
        "description": "when the page is full: send it as `cursor` for the next page",
        "schema": {"type": "string"},
    }
}
IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retry safe: the same key from the same participant answers"
    " what the first request did and records nothing new (at most 200 characters, and at"
    " least 16 for signing in; a key reused for a different request is refused with 422).",
    "schema": {"type": "string", "maxLength": 200},
}


def refusals(method: str, path: str, operation: dict[str, Any], opt: dict[str, Any]) -> set[int]:
    """The error statuses an operation can answer with."""
    codes = {503}
    if operation.get("security") != [{}]:
        codes |= {401, 403}
    if "{" in path:
        codes.add(404)
    if method in WRITES:
        codes |= {409, 413, 422, 429}  # 422: also a reused Idempotency-Key; 413: by length
    if any(p["in"] != "path" for p in operation.get("parameters", ())):
        codes.add(422)  # an unreadable query or header (a path that does not parse is a 404)
    if "requestBody" in operation:
        codes |= {413, 422}
    return (codes | set(opt.get("refuses", ()))) - set(opt.get("never", ()))


def _handler_opts(app: Litestar) -> dict[tuple[str, str], dict[str, Any]]:
    opts: dict[tuple[str, str], dict[str, Any]] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            for method in getattr(handler, "http_methods", ()):
                opts[(route.path_format or "/", method.lower())] = handler.opt
    return opts


def describe(app: Litestar, schema: dict[str, Any]) -> dict[str, Any]:
    """Give `schema` (litestar's, as a dict) our refusals and headers; in place, once."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if ERROR_SCHEMA in components:
        return schema
    (body,), defs = msgspec.json.schema_components(
        [ErrorBody], ref_template="#/components/schemas/{name}"
    )
    components.update(defs)
    components[ERROR_SCHEMA] = components.pop(body["$ref"].rsplit("/", 1)[1])
    components[ERROR_SCHEMA]["title"] = ERROR_SCHEMA
    opts = _handler_opts(app)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            responses.pop("400", None)  # litestar's; never sent
            opt = opts.get((path, method), {})
            _answers(responses, opt)
            for code in sorted(refusals(method, path, operation, opt)):
                responses.setdefault(str(code), _refusal(code))
            if method in WRITES and path.startswith("/api/"):  # counted by the write limit
                for status, answer in responses.items():
                    if status[0] == "2" or status == "429":
                        answer["headers"] = {**answer.get("headers", {}), **RATE_LIMIT}
            parameters = operation.setdefault("parameters", [])
            takes_key = method in WRITES and path.startswith("/api/") and opt.get("retry_key", True)
            if takes_key:
                parameters.append(IDEMPOTENCY_KEY)
            if not parameters:
                del operation["parameters"]
    return schema


def _answers(responses: dict[str, Any], opt: dict[str, Any]) -> None:
    """What a handler's return type cannot say: a CSV file on request, or a live stream."""
    success = next((answer for status, answer in responses.items() if status[0] == "2"), None)
    if success is None:
        return
    if opt.get("pages"):
        success["headers"] = {**success.get("headers", {}), **NEXT_CURSOR}
    if opt.get("csv"):
        success.setdefault("content", {})["text/csv"] = {
            "schema": {"type": "string", "description": "UTF-8 with a byte-order mark"}
        }
    if opt.get("events"):
        success["description"] = "Server-Sent Events: each has the log position as its id"
        success["content"] = {"text/event-stream": {"schema": {"type": "string"}}}


def _refusal(code: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": MEANING[code],
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}
        },
    }
    if code in (429, 503):
        answer["headers"] = RETRY_AFTER
    return answer


class DescribedJson(JsonRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, describe(request.app, openapi_schema))


class DescribedYaml(YamlRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, describe(request.app, openapi_schema))
