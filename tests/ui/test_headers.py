"""Behind HTTPS (OPENJAM_SECURE_COOKIES), cookies travel over HTTPS only and HSTS is sent;
the embedded demo, served over http://127.0.0.1, keeps its session without either."""

from __future__ import annotations

from uuid import uuid4

import pytest
from litestar.testing import TestClient

from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from tests.stories import open_jam
from ui.app import create_app
from ui.auth import SESSION_COOKIE
from ui.headers import secure_cookie

HSTS = "strict-transport-security"


def _csrf(client: TestClient) -> str:
    return client.get("/").text.split('name="_csrf_token" value="')[1].split('"')[0]


def _set_cookies(tmp_path, clock, *, secure: bool) -> dict[str, list[str]]:
    """Each way a cookie is set, and the Set-Cookie headers it answered with (and the HSTS
    header of a page, a read, an error, under "hsts")."""
    settings = Settings(data_dir=tmp_path / "var", secure_cookies=secure)
    app = JamApplication(settings, clock=clock)
    scene = open_jam(app, clock)
    codes = [uuid4().hex for _ in range(2)]
    for code in codes:
        app.handle(c.IssueInvite(code=code, role="participant", jam_id=scene.jam_id))
    # Production sits behind HTTPS; a browser sends a Secure cookie back over HTTPS only.
    base = "https://testserver.local" if secure else "http://testserver.local"
    seen: dict[str, list[str]] = {}
    try:
        with TestClient(create_app(settings, jam=app), base_url=base) as client:
            home = client.get("/")  # litestar's CSRF cookie, for the page's forms
            seen["csrf"] = home.headers.get_list("set-cookie")
            signed_in = client.post(
                "/signin",
                data={"invite_code": codes[0], "display_name": "Ada", "_csrf_token": _csrf(client)},
                follow_redirects=False,
            )
            assert signed_in.status_code in (302, 303), signed_in.text
            seen["page sign-in"] = signed_in.headers.get_list("set-cookie")
            signed_out = client.post(
                "/signout",
                data={"confirm": "yes", "_csrf_token": _csrf(client)},
                follow_redirects=False,
            )
            assert signed_out.status_code in (302, 303), signed_out.text
            seen["page sign-out"] = signed_out.headers.get_list("set-cookie")
            api = client.post("/api/session", json={"invite_code": codes[1], "display_name": "Bo"})
            assert api.status_code == 201, api.text
            seen["api sign-in"] = api.headers.get_list("set-cookie")
            token = api.json()["token"]
            gone = client.delete("/api/session", headers={"Authorization": f"Bearer {token}"})
            assert gone.status_code == 200, gone.text
            seen["api sign-out"] = gone.headers.get_list("set-cookie")
            refused = client.get(f"/api/jams/{scene.jam_id}/ideas")  # 401: not signed in
            # Answered before any route (no route has the path, or the method): HSTS too.
            unrouted = (client.get("/nowhere"), client.get("/api/nowhere"), client.patch("/"))
            seen["hsts"] = [
                r.headers.get(HSTS, "")
                for r in (home, api, refused, client.get("/health"), *unrouted)
            ]
    finally:
        app.close()
    return seen


def test_behind_https_every_cookie_is_secure_and_browsers_are_told_to_stay_on_https(
    tmp_path, clock
):
    seen = _set_cookies(tmp_path, clock, secure=True)
    assert seen.pop("hsts") == ["max-age=31536000"] * 7
    assert any("openjam_csrf=" in cookie for cookie in seen["csrf"])
    for way, cookies in seen.items():
        if way != "csrf":
            assert any(cookie.startswith(f"{SESSION_COOKIE}=") for cookie in cookies), way
        for cookie in cookies:
            assert "; Secure" in cookie, (way, cookie)
            assert "HttpOnly" in cookie, (way, cookie)


def test_the_demo_over_plain_http_keeps_its_cookies_and_sends_no_hsts(tmp_path, clock):
    seen = _set_cookies(tmp_path, clock, secure=False)
    assert seen.pop("hsts") == [""] * 7  # HSTS over http would lock a browser out of the demo
    for way, cookies in seen.items():
        assert cookies, way
        for cookie in cookies:
            assert "secure" not in cookie.lower(), (way, cookie)


@pytest.mark.parametrize(
    ("cookie", "marked"),
    [
        (b"a=1; Path=/", b"a=1; Path=/; Secure"),
        (b"a=1; Path=/; Secure", b"a=1; Path=/; Secure"),
        (b"a=1; secure; HttpOnly", b"a=1; secure; HttpOnly"),
        (b"secure=1; Path=/", b"secure=1; Path=/; Secure"),  # a cookie's name is no attribute
    ],
)
def test_a_cookie_is_marked_secure_once(cookie, marked):
    assert secure_cookie(cookie) == marked
