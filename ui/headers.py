"""The security headers every HTTP response carries: pages, errors, files and streams."""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {
    # No inline script anywhere, nothing from other origins, never inside a frame.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# For an answer that carries a secret (a session's token, invite or personal codes): no
# cache, shared or private, may keep it.
NO_STORE = {"Cache-Control": "no-store"}
_ENCODED_HEADERS = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]


def security_headers(app: ASGIApp) -> ASGIApp:
    """Add the security headers to every HTTP response: pages, errors, files and streams."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in _ENCODED_HEADERS if k not in present]
                message = {**message, "headers": headers}  # type: ignore[typeddict-item]
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
