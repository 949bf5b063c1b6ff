"""A form sent by a page's script is answered a redirect it can see, not one it follows.

The pages' script sends their forms with `fetch` and the OpenJam-Navigate header, so
that an answer leading back to the same page replaces it in the tab's history rather
than adding a step: Back then leaves a thread, instead of walking back through each
vote and comment sent from it. `fetch` follows a redirect by itself and would fetch the
page it leads to only to throw it away; for such a request a redirect is answered 200
with its target in OpenJam-Location, its cookies kept, for the script to go there.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send

ASKED = b"openjam-navigate"
LOCATION = b"openjam-location"
REDIRECTS = frozenset({301, 302, 303, 307, 308})  # not 304, which leads nowhere


def form_answers(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        asked = (
            scope["type"] == "http"
            and scope["method"] not in ("GET", "HEAD")  # a form's, never a page being read
            and any(k == ASKED for k, _ in scope["headers"])
        )
        if not asked:
            await app(scope, receive, send)
            return

        async def send_answer(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in REDIRECTS:
                headers = [
                    (LOCATION if k.lower() == b"location" else k, v)
                    for k, v in message.get("headers", [])
                ]
                message = {**message, "status": 200, "headers": headers}  # type: ignore[typeddict-item]
            await send(message)

        await app(scope, receive, send_answer)

    return middleware
