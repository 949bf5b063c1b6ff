"""What every page's frame offers keyboard and screen-reader users."""

from __future__ import annotations

from litestar.testing import TestClient

from jam.application import JamApplication
from jam.settings import Settings
from tests.stories import open_jam
from ui.app import create_app
from ui.auth import SESSION_COOKIE, issue_token


def test_a_page_starts_with_a_way_past_the_header_whose_links_are_a_landmark(tmp_path, clock):
    app = JamApplication(Settings(data_dir=tmp_path / "var"), clock=clock)
    scene = open_jam(app, clock)
    ada = scene.join(name="Ada")
    with TestClient(create_app(app.settings, jam=app)) as client:
        client.cookies.set(SESSION_COOKIE, issue_token(client.app.state.secret, ada))
        page = client.get(f"/jams/{scene.jam_id}", params={"after": app.position()}).text
    app.close()
    body = page.split("<body>")[1]
    assert body.lstrip().startswith('<a class="skip" href="#main">Skip to the content</a>')
    header = body.split("<header")[1].split("</header>")[0]
    nav = header.split('<nav class="site" aria-label="Site">')[1].split("</nav>")[0]
    assert 'href="/me">My activity</a>' in nav
    assert '<main id="main" tabindex="-1">' in page
