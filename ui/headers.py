"""The security headers every HTTP response carries: pages, errors, files and streams."""

from __future__ import annotations

from typing import Any

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
# Behind HTTPS (OPENJAM_SECURE_COOKIES): browsers come back over HTTPS only, for a year.
HSTS = {"Strict-Transport-Security": "max-age=31536000"}
_ENCODED_HEADERS = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
_ENCODED_HSTS = [(k.lower().encode(), v.encode()) for k, v in HSTS.items()]


def _secure_cookies(scope: Scope) -> bool:
    """OPENJAM_SECURE_COOKIES, as the app serving this request was started with."""
    services = getattr(scope["app"].state, "services", None)
    return services is not None and services.settings.secure_cookies


def answered_headers(app: Any) -> dict[str, str]:
    """The security headers for an answer made where no route's middleware runs (a path no
    route matches, a method no route takes): HSTS too with OPENJAM_SECURE_COOKIES."""
    services = getattr(app.state, "services", None)
    secure = services is not None and services.settings.secure_cookies
    return {**SECURITY_HEADERS, **HSTS} if secure else dict(SECURITY_HEADERS)


def secure_cookie(value: bytes) -> bytes:
    """A Set-Cookie header's value, marked Secure: the browser sends it over HTTPS only."""
    attributes = (part.strip().lower() for part in value.split(b";")[1:])
    return value if b"secure" in attributes else value + b"; Secure"


def security_headers(app: ASGIApp) -> ASGIApp:
    """Add the security headers to every HTTP response: pages, errors, files and streams;
    with OPENJAM_SECURE_COOKIES, HSTS too, and every cookie set is Secure."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        secure = _secure_cookies(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in _ENCODED_HEADERS if k not in present]
                if secure:
                    # Every cookie we set, whoever sets it (the session's, litestar's CSRF
                    # cookie), never travels over plain HTTP.
                    headers = [
                        (k, secure_cookie(v) if k.lower() == b"set-cookie" else v)
                        for k, v in headers
                    ]
                    headers += [(k, v) for k, v in _ENCODED_HSTS if k not in present]
                message = {**message, "headers": headers}  # type: ignore[typeddict-item]
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
