"""Jam Central's schedule forms."""

from __future__ import annotations

import re

from litestar.testing import TestClient

from jam.application import JamApplication
from jam.settings import Settings
from tests.stories import open_jam
from ui.app import create_app
from ui.auth import SESSION_COOKIE, issue_token


def test_extending_and_closing_are_two_forms_each_named_and_keeping_what_was_typed(tmp_path, clock):
    # The close form's reason sat right under the extend button and read as the extension's;
    # a refused extension (an end not later than the current one) lost the date typed.
    app = JamApplication(Settings(data_dir=tmp_path / "var"), clock=clock)
    scene = open_jam(app, clock)
    with TestClient(create_app(app.settings, jam=app)) as client:
        client.cookies.set(SESSION_COOKIE, issue_token(client.app.state.secret, scene.organizer))
        page = client.get(f"/jams/{scene.jam_id}/central", params={"after": app.position()}).text
    app.close()
    schedule = page.split("<h2>Schedule</h2>")[1].split('<h2 id="forums">')[0]
    forms = re.findall(r"<form [^>]*>.*?</form>", schedule, re.S)
    assert len(forms) == 2
    extend, close = forms
    assert "<legend>Extend the jam</legend>" in extend
    assert 'name="ends_at"' in extend
    assert "<legend>Close the jam early</legend>" in close
    assert 'name="reason"' in close
    assert "I understand that a jam closed early cannot be reopened or extended" in close
    assert all(re.match(r"<form [^>]*\bdata-keep\b", form) for form in forms)


def test_the_organizers_reason_for_closing_early_is_shown_to_everyone(tmp_path, clock):
    from jam import commands as c

    app = JamApplication(Settings(data_dir=tmp_path / "var"), clock=clock)
    scene = open_jam(app, clock)
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    closed = app.handle(
        c.CloseJam(actor=scene.organizer, jam_id=scene.jam_id, reason="Wrapping up for the board")
    ).position
    with TestClient(create_app(app.settings, jam=app)) as client:
        client.cookies.set(SESSION_COOKIE, issue_token(client.app.state.secret, ada))
        for page in (f"/jams/{scene.jam_id}", f"/ideas/{idea}"):
            shown = client.get(page, params={"after": closed}).text
            assert "This jam was closed early: Wrapping up for the board." in shown, page
    app.close()
