"""Participants and organizers in a real browser: sign in, post, and see others live."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from tests.stories import open_jam
from tests.ui.harness import web_worker
from tests.ui.test_live import Now

pytestmark = pytest.mark.slow
SHOTS = os.environ.get("OPENJAM_SCREENSHOTS")  # a folder: save the README's screenshots there
CLOSED_NOTE = "Votes, comments and edits are taken while it is open."  # a thread, once closed


@contextmanager
def _served(tmp_path: Path, browser, env: dict[str, str], starts_in: timedelta = timedelta(0)):
    app = JamApplication(Settings(data_dir=tmp_path / "var"))
    scene = open_jam(app, Now(), starts_in=starts_in)
    with web_worker(tmp_path, env) as base:
        try:
            yield base, app, scene
        finally:
            # Pages left open keep their live streams open, and a server stopping waits
            # its whole grace period for those before it cuts them.
            for context in browser.contexts:
                context.close()
    app.close()


@pytest.fixture
def site(tmp_path, browser):
    with _served(tmp_path, browser, {}) as served:
        yield served


@pytest.fixture
def ending_site(tmp_path, browser):
    """A jam that started 72 hours ago less 20 seconds: it ends while a page is open. Its
    tests post and sign in first, then `_ends_soon` (an end can only be put later)."""
    started = -(timedelta(hours=72) - timedelta(seconds=20))
    with _served(tmp_path, browser, {}, starts_in=started) as served:
        yield served


def _ends_soon(app, scene, seconds: float = 8) -> None:
    """The ending jam ends at least `seconds` from now (by then its page is open, and sees
    it end), put later if the setup took long on a busy machine (extending reopens it)."""
    ends = datetime.now(UTC) + timedelta(seconds=seconds)
    if app.repository.get(scene.jam_id).ends_at < ends:
        app.handle(c.ExtendJam(actor=scene.organizer, jam_id=scene.jam_id, ends_at=ends))


def _invite(app, scene, role="participant", segment="employee") -> str:
    code = uuid4().hex[:12].upper()
    app.handle(c.IssueInvite(code=code, role=role, segment=segment, jam_id=scene.jam_id))
    return code


def _sign_in(browser, base: str, code: str, name: str, **context):
    page = browser.new_context(**context).new_page()
    page.goto(base + "/")
    page.get_by_label("Invite code").fill(code)
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/jams/**")
    return page


def test_a_participant_signs_in_and_posts_an_idea(browser, site):
    base, app, scene = site
    page = _sign_in(browser, base, _invite(app, scene), "Ada")
    page.get_by_label("Forum", exact=True).select_option("health")  # none is chosen for the reader
    page.get_by_label("Title").fill("Quiet rooms in every office")
    page.get_by_label("Your idea").fill("For focus work.\nBookable by the hour.")
    page.get_by_role("button", name="Post idea").click()
    page.wait_for_url(f"{base}/ideas/**")
    assert page.get_by_role("heading", name="Quiet rooms in every office").is_visible()
    page.goto(f"{base}/jams/{scene.jam_id}")
    assert page.get_by_role("link", name="Quiet rooms in every office").is_visible()


def test_an_open_thread_shows_a_new_comment_without_reloading(browser, site):
    base, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Four-day week")
    page = _sign_in(browser, base, _invite(app, scene, segment="client"), "Bea")
    page.goto(f"{base}/ideas/{idea}")
    page.evaluate("window.__same_page = true")
    app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Piloted in Lisbon"))
    page.get_by_text("Piloted in Lisbon").wait_for(timeout=10_000)
    assert page.evaluate("window.__same_page") is True  # updated in place, not reloaded
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/thread.png", full_page=True)


def test_an_idea_an_organizer_hides_disappears_live_for_participants(browser, site):
    base, app, scene = site
    ada = scene.join(name="Ada")
    spam = scene.post_idea(ada, title="Cheap watches here")
    scene.post_idea(ada, title="Bike sheds for all")
    participant = _sign_in(browser, base, _invite(app, scene), "Cy")
    assert participant.get_by_role("link", name="Cheap watches here").is_visible()
    organizer = _sign_in(browser, base, _invite(app, scene, role="organizer"), "Olga")
    organizer.goto(f"{base}/ideas/{spam}")
    organizer.get_by_label("Reason").fill("advertising")
    organizer.get_by_role("button", name="Hide idea").click()
    participant.get_by_role("link", name="Cheap watches here").wait_for(
        state="detached", timeout=10_000
    )
    assert participant.get_by_role("link", name="Bike sheds for all").is_visible()
    if SHOTS:
        organizer.goto(f"{base}/jams/{scene.jam_id}/central")
        organizer.get_by_role("heading", name="Jam Central").first.wait_for()
        organizer.screenshot(path=f"{SHOTS}/jam-central.png", full_page=True)


def test_new_ideas_wait_behind_a_banner_and_the_time_left_counts_down(browser, site):
    base, app, scene = site
    ada = scene.join(name="Ada")
    scene.post_idea(ada, title="First idea")
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    assert page.get_by_text("left.").first.is_visible()
    scene.post_idea(ada, title="Second idea")
    banner = page.get_by_role("button", name="1 new idea: show it")
    banner.wait_for(timeout=10_000)
    assert page.get_by_role("link", name="Second idea").count() == 0  # not until asked
    banner.click()
    page.get_by_role("link", name="Second idea").wait_for(timeout=10_000)
    # The banner it was on is gone: the keyboard focus goes to the new idea, not the top.
    assert "Second idea" in page.evaluate("document.activeElement.textContent")
    assert page.evaluate("document.activeElement.tagName") == "LI"


def test_a_topic_refresh_does_not_reveal_ideas_waiting_behind_the_banner(browser, quick_site):
    base, app, scene = quick_site
    ada = scene.join(name="Ada")
    scene.post_idea(ada, title="First idea")
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    # A second listener on the page's stream notes when the topics have been refreshed.
    page.evaluate(
        """url => {
            window.topicRefreshes = 0;
            window.topicStreamOpen = false;
            const stream = new EventSource(url);
            stream.onopen = () => { window.topicStreamOpen = true; };
            stream.addEventListener("updates", e => {
                if (JSON.parse(e.data).some(u => u.kind === "topics")) { window.topicRefreshes++; }
            });
        }""",
        page.locator("[data-live]").get_attribute("data-stream"),
    )
    deadline = time.monotonic() + 10  # a refresh announced before it listens would be missed
    while not page.evaluate("() => window.topicStreamOpen"):
        assert time.monotonic() < deadline, "the second stream never opened"
        page.wait_for_timeout(50)
    scene.post_idea(ada, title="Second idea")
    page.get_by_role("button", name="1 new idea: show it").wait_for(timeout=10_000)
    deadline = time.monotonic() + 15  # the page's CSP forbids wait_for_function's eval
    while page.evaluate("() => window.topicRefreshes") == 0:
        assert time.monotonic() < deadline, "the topics were never refreshed"
        page.wait_for_timeout(100)
    page.wait_for_timeout(500)  # time for a refresh of the list, were one coming
    assert page.get_by_role("link", name="Second idea").count() == 0


TOPICS = {
    "Solar panels on every office roof": "Cheaper power and a smaller footprint.",
    "Solar energy credits for employees": "Help people put solar panels at home.",
    "Wind and solar energy for the data centres": "Buy renewable energy for our servers.",
    "Smart lighting to cut office energy use": "Lights that switch off in empty rooms.",
    "Remote work from home two days a week": "Less commuting, more focus.",
    "Home office allowance for remote workers": "A desk and a chair for remote staff.",
    "Work from home Fridays for every team": "A quiet day at home to finish things.",
    "Remote work hubs close to home": "Desks near where remote people live.",
}


@pytest.fixture
def quick_site(tmp_path, browser):
    """A server whose topics refresh every second, so a test need not wait ten."""
    with _served(tmp_path, browser, {"OPENJAM_TOPIC_REFRESH_S": "1"}) as served:
        yield served


def test_similar_ideas_appear_while_typing_a_new_one(browser, quick_site):
    base, app, scene = quick_site
    ada = scene.join(name="Ada")
    for title, body in TOPICS.items():
        scene.post_idea(ada, title=title, body=body)
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    page.get_by_label("Title").press_sequentially("Solar panels on the roof", delay=20)
    page.get_by_text("Similar ideas already posted").wait_for(timeout=10_000)
    assert page.get_by_role("link", name="Solar panels on every office roof").count() >= 1
    # Cleared, the form offers nothing any more (the last answer no longer applies).
    page.get_by_label("Title").fill("")
    page.get_by_text("Similar ideas already posted").wait_for(state="hidden", timeout=10_000)
    # Text put back without typing (here: after a refusal, as after Back) is looked up too.
    page.get_by_label("Forum", exact=True).select_option("health")
    page.get_by_label("Title").fill("Solar panels on the roof")
    page.get_by_label("Your idea").fill("   ")  # refused: spaces alone
    page.get_by_role("button", name="Post idea").click()
    page.get_by_role("alert").get_by_text("The text must not be empty").wait_for(timeout=10_000)
    assert page.get_by_label("Title").input_value() == "Solar panels on the roof"
    page.get_by_text("Similar ideas already posted").wait_for(timeout=10_000)


def test_live_topics_appear_on_jam_central_without_reloading(browser, quick_site):
    base, app, scene = quick_site
    ada = scene.join(name="Ada")
    organizer = _sign_in(browser, base, _invite(app, scene, role="organizer"), "Olga")
    organizer.goto(f"{base}/jams/{scene.jam_id}/central")
    organizer.get_by_text("Topics appear once enough ideas have arrived").wait_for()
    organizer.evaluate("window.__same_page = true")
    for title, body in TOPICS.items():
        scene.post_idea(ada, title=title, body=body)
    organizer.locator("svg.map circle").first.wait_for(timeout=60_000)
    assert organizer.evaluate("window.__same_page") is True  # refreshed in place
    assert organizer.locator("svg.map circle").count() >= 2
    if SHOTS:
        organizer.screenshot(path=f"{SHOTS}/jam-central.png", full_page=True)


MORE_TOPICS = {
    "Healthy food in the canteen": "Salads and fruit every day.",
    "Vegetarian canteen menu every day": "A meal without meat for everyone.",
    "Cheaper canteen lunches for interns": "Food that interns can afford.",
    "Local food suppliers for the canteen": "Fresh food from nearby farms.",
}


def _options(page, select: str) -> list[str]:
    return page.locator(f"{select} option").evaluate_all("os => os.map(o => o.value)")


def test_the_forms_shaping_the_topics_follow_the_live_topics(browser, quick_site):
    base, app, scene = quick_site
    ada = scene.join(name="Ada")
    posted = {**TOPICS, **MORE_TOPICS}
    ideas = [scene.post_idea(ada, title=title, body=body) for title, body in posted.items()]
    page = _sign_in(browser, base, _invite(app, scene, role="organizer"), "Olga")
    central = f"{base}/jams/{scene.jam_id}/central"
    page.goto(central)
    page.locator("#merge-id").wait_for(timeout=20_000)  # two topics or more, live if need be
    page.evaluate("window.__same_page = true")
    # An update that changes nothing the forms show leaves them alone (an open list stays
    # open): a comment, once the topics have settled.
    forms, region = page.locator("#topic-forms"), page.locator("[data-live]")
    for _ in range(10):
        shown = forms.inner_html()
        page.locator("#rename-id").evaluate("el => { el.__untouched = true; }")
        swaps = int(region.get_attribute("data-swaps") or 0)
        app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=ideas[0], body="Yes"))
        deadline = time.monotonic() + 30  # the page's CSP forbids wait_for_function's eval
        while int(region.get_attribute("data-swaps") or 0) <= swaps:
            assert time.monotonic() < deadline, "the page was not updated"
            page.wait_for_timeout(100)
        if forms.inner_html() == shown:
            break
    else:
        pytest.fail("the topics never settled")
    assert page.locator("#rename-id").evaluate("el => el.__untouched === true")
    # Another organizer (or this one in another tab) splits a topic: its halves are offered
    # instead.
    before = _options(page, "#rename-id")
    other = page.context.new_page()
    other.goto(central)
    other.select_option("#pin-id", before[0])
    other.get_by_role("button", name="Split in two").click()
    other.get_by_text("The topic is split in two.").wait_for(timeout=10_000)
    deadline = time.monotonic() + 20  # the page's CSP forbids wait_for_function's eval
    while before[0] in _options(page, "#rename-id"):
        assert time.monotonic() < deadline, "the split topic was still offered"
        page.wait_for_timeout(100)
    assert len(set(_options(page, "#rename-id")) - set(before)) == 2  # its two halves
    # Topics come biggest first. Renaming the last one and about to pin the first, when the
    # first is merged into the second elsewhere: the merged topic, now the biggest, comes
    # first, the one chosen stays chosen, and the first is no longer offered.
    gone, into, *_, chosen = _options(page, "#rename-id")
    page.select_option("#rename-id", chosen)
    page.get_by_label("to", exact=True).fill("Clean energy")
    page.select_option("#pin-id", gone)
    other.goto(central)
    other.select_option("#merge-id", gone)
    other.select_option("#merge-into", into)
    other.get_by_role("button", name="Merge").click()
    other.get_by_text("The topics are merged.").wait_for(timeout=10_000)
    page.locator(f'#rename-id option[value="{gone}"]').wait_for(state="detached", timeout=20_000)
    assert _options(page, "#rename-id")[0] != chosen
    assert page.locator("#rename-id").input_value() == chosen
    assert page.get_by_label("to", exact=True).input_value() == "Clean energy"
    assert gone not in _options(page, "#pin-id")
    assert gone not in _options(page, "#merge-id") + _options(page, "#merge-into")
    assert page.evaluate("window.__same_page") is True  # followed in place
    page.get_by_role("button", name="Rename").click()
    page.get_by_text("The topic is renamed.").wait_for(timeout=10_000)


def test_the_tab_title_follows_a_live_edit_of_the_ideas_title(browser, site):
    base, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms", body="For focus work.")
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    page.goto(f"{base}/ideas/{idea}")
    assert page.title() == "Quiet rooms · OpenJam"
    app.handle(c.EditIdea(actor=ada, idea_id=idea, title="Bookable rooms", body="By the hour."))
    page.get_by_role("heading", name="Bookable rooms").wait_for(timeout=10_000)
    assert page.title() == "Bookable rooms · OpenJam"


def test_a_thread_hidden_while_open_says_so_and_stops_its_forms_keeping_the_text(browser, site):
    base, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Cheap watches here")
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    page.goto(f"{base}/ideas/{idea}")
    page.get_by_role("button", name="Support").click()
    page.get_by_text("Your vote: support it.").wait_for()
    page.get_by_label("Add a comment").fill("Half a thought")
    page.evaluate("window.__same_page = true")
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=idea, reason="advertising"))
    page.get_by_text("This idea was hidden by an organizer.").wait_for(timeout=10_000)
    assert page.evaluate("window.__same_page") is True  # told in place, not reloaded
    # What was typed stays to copy, as when the jam closes: read only, not greyed out.
    box = page.get_by_label("Add a comment")
    assert box.input_value() == "Half a thought"
    assert box.evaluate("el => el.readOnly") is True
    assert box.is_enabled()
    assert page.get_by_text("What you typed stays here for you to copy.").is_visible()
    assert page.get_by_role("button", name="Comment").is_disabled()
    assert page.get_by_role("button", name="Oppose").is_disabled()
    assert page.get_by_role("button", name="Sign out").is_enabled()  # the header's still works
    assert page.get_by_role("button", name="Withdraw vote").is_enabled()  # a vote still goes
    # Restored: the notice goes, and the forms work again without a reload.
    app.handle(c.RestoreIdea(actor=scene.organizer, idea_id=idea, reason="a real shop"))
    page.get_by_text("This idea was hidden by an organizer.").wait_for(
        state="detached", timeout=10_000
    )
    assert page.get_by_label("Add a comment").evaluate("el => el.readOnly") is False
    assert page.get_by_text("What you typed stays here for you to copy.").count() == 0
    assert page.get_by_role("button", name="Comment").is_enabled()
    assert page.evaluate("window.__same_page") is True


def test_ones_own_vote_shows_as_chosen_not_as_unavailable(browser, site):
    base, app, scene = site
    idea = scene.post_idea(scene.join(name="Ada"), title="Quiet rooms")
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    page.goto(f"{base}/ideas/{idea}")
    page.get_by_role("button", name="Support").click()
    page.get_by_text("Your vote: support it.").wait_for()
    chosen = page.get_by_role("button", name="Support")
    assert chosen.get_attribute("aria-pressed") == "true"
    assert chosen.is_enabled()  # in the keyboard's path, and not greyed out
    assert page.get_by_role("button", name="Oppose").get_attribute("aria-pressed") == "false"


def test_a_jam_ending_while_a_thread_is_open_stops_its_forms_keeping_the_text(browser, ending_site):
    base, app, scene = ending_site
    idea = scene.post_idea(scene.join(name="Ada"), title="Quiet rooms")
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    _ends_soon(app, scene)
    page.goto(f"{base}/ideas/{idea}")
    page.get_by_label("Add a comment").fill("Half a thought")
    page.get_by_text(CLOSED_NOTE).wait_for(timeout=40_000)
    box = page.get_by_label("Add a comment")
    assert box.input_value() == "Half a thought"  # kept, to copy
    assert box.evaluate("el => el.readOnly") is True
    assert page.get_by_role("button", name="Comment").is_disabled()
    assert page.get_by_role("button", name="Support").count() == 0  # the region, fresh


def test_the_idea_form_stops_when_the_jam_ends_and_works_again_once_it_is_extended(
    browser, ending_site
):
    base, app, scene = ending_site
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    _ends_soon(app, scene)
    page.get_by_label("Your idea").fill("Half a thought")
    page.get_by_text("Ideas are taken while it is open").wait_for(timeout=40_000)
    assert page.get_by_role("button", name="Post idea").is_disabled()
    later = datetime.now(UTC) + timedelta(hours=1)
    app.handle(c.ExtendJam(actor=scene.organizer, jam_id=scene.jam_id, ends_at=later))
    page.get_by_text("Ideas are taken while it is open").wait_for(state="detached", timeout=10_000)
    assert page.get_by_role("button", name="Post idea").is_enabled()
    assert page.get_by_label("Your idea").input_value() == "Half a thought"
    assert page.get_by_label("Your idea").evaluate("el => el.readOnly") is False


def test_an_open_thread_hears_of_its_jam_closing_an_alert_and_its_reader_blocked(browser, site):
    base, app, scene = site
    bea_code = _invite(app, scene)
    idea = scene.post_idea(scene.join(name="Ada"), title="Quiet rooms")
    page = _sign_in(browser, base, bea_code, "Bea")
    bea = page.evaluate("fetch('/api/me/activity').then(r => r.json())")["participant_id"]
    page.goto(f"{base}/ideas/{idea}")
    page.get_by_label("Add a comment").fill("Half a thought")
    app.handle(c.SendAlert(actor=scene.organizer, jam_id=scene.jam_id, message="Break at noon"))
    page.locator("[data-alert]", has_text="Break at noon").wait_for(timeout=10_000)
    # Said once, in the page's status; the banner, drawn again at each update, is not a
    # live region of its own (a screen reader might read it out at every vote).
    status = page.locator("[data-live-status]")
    assert status.inner_text() == "Alert from the organizers: Break at noon"
    assert page.locator("[data-alert]").get_attribute("role") is None
    app.handle(c.BlockParticipant(actor=scene.organizer, participant_id=UUID(bea), reason="x"))
    page.get_by_text("An organizer has blocked you").wait_for(timeout=10_000)
    assert page.get_by_label("Add a comment").evaluate("el => el.readOnly") is True
    # Another update of the thread: the notice stays as it is, not said again.
    page.evaluate("window.__notice = document.querySelector('p.notice[role=status]')")
    cy = scene.join(name="Cy")
    app.handle(c.CastVote(actor=cy, idea_id=idea, value=1))
    page.locator("[data-up]").filter(has_text="1").wait_for(timeout=10_000)
    assert page.evaluate("document.contains(window.__notice)") is True
    app.handle(c.UnblockParticipant(actor=scene.organizer, participant_id=UUID(bea), reason=""))
    page.get_by_text("An organizer has blocked you").wait_for(state="detached", timeout=10_000)
    assert page.get_by_label("Add a comment").evaluate("el => el.readOnly") is False
    app.handle(c.CloseJam(actor=scene.organizer, jam_id=scene.jam_id, reason="done"))
    page.get_by_text(CLOSED_NOTE).wait_for(timeout=10_000)
    assert page.get_by_label("Add a comment").input_value() == "Half a thought"
    assert page.get_by_role("button", name="Comment").is_disabled()


def test_a_comment_refused_because_the_jam_closed_is_given_back_to_copy(browser, site):
    base, app, scene = site
    idea = scene.post_idea(scene.join(name="Ada"), title="Quiet rooms")
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    page.route("**/stream**", lambda route: route.abort())  # the page will not hear of it
    page.goto(f"{base}/ideas/{idea}")
    page.get_by_label("Add a comment").fill("A long, careful reply")
    app.handle(c.CloseJam(actor=scene.organizer, jam_id=scene.jam_id, reason="done"))
    page.get_by_role("button", name="Comment").click()
    page.get_by_role("alert").wait_for(timeout=10_000)
    assert "closed" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Add a comment").count() == 0  # no form on the page now
    given = page.get_by_label("What you typed (body)")
    assert given.input_value() == "A long, careful reply"


def test_a_reply_being_typed_survives_a_comment_arriving_live(browser, site):
    base, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    first = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Yes!"))
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    page.goto(f"{base}/ideas/{idea}?after={first.position}")
    page.get_by_text("Reply").first.click()
    reply = page.locator(f"#reply-{first.id}")
    reply.fill("Half a thought")
    app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Arrived live"))
    page.get_by_text("Arrived live").wait_for(timeout=10_000)  # the thread was swapped
    assert reply.input_value() == "Half a thought"
    assert reply.is_visible()  # its reply form is still open


def test_a_comment_arriving_while_the_thread_is_being_fetched_is_shown_too(browser, site):
    base, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    url = f"{base}/ideas/{idea}"
    page.goto(url)

    def slow_fetch(route):
        # The page is fetched as it was before the second comment; that comment's update
        # reaches the page while the fetch is still on its way.
        response = route.fetch()
        app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Second"))
        time.sleep(2)
        route.fulfill(response=response)

    page.route(url, slow_fetch, times=1)
    app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="First"))
    page.get_by_text("First").wait_for(timeout=10_000)
    # Fetched again, once a slow server has had a rest: four times the 2 s that fetch took.
    page.get_by_text("Second").wait_for(timeout=20_000)


def test_a_stream_refused_by_the_server_is_opened_again_and_misses_nothing(browser, site):
    # A browser gives up an EventSource for good when the server answers with an error
    # (429: too many streams open; 503: restarting): the page opens it again itself.
    base, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    opened = []
    page.on("request", lambda r: "/stream" in r.url and opened.append(r.url))
    page.route(
        f"{base}/api/ideas/{idea}/stream*",
        lambda route: route.fulfill(status=429, headers={"Retry-After": "5"}, body="{}"),
        times=1,
    )
    page.goto(f"{base}/ideas/{idea}")
    app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="While away"))
    page.get_by_text("While away").wait_for(timeout=20_000)  # opened again 5 to 6.25 s later
    assert len(opened) >= 2


def test_what_was_typed_into_a_refused_form_comes_back_with_the_reason(browser, site):
    base, app, scene = site
    page = _sign_in(browser, base, _invite(app, scene), "Ada")
    page.get_by_label("Forum", exact=True).select_option("health")
    page.get_by_label("Title").fill("   ")  # the browser takes spaces as filled in
    page.get_by_label("Your idea").fill("A long, careful case for quiet rooms.")
    page.get_by_role("button", name="Post idea").click()
    page.get_by_role("alert").wait_for(timeout=10_000)
    said = page.get_by_role("alert").inner_text()
    assert "Title must not be empty (spaces alone do not count)" in said  # a sentence
    assert page.get_by_label("Your idea").input_value() == "A long, careful case for quiet rooms."
    # Said again at the form, which is brought into view (on a phone it is far below).
    assert "spaces alone do not count" in page.locator("form[data-keep] .notice").inner_text()
    top = page.evaluate("document.querySelector('form[data-keep]').getBoundingClientRect().top")
    assert 0 <= top < page.viewport_size["height"]
    # The field it names is marked, tied to the reason and holds the focus (it was a
    # hundred presses of Tab away); the page's title says a form was refused.
    title = page.get_by_label("Title")
    assert page.evaluate("document.activeElement.id") == title.get_attribute("id")
    assert title.get_attribute("aria-invalid") == "true"
    reason = page.locator("#" + title.get_attribute("aria-describedby"))
    assert "spaces alone do not count" in reason.inner_text()
    assert page.get_by_label("Your idea").get_attribute("aria-invalid") is None
    assert page.title().startswith("Error: ")
    title.press_sequentially("Q")
    assert title.get_attribute("aria-invalid") is None  # being put right
    assert "notice=" not in page.url  # said once: a reload does not say it again
    page.reload()
    assert page.get_by_role("alert").count() == 0
    page.get_by_label("Forum", exact=True).select_option("health")
    page.get_by_label("Title").fill("Quiet rooms")
    page.get_by_label("Your idea").fill("A long, careful case for quiet rooms.")
    page.get_by_role("button", name="Post idea").click()
    page.wait_for_url(f"{base}/ideas/**")
    page.goto(f"{base}/jams/{scene.jam_id}")
    assert page.get_by_label("Your idea").input_value() == ""  # posted: nothing kept


def test_a_live_update_leaves_the_keyboard_focus_where_it_was(browser, site):
    base, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    page.goto(f"{base}/ideas/{idea}")
    page.get_by_role("button", name="Oppose").focus()
    app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Arrived live"))
    page.get_by_text("Arrived live").wait_for(timeout=10_000)  # the thread was swapped
    assert page.evaluate("document.activeElement.textContent") == "Oppose"  # not the page top
    assert page.get_by_role("status").filter(has_text="The discussion was updated.").count() == 1


def test_the_new_ideas_banner_leads_to_them_from_another_view_and_goes_once_they_show(
    browser, site
):
    base, app, scene = site
    ada = scene.join(name="Ada")
    first = scene.post_idea(ada, title="First idea")
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    # On a view the new idea may not be in (top ideas), the banner leads to the newest.
    page.goto(f"{base}/jams/{scene.jam_id}?sort=top")
    scene.post_idea(ada, title="Second idea")
    elsewhere = page.get_by_role("button", name="1 new idea in the jam: see the newest")
    elsewhere.wait_for(timeout=10_000)
    elsewhere.click()
    page.wait_for_url(f"{base}/jams/{scene.jam_id}?sort=new")
    page.get_by_role("link", name="Second idea").wait_for(timeout=10_000)
    # On the newest ideas, a refresh for another reason shows the waiting idea: the banner
    # announcing it goes with it.
    scene.post_idea(ada, title="Third idea")
    banner = page.get_by_role("button", name="1 new idea: show it")
    banner.wait_for(timeout=10_000)
    app.handle(c.CastVote(actor=ada, idea_id=first, value=1))
    page.get_by_role("link", name="Third idea").wait_for(timeout=10_000)
    banner.wait_for(state="hidden", timeout=10_000)


def _refetches(page) -> list[str]:
    """The addresses of the page's live refreshes (its script fetching the page again), as
    they are asked for from now on."""
    refetches: list[str] = []
    page.on(
        "request",
        lambda r: r.resource_type == "fetch" and r.url == page.url and refetches.append(r.url),
    )
    return refetches


def test_a_burst_of_votes_refreshes_an_open_list_a_bounded_number_of_times(browser, site):
    # Thousands of pages are open on a busy jam: each refetching at every vote would keep
    # the server rendering them back to back. The page refetches a bounded number of times,
    # and still shows the last vote once the burst stops.
    base, app, scene = site
    idea = scene.post_idea(scene.join(name="Ada"), title="Quiet rooms")
    voters = [scene.join(name=f"Voter {n}") for n in range(30)]
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    page.goto(f"{base}/jams/{scene.jam_id}?after={app.position()}")
    refetches = _refetches(page)
    began = time.monotonic()
    for voter in voters:  # 30 votes over about 3 s (spaced to make the burst, not a wait)
        app.handle(c.CastVote(actor=voter, idea_id=idea, value=1))
        page.wait_for_timeout(100)
    burst = time.monotonic() - began
    page.locator("ol.ideas li", has_text="Quiet rooms").filter(has_text="▲30").wait_for(
        timeout=15_000
    )
    # The first at once, then one a second at most, the last a jittered gap (up to 1.25 s)
    # after the burst; fetched at each vote, it was about one per vote.
    assert len(refetches) <= 1 + burst + 1.25, (len(refetches), burst)


def test_a_top_list_keeps_its_order_under_the_reader_until_asked(browser, site):
    # Votes change the order of "top": the ideas stay where the reader saw them, with their
    # fresh counts, and a banner offers the new order.
    base, app, scene = site
    ada = scene.join(name="Ada")
    first = scene.post_idea(ada, title="Quiet rooms")
    second = scene.post_idea(ada, title="Bike racks")
    app.handle(c.CastVote(actor=ada, idea_id=first, value=1))
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    page.goto(f"{base}/jams/{scene.jam_id}?sort=top&after={app.position()}")
    titles = "Array.from(document.querySelectorAll('ol.ideas li a')).map(a => a.textContent)"
    assert page.evaluate(titles) == ["Quiet rooms", "Bike racks"]
    banner = page.get_by_role("button", name="The order has changed: show the new order")
    assert banner.is_hidden()
    for voter in (scene.join(name="Cy"), scene.join(name="Di")):
        app.handle(c.CastVote(actor=voter, idea_id=second, value=1))
    page.locator("ol.ideas li", has_text="Bike racks").filter(has_text="▲2").wait_for(
        timeout=15_000
    )
    assert page.evaluate(titles) == ["Quiet rooms", "Bike racks"]  # where they were
    banner.wait_for()
    banner.click()
    page.wait_for_function(f"{titles}[0] === 'Bike racks'")
    assert banner.is_hidden()
    # It had the focus: now the list's first idea has it, not the page as a whole.
    assert page.evaluate("document.activeElement.matches('ol.ideas li')")
    # The newest ideas have no such order: no banner.
    page.goto(f"{base}/jams/{scene.jam_id}?sort=new")
    assert page.locator("[data-order-banner]").count() == 0


def test_people_joining_do_not_have_an_open_list_fetch_itself_again(browser, site):
    # At a big jam's opening thousands join a minute, and a join changes no idea listed.
    base, app, scene = site
    idea = scene.post_idea(scene.join(name="Ada"), title="Quiet rooms")
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    page.goto(f"{base}/jams/{scene.jam_id}?after={app.position()}")
    refetches = _refetches(page)
    newcomers = [scene.join(name=f"Newcomer {n}") for n in range(3)]
    page.wait_for_timeout(1_500)  # a refetch for them would have begun by now
    app.handle(c.CastVote(actor=newcomers[0], idea_id=idea, value=1))
    page.locator("ol.ideas li", has_text="Quiet rooms").filter(has_text="▲1").wait_for(
        timeout=15_000
    )
    assert len(refetches) == 1, refetches  # the vote's


def test_jam_central_follows_the_schedule_another_organizer_changes(browser, site):
    base, app, scene = site
    page = _sign_in(browser, base, _invite(app, scene, role="organizer"), "Olga")
    page.goto(f"{base}/jams/{scene.jam_id}/central")
    page.get_by_label("Why close it now?").fill("Half a reason")
    later = app.repository.get(scene.jam_id).ends_at + timedelta(days=2)
    app.handle(c.ExtendJam(actor=scene.organizer, jam_id=scene.jam_id, ends_at=later))
    page.get_by_text(f"ends {later:%Y-%m-%d %H:%M} UTC").wait_for(timeout=15_000)
    assert page.get_by_label("Why close it now?").input_value() == "Half a reason"  # typed
    app.handle(c.CloseJam(actor=scene.organizer, jam_id=scene.jam_id, reason="Done"))
    page.get_by_text("Closed early: a jam closed early cannot be").wait_for(timeout=15_000)
    assert page.get_by_role("button", name="Close the jam now").count() == 0
    assert page.get_by_role("button", name="Extend the jam").count() == 0


def test_a_reply_refused_after_a_live_update_comes_back_with_the_reason(browser, site):
    base, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    first = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Yes!"))
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    page.goto(f"{base}/ideas/{idea}?after={first.position}")
    app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Arrived live"))
    page.get_by_text("Arrived live").wait_for(timeout=10_000)  # its reply forms are new
    page.get_by_text("Reply").first.click()
    page.locator(f"#reply-{first.id}").fill("   ")  # spaces: refused
    page.locator(f"#reply-{first.id}").press("Tab")
    page.get_by_role("button", name="Reply").first.click()
    page.get_by_role("alert").wait_for(timeout=10_000)
    assert page.locator(f"#reply-{first.id}").is_visible()  # its form open again
    assert page.locator(f"#reply-{first.id}").input_value() == "   "


def test_the_time_left_counts_a_minute_begun_as_open(browser, site):
    base, app, _ = site
    ending = open_jam(app, Now(), starts_in=timedelta(seconds=50) - timedelta(hours=72))
    page = _sign_in(browser, base, _invite(app, ending), "Bea")
    page.wait_for_function("document.querySelector('[data-deadline]') !== null")
    said = page.locator("[data-deadline]").inner_text()
    assert "1 min" in said  # 50 s left: not yet "closed", which it is not
    assert "closed" not in said


def test_text_refused_by_an_error_page_comes_back_on_the_form_page(browser, site):
    # Too many writes answers with an error page, not the form's page: the text waited
    # for the page the reader went back to.
    base, app, scene = site
    page = _sign_in(browser, base, _invite(app, scene), "Ada")
    jam = f"{base}/jams/{scene.jam_id}"
    error_page = (
        '<!doctype html><html><head><script src="/static/live.js" defer></script></head>'
        '<body><main><p class="notice" role="alert" data-error="429">Too many writes</p>'
        f'<a href="{jam}">Go back</a></main></body></html>'
    )
    page.route(
        f"{jam}/ideas",
        lambda route: route.fulfill(status=429, body=error_page, content_type="text/html"),
        times=1,
    )
    page.get_by_label("Forum", exact=True).select_option("health")
    page.get_by_label("Title").fill("Quiet rooms")
    page.get_by_label("Your idea").fill("A long, careful case for quiet rooms.")
    page.get_by_role("button", name="Post idea").click()
    page.get_by_text("Too many writes").wait_for(timeout=10_000)
    page.get_by_role("link", name="Go back").click()
    page.wait_for_url(jam)
    page.wait_for_function("document.getElementById('body').value !== ''")
    assert page.get_by_label("Your idea").input_value() == "A long, careful case for quiet rooms."
    assert page.get_by_label("Title").input_value() == "Quiet rooms"
    page.reload()  # put back once only
    assert page.get_by_label("Your idea").input_value() == ""


def _whoami(page) -> UUID:
    return UUID(page.evaluate("fetch('/api/me/activity').then(r => r.json())")["participant_id"])


def test_a_reply_being_typed_stays_to_copy_when_the_reader_is_blocked_or_the_jam_closes(
    browser, site
):
    base, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    first = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Yes!"))
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    bea = _whoami(page)
    page.goto(f"{base}/ideas/{idea}?after={first.position}")
    page.get_by_text("Reply").first.click()
    reply = page.locator(f"#reply-{first.id}")
    reply.fill("Half a reply")
    kept = page.locator(f"#c-{first.id} .notice")
    app.handle(c.BlockParticipant(actor=scene.organizer, participant_id=bea, reason="x"))
    kept.wait_for(timeout=10_000)  # the fresh copy has no reply forms: this one stays
    assert "What you typed stays here for you to copy." in kept.inner_text()
    assert reply.is_visible()
    assert reply.input_value() == "Half a reply"
    assert reply.evaluate("el => el.readOnly") is True
    assert page.locator(f"#c-{first.id}").get_by_role("button", name="Reply").is_disabled()
    app.handle(c.UnblockParticipant(actor=scene.organizer, participant_id=bea, reason=""))
    kept.wait_for(state="detached", timeout=10_000)  # its form offered again: the text there
    assert reply.input_value() == "Half a reply"
    assert reply.evaluate("el => el.readOnly") is False
    app.handle(c.CloseJam(actor=scene.organizer, jam_id=scene.jam_id, reason="done"))
    kept.wait_for(timeout=10_000)
    assert CLOSED_NOTE in kept.inner_text()
    assert reply.input_value() == "Half a reply"
    assert reply.evaluate("el => el.readOnly") is True


def test_a_page_loaded_while_blocked_offers_its_forms_once_the_reader_is_unblocked(browser, site):
    base, app, scene = site
    idea = scene.post_idea(scene.join(name="Ada"), title="Quiet rooms")
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    bea = _whoami(page)
    blocked = page.get_by_text("An organizer has blocked you")
    for path, form in ((f"/ideas/{idea}", "Add a comment"), (f"/jams/{scene.jam_id}", "Title")):
        app.handle(c.BlockParticipant(actor=scene.organizer, participant_id=bea, reason="x"))
        page.goto(f"{base}{path}?after={app.position()}")
        assert blocked.is_visible()
        assert page.get_by_label(form).is_hidden()
        # Another update, the reader still blocked: said once, as it was.
        app.handle(c.CastVote(actor=scene.join(), idea_id=idea, value=1))
        page.wait_for_function("() => document.querySelector('[data-live-status]').textContent")
        assert blocked.count() == 1
        assert page.get_by_label(form).is_hidden()
        app.handle(c.UnblockParticipant(actor=scene.organizer, participant_id=bea, reason=""))
        blocked.wait_for(state="detached", timeout=10_000)
        assert page.get_by_label(form).is_visible(), path
        assert page.get_by_label(form).is_editable(), path
    assert page.get_by_role("link", name="Post an idea ↓").is_visible()


def test_a_comment_being_typed_survives_a_vote_and_is_not_brought_back_once_posted(browser, site):
    base, app, scene = site
    idea = scene.post_idea(scene.join(name="Ada"), title="Quiet rooms")
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    page.goto(f"{base}/ideas/{idea}")
    box = page.get_by_label("Add a comment")
    box.fill("Half a thought")
    page.get_by_role("button", name="Support").click()
    page.get_by_text("Your vote: support it.").wait_for()
    assert box.input_value() == "Half a thought"  # the vote's page, the draft put back
    page.get_by_role("button", name="Comment").click()
    page.locator("ul.comments p", has_text="Half a thought").wait_for(timeout=10_000)
    assert box.input_value() == ""  # posted: not brought back
    page.get_by_role("button", name="Oppose").click()
    page.get_by_text("Your vote: oppose it.").wait_for()
    assert box.input_value() == ""


def test_back_leaves_a_thread_however_many_forms_were_sent_from_it(browser, site):
    # Each vote and comment comes back to the thread; none is a step of the tab's history.
    base, app, scene = site
    idea = scene.post_idea(scene.join(name="Ada"), title="Quiet rooms")
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    jam = page.url
    page.get_by_role("link", name="Quiet rooms").click()
    page.wait_for_url(f"{base}/ideas/{idea}")
    page.get_by_role("button", name="Support").click()
    page.get_by_text("Your vote: support it.").wait_for()
    for said in ("First thought", "Second thought"):
        page.get_by_label("Add a comment").fill(said)
        page.get_by_role("button", name="Comment").click()
        page.locator("ul.comments p", has_text=said).wait_for(timeout=10_000)
    page.get_by_role("button", name="Oppose").click()
    page.get_by_text("Your vote: oppose it.").wait_for()
    # The same vote again comes back to the very address shown: loaded again all the same
    # (going there would only scroll), not a form left waiting.
    with page.expect_event("load"):
        page.get_by_role("button", name="Oppose").click()
    assert page.locator("form[aria-busy]").count() == 0
    assert page.evaluate("history.length") == 3  # the sign-in page, the jam, the thread
    page.go_back()
    page.wait_for_url(jam)
    # A refusal as an error page is written over the thread, a step of the history at the
    # thread's address (a reload reads the thread, not the form's address, which has no
    # page), and Back from it is the thread again, with what was typed given back.
    thread = f"{base}/ideas/{idea}"
    page.goto(thread)  # a step again: the history holds the sign-in page, the jam, the thread
    error_page = (
        '<!doctype html><html><head><script src="/static/live.js" defer></script></head>'
        '<body><a href="#main">Skip to the content</a><main id="main">'
        '<p class="notice" role="alert" data-error="429">Too many writes</p></main></body></html>'
    )
    page.route(
        f"{base}/ideas/{idea}/comments",
        lambda route: route.fulfill(status=429, body=error_page, content_type="text/html"),
        times=1,
    )
    page.get_by_label("Add a comment").fill("Third thought")
    page.get_by_role("button", name="Comment").click()
    page.get_by_text("Too many writes").wait_for(timeout=10_000)
    assert page.url == thread
    assert page.evaluate("history.length") == 4
    # The thread written over neither hears its stream nor fetches itself again, and a link
    # to a part of the answer is not a step to go back from.
    fetched = []
    page.on("request", lambda r: r.method == "GET" and fetched.append(r.url))
    app.handle(c.PostComment(actor=scene.join(), comment_id=uuid4(), idea_id=idea, body="Hi"))
    page.evaluate("window.stillTheAnswer = true")
    page.get_by_role("link", name="Skip to the content").click()
    page.wait_for_timeout(2_000)
    assert page.evaluate("window.stillTheAnswer")
    assert page.evaluate("history.length") == 4
    assert page.get_by_text("Too many writes").is_visible()
    assert fetched == [], fetched
    page.go_back()
    page.wait_for_url(thread)  # at once (the address); the thread is then loaded again
    page.wait_for_function("(document.querySelector('textarea[name=body]') || {}).value")
    assert page.get_by_label("Add a comment").input_value() == "Third thought"


def test_a_comments_line_breaks_are_kept(browser, site):
    base, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    body = "Two things:\nquiet rooms\nbookable by the hour"
    app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body=body))
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    page.goto(f"{base}/ideas/{idea}?after={app.position()}")
    assert page.locator("ul.comments p").first.inner_text() == body


def test_a_thread_with_a_vote_fits_a_phone_screen(browser, site):
    base, app, scene = site
    idea = scene.post_idea(scene.join(name="Ada"), title="Quiet rooms")
    phone = {"viewport": {"width": 390, "height": 844}}
    # The longest name a participant may take, in one word: shown in every page's header.
    page = _sign_in(browser, base, _invite(app, scene), "M" * 60, **phone)
    page.goto(f"{base}/ideas/{idea}")
    page.get_by_role("button", name="Support").click()
    page.get_by_role("button", name="Withdraw vote").wait_for()
    for path in (f"/ideas/{idea}", "/me", f"/jams/{scene.jam_id}"):
        if path != f"/ideas/{idea}":
            page.goto(base + path)
        wide = page.evaluate("document.scrollingElement.scrollWidth")
        # Nothing cut off, no sideways scroll.
        assert wide <= page.evaluate("window.innerWidth"), path


def test_a_name_of_spaces_is_refused_once_on_the_sign_in_page(browser, site):
    base, app, scene = site
    page = browser.new_context().new_page()
    page.goto(base + "/")
    page.get_by_label("Invite code").fill(_invite(app, scene))
    page.get_by_label("Your name").fill("   ")  # the browser takes spaces as filled in
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").wait_for(timeout=10_000)
    said = page.get_by_role("alert").inner_text()
    assert page.locator("main").inner_text().count(said) == 1  # not again at the form below
    assert page.get_by_label("Your name").input_value() == "   "  # what was typed, back
    named = page.get_by_label("Your name")  # said of the name: marked and tied to the notice
    assert named.get_attribute("aria-invalid") == "true"
    assert page.locator("#" + named.get_attribute("aria-describedby")).inner_text() == said
    assert page.evaluate("document.activeElement.name") == "display_name"


def test_an_author_edits_their_idea_and_a_refused_edit_keeps_what_was_typed(browser, site):
    base, app, scene = site
    page = _sign_in(browser, base, _invite(app, scene), "Ada")
    idea = scene.post_idea(_whoami(page), title="Quiet rooms", body="For focus work.")
    page.goto(f"{base}/ideas/{idea}?after={app.position()}")
    page.get_by_text("Edit your idea").click()
    title, body = page.get_by_label("Title"), page.get_by_label("Your idea")
    assert (title.input_value(), body.input_value()) == ("Quiet rooms", "For focus work.")
    title.fill("   ")  # the browser takes spaces as filled in
    body.fill("For focus work.\nBookable by the hour.")
    body.evaluate("el => el.setSelectionRange(4, 4)")  # the cursor mid-text, as when editing
    # A comment arriving live while the edit is typed: the typing stays, the cursor too.
    app.handle(c.PostComment(actor=scene.join(), comment_id=uuid4(), idea_id=idea, body="Yes"))
    page.locator("ul.comments p", has_text="Yes").wait_for(timeout=10_000)
    assert body.input_value() == "For focus work.\nBookable by the hour."
    assert body.evaluate("el => [el.selectionStart, el.selectionEnd]") == [4, 4]
    page.locator("#edit-idea").get_by_role("button", name="Save").click()
    page.get_by_role("alert").wait_for(timeout=10_000)
    assert "Title must not be empty" in page.get_by_role("alert").inner_text()
    # What was typed comes back over the text the page fills in, its form open.
    assert title.is_visible()
    assert title.input_value() == "   "
    assert body.input_value() == "For focus work.\nBookable by the hour."
    title.fill("Quiet rooms, bookable")
    page.locator("#edit-idea").get_by_role("button", name="Save").click()
    page.get_by_role("heading", name="Quiet rooms, bookable").wait_for(timeout=10_000)
    assert "· edited" in page.locator("main").inner_text()
    assert page.locator(".body-text").first.inner_text() == "For focus work.\nBookable by the hour."
    assert title.is_hidden()  # folded away again, now filled in with the new text
    assert title.input_value() == "Quiet rooms, bookable"


def test_an_edit_being_typed_survives_a_vote_and_stays_to_copy_when_the_jam_closes(browser, site):
    base, app, scene = site
    page = _sign_in(browser, base, _invite(app, scene), "Ada")
    ada = _whoami(page)
    idea = scene.post_idea(ada, title="Quiet rooms", body="For focus work.")
    said = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Yes"))
    page.goto(f"{base}/ideas/{idea}?after={app.position()}")
    # Not being typed: an edit made elsewhere shows in the form, not the old text.
    app.handle(c.EditIdea(actor=ada, idea_id=idea, title="Quiet rooms", body="Bookable."))
    page.locator(".body-text", has_text="Bookable.").wait_for(timeout=10_000)
    assert page.get_by_label("Your idea").input_value() == "Bookable."
    page.locator(f"#c-{said.id}").get_by_text("Edit").click()
    box = page.locator(f"#edit-{said.id}")
    box.fill("Yes, and bookable")
    page.get_by_role("button", name="Support").click()
    page.get_by_text("Your vote: support it.").wait_for()
    assert box.is_visible()  # its form opened again, the draft put back
    assert box.input_value() == "Yes, and bookable"
    page.get_by_text("Edit your idea").click()
    page.get_by_label("Your idea").fill("Bookable by the hour.")
    app.handle(c.CloseJam(actor=scene.organizer, jam_id=scene.jam_id, reason="done"))
    kept = page.locator("#edit-idea .notice")
    kept.wait_for(timeout=10_000)  # the fresh copy offers no edit: this one stays
    assert "What you typed stays here for you to copy." in kept.inner_text()
    assert CLOSED_NOTE in kept.inner_text()
    assert page.get_by_label("Your idea").input_value() == "Bookable by the hour."
    assert page.get_by_label("Your idea").evaluate("el => el.readOnly") is True
    assert page.locator("#edit-idea").get_by_role("button", name="Save").is_disabled()
    assert box.input_value() == "Yes, and bookable"  # the comment's edit too
    assert box.evaluate("el => el.readOnly") is True


def test_back_after_signing_out_from_the_personal_code_page_sends_no_form_again(browser, site):
    base, app, scene = site
    page = _sign_in(browser, base, _invite(app, scene), "Ada")
    page.get_by_role("button", name="Sign out").click()  # no code yet: asked first
    page.wait_for_url(f"{base}/signout")
    page.get_by_role("button", name="Make my personal code first").click()
    page.get_by_role("heading", name="Your personal code").wait_for()
    page.get_by_role("button", name="Sign out now").click()
    page.wait_for_url(f"{base}/?**")
    page.get_by_text("You are signed out.").wait_for()
    # Back: the page before the code (asked again, signed out: the home page), never the
    # browser's "Confirm Form Resubmission" for the code's POST.
    page.go_back()
    page.wait_for_load_state()
    assert page.url.startswith(base + "/"), page.url
    assert page.get_by_label("Invite code").is_visible()
    assert page.get_by_role("heading", name="Your personal code").count() == 0
    page.go_back()  # "Before you sign out" was a GET too
    page.wait_for_load_state()
    assert page.url.startswith(base + "/"), page.url


def _shown_reloading(page, locator, seconds: float = 90) -> None:
    """Wait for `locator`, reading the page again every 5 s meanwhile. The first topics
    announced between a page's rendering and its stream's start are not sent to it again
    (topic notices are live only), so a page opened just then waits for the next change."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + seconds
    while True:
        try:
            locator.wait_for(timeout=5_000)
            return
        except PlaywrightTimeout:
            assert time.monotonic() < deadline, "never shown"
            page.reload()


def test_the_topic_maps_labels_stay_readable_on_a_phone(browser, quick_site):
    base, app, scene = quick_site
    ada = scene.join(name="Ada")
    for title, body in TOPICS.items():
        scene.post_idea(ada, title=title, body=body)
    phone = {"viewport": {"width": 390, "height": 844}}
    page = _sign_in(browser, base, _invite(app, scene, role="organizer"), "Olga", **phone)
    page.goto(f"{base}/jams/{scene.jam_id}/central")
    _shown_reloading(page, page.locator("svg.map circle").first)
    # Each label as shown: its font size times the scale the map is drawn at.
    sizes = """() => [...document.querySelectorAll("svg.map text, ol.map-key li")]
        .filter(el => el.getClientRects().length > 0)
        .map(el => {
            const scale = el.getScreenCTM ? el.getScreenCTM().a : 1;
            return [el.textContent.trim(), parseFloat(getComputedStyle(el).fontSize) * scale];
        })"""
    shown = page.evaluate(sizes)
    circles = page.locator("svg.map circle").count()
    assert len(shown) == 2 * circles  # a number in each circle, and its label in the list
    small = [(text, round(px, 1)) for text, px in shown if px < 11]
    assert not small, small
    # A number wider than its small circle keeps a rim of the page's colour around it.
    rims = page.locator("svg.map text.num").evaluate_all(
        "els => els.map(el => { const s = getComputedStyle(el);"
        " return [s.paintOrder, s.stroke, parseFloat(s.strokeWidth)]; })"
    )
    assert all(
        order.startswith("stroke") and colour == "rgb(255, 255, 255)" and width >= 2
        for order, colour, width in rims
    ), rims
    labels = page.locator("ol.map-key li").all_inner_texts()
    assert len(labels) == circles
    assert all(labels)
    # A topic named at the length allowed: the forms choosing topics still fit the phone.
    first = page.locator("#rename-id option").first.get_attribute("value")
    long_name = "Health, care and families " * 3
    app.handle(
        c.RenameCluster(
            actor=scene.organizer, jam_id=scene.jam_id, cluster_id=first, label=long_name[:80]
        )
    )
    # Named at the next refresh, which the page follows live.
    renamed = page.locator("#rename-id option", has_text="Health, care and families")
    renamed.wait_for(state="attached", timeout=20_000)
    wide = page.evaluate("document.scrollingElement.scrollWidth")
    assert wide <= page.evaluate("window.innerWidth")  # no sideways scroll
    page.set_viewport_size({"width": 1024, "height": 800})  # room for the labels in the map
    assert page.locator("ol.map-key").is_hidden()
    assert page.locator("svg.map text.label").first.is_visible()


def test_jam_centrals_topics_are_cards_on_a_phone_with_every_part_shown(browser, quick_site):
    base, app, scene = quick_site
    ada, bea = scene.join(name="Ada"), scene.join(name="Bea", segment="client")
    for n, (title, body) in enumerate(TOPICS.items()):
        scene.post_idea(bea if n % 3 == 0 else ada, title=title, body=body)
    phone = {"viewport": {"width": 390, "height": 844}}
    page = _sign_in(browser, base, _invite(app, scene, role="organizer"), "Olga", **phone)
    page.goto(f"{base}/jams/{scene.jam_id}/central")
    table = page.locator("table", has=page.get_by_role("columnheader", name="Key terms"))
    rows = table.locator("tbody tr")
    _shown_reloading(page, rows.first)
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width  # no sideways scroll
    # Every part of each topic is on the screen's width, none scrolled off to the right.
    parts = rows.first.locator("td").evaluate_all(
        "tds => tds.map(td => { const r = td.getBoundingClientRect();"
        " return [td.innerText.trim(), r.left, r.right, r.height]; })"
    )
    assert len(parts) == 6
    assert all(left >= 0 and right <= width for _, left, right, _ in parts), parts
    terms, ideas = parts[4][0], parts[5][0]
    assert terms.startswith("Key terms:")
    assert len(terms) > len("Key terms:")
    assert ideas.startswith("Representative ideas:")
    assert rows.first.get_by_text("Key terms:").is_visible()
    assert table.evaluate("t => t.parentElement.scrollWidth - t.parentElement.clientWidth") <= 0
    # The segment mix: its counts in words, and a white gap between neighbouring segments.
    counts = table.locator(".mix-counts").all_inner_texts()
    assert any("client" in c and "employee" in c for c in counts), counts
    mixed = page.locator("svg.mix", has=page.locator("rect:nth-of-type(2)")).first
    edges = mixed.locator("rect").evaluate_all(
        "rs => rs.map(r => [r.x.baseVal.value, r.x.baseVal.value + r.width.baseVal.value])"
    )
    assert all(later[0] - earlier[1] >= 1.5 for earlier, later in pairwise(edges)), edges
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/central-phone.png", full_page=True)


def test_the_shortlist_follows_the_ranking_without_reloading(browser, quick_site):
    base, app, scene = quick_site
    ada = scene.join(name="Ada")
    scene.post_idea(ada, title="Rooftop gardens")
    leader = _sign_in(browser, base, _invite(app, scene, role="leader"), "Lee")
    leader.goto(f"{base}/jams/{scene.jam_id}/leadership?after={app.position()}")
    leader.get_by_role("link", name="Rooftop gardens").first.wait_for(timeout=20_000)
    leader.evaluate("window.__same_page = true")
    leader.get_by_text("How each idea's score is computed").click()  # a fold the reader opened
    scene.post_idea(ada, title="Bike sheds for all")
    # Ranked at the next refresh (every second here), which the page's stream announces.
    leader.get_by_role("link", name="Bike sheds for all").first.wait_for(timeout=20_000)
    assert leader.evaluate("window.__same_page") is True  # not reloaded
    assert leader.locator("details.score-help").evaluate("d => d.open")  # still open


def test_an_author_sees_their_idea_hidden_live_read_only_with_the_reason(browser, site):
    base, app, scene = site
    page = _sign_in(browser, base, _invite(app, scene), "Ada")
    idea = scene.post_idea(_whoami(page), title="Cheap watches here")
    said = app.handle(
        c.PostComment(actor=scene.join(), comment_id=uuid4(), idea_id=idea, body="Hm")
    )
    page.goto(f"{base}/ideas/{idea}?after={said.position}")
    assert page.get_by_text("Edit your idea").is_visible()
    page.evaluate("window.__same_page = true")
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=idea, reason="advertising"))
    hidden = page.get_by_text("An organizer hid your idea: advertising.")
    hidden.wait_for(timeout=10_000)
    assert page.evaluate("window.__same_page") is True
    # Read only: the thread stays, its forms go (or, outside the live part, stop).
    assert page.get_by_text("Hm", exact=True).is_visible()
    for gone in ("Edit your idea", "Reply"):
        assert page.get_by_text(gone, exact=True).count() == 0, gone
    assert page.get_by_role("button", name="Support").count() == 0
    assert page.get_by_role("button", name="Comment").is_disabled()
    assert page.get_by_text("It takes no votes, comments or edits", exact=False).count() == 1
    # Nothing was typed: nothing is said to be kept for copying.
    assert page.get_by_text("What you typed stays here", exact=False).count() == 0
    app.handle(c.RestoreIdea(actor=scene.organizer, idea_id=idea, reason="a real shop"))
    hidden.wait_for(state="detached", timeout=10_000)
    assert page.get_by_role("button", name="Comment").is_enabled()
    assert page.get_by_text("Edit your idea").is_visible()
    # Reloaded while hidden, it opens read only rather than as a 404.
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=idea, reason="advertising"))
    page.goto(f"{base}/ideas/{idea}?after={app.position()}")
    assert hidden.is_visible()
    assert page.get_by_label("Add a comment").count() == 0


def test_toggles_whose_forms_take_nothing_no_longer_look_pressable(browser, site):
    base, app, scene = site
    idea = scene.post_idea(scene.join(name="Ada"), title="Quiet rooms")
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    bea = _whoami(page)
    mine = app.handle(c.PostComment(actor=bea, comment_id=uuid4(), idea_id=idea, body="Yes!"))
    page.goto(f"{base}/ideas/{idea}?after={mine.position}")
    toggles = page.locator(f"#c-{mine.id} > details > summary")  # Edit and Reply

    def looks() -> list[list[str]]:
        return toggles.evaluate_all(
            "els => els.map(el => [el.textContent, getComputedStyle(el).cursor,"
            " getComputedStyle(el).color])"
        )

    pressable = looks()
    assert [(name, cursor) for name, cursor, _ in pressable] == [
        ("Edit", "pointer"),
        ("Reply", "pointer"),
    ]
    # Hidden while open (the page is gone for Bea): its forms stay, taking nothing.
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=idea, reason="advertising"))
    page.get_by_text("This idea was hidden by an organizer.").wait_for(timeout=10_000)
    for (_, cursor, color), (_, _, was) in zip(looks(), pressable, strict=True):
        assert cursor == "not-allowed"
        assert color != was
    app.handle(c.RestoreIdea(actor=scene.organizer, idea_id=idea, reason="a real shop"))
    page.get_by_text("This idea was hidden by an organizer.").wait_for(
        state="detached", timeout=10_000
    )
    assert looks() == pressable


def test_a_refused_extension_keeps_its_date_in_its_own_form_not_the_close_form(browser, site):
    # Both schedule forms post to one address: the refused one is found by its name.
    base, app, scene = site
    organizer = _sign_in(browser, base, _invite(app, scene, role="organizer"), "Olga")
    organizer.goto(f"{base}/jams/{scene.jam_id}/central")
    organizer.get_by_label("New end").fill("2000-01-01T10:00")
    organizer.get_by_role("button", name="Extend the jam").click()
    organizer.get_by_text("An extension must end later than the current end").first.wait_for()
    assert organizer.get_by_label("New end").input_value() == "2000-01-01T10:00"
    close = organizer.locator("form", has=organizer.get_by_role("button", name="Close the jam now"))
    assert close.get_by_text("An extension must end later").count() == 0

    # The alert's form too: a refused message comes back, not the banner as it stands.
    organizer.evaluate("document.getElementById('message').removeAttribute('maxlength')")
    organizer.get_by_label("Message to everyone").fill("A" * 600)
    organizer.get_by_role("button", name="Show to everyone").click()
    organizer.get_by_text("Alert must be at most 500 characters").first.wait_for()
    assert organizer.get_by_label("Message to everyone").input_value() == "A" * 600


# The contrast of each element's own text as drawn: its colour's alpha and every
# ancestor's opacity blend it towards the background it sits on (the nearest one painted).
_LOW_CONTRAST = r"""() => {
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const rgba = text => {
    const [r, g, b, a = 1] = text.match(/[\d.]+/g).map(Number);
    return [r, g, b, a];
  };
  const backdrop = el => {
    for (let up = el; up; up = up.parentElement) {
      const [r, g, b, a] = rgba(getComputedStyle(up).backgroundColor);
      if (a > 0) return [r, g, b].map(c => c * a + 255 * (1 - a));
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll("main *")) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.getClientRects().length === 0 || el.closest(".visually-hidden")) continue;
    const style = getComputedStyle(el);
    if (el.matches(":disabled") || el.closest("fieldset:disabled")) continue;  // exempt
    const [r, g, b, a] = rgba(style.color);
    let alpha = a;
    for (let up = el; up; up = up.parentElement) alpha *= Number(getComputedStyle(up).opacity);
    const back = backdrop(el);
    const drawn = [r, g, b].map((c, i) => c * alpha + back[i] * (1 - alpha));
    const [hi, lo] = [lum(drawn), lum(back)].sort((x, y) => y - x);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const large = parseFloat(style.fontSize) >= 24
      || (parseFloat(style.fontSize) >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) low.push([el.textContent.trim().slice(0, 30), ratio.toFixed(2)]);
  }
  return low;
}"""


def test_an_organizer_reads_hidden_ideas_and_comments_at_full_contrast(browser, site):
    base, app, scene = site
    ada = scene.join(name="Ada")
    shown = scene.post_idea(ada, title="Quiet rooms")
    hidden = scene.post_idea(ada, title="Loud rooms")
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=hidden, reason="off topic"))
    comment = uuid4()
    app.handle(c.PostComment(actor=ada, comment_id=comment, idea_id=shown, body="Ugh"))
    app.handle(c.HideComment(actor=scene.organizer, comment_id=comment, reason="rude"))
    page = _sign_in(browser, base, _invite(app, scene, role="organizer"), "Olga")
    page.goto(f"{base}/jams/{scene.jam_id}?after={app.position()}")
    page.get_by_text("Loud rooms").wait_for()
    assert page.evaluate(_LOW_CONTRAST) == []
    page.goto(f"{base}/ideas/{shown}")
    page.get_by_text("Ugh").wait_for()
    assert page.evaluate(_LOW_CONTRAST) == []


def test_right_to_left_text_reads_in_its_own_direction(browser, site):
    base, app, scene = site
    ada = scene.join(name="Ada")
    arabic = "غرف هادئة للعمل"
    idea = scene.post_idea(ada, title=arabic, body="نحتاج إلى غرف هادئة.\nQuiet rooms, please.")
    app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="أوافق."))
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    direction = "el => getComputedStyle(el).direction"
    page.goto(f"{base}/ideas/{idea}")
    assert page.locator("h1", has_text=arabic).evaluate(direction) == "rtl"
    [body, comment] = page.locator("p.body-text").all()
    assert body.evaluate(direction) == "rtl"
    assert comment.evaluate(direction) == "rtl"
    assert page.get_by_label("Add a comment").evaluate(direction) == "ltr"  # empty: as the page
    page.goto(f"{base}/jams/{scene.jam_id}?after={app.position()}")
    assert page.get_by_role("link", name=arabic).evaluate(direction) == "rtl"
    assert page.get_by_role("heading", level=1).evaluate(direction) == "ltr"  # the jam's title


def test_a_jam_opening_while_its_page_is_open_offers_its_post_form(browser, tmp_path):
    # The page said "Open now: reload to take part", and a live update then took even that
    # away, leaving a jam open with no way to post on its page.
    with _served(tmp_path, browser, {}, starts_in=timedelta(hours=1)) as (base, app, scene):
        page = _sign_in(browser, base, _invite(app, scene), "Ada")
        page.get_by_text("Opens in").wait_for(timeout=10_000)
        assert page.get_by_role("button", name="Post idea").count() == 0
        soon = datetime.now(UTC) + timedelta(seconds=4)
        app.handle(
            c.RescheduleJam(
                actor=scene.organizer,
                jam_id=scene.jam_id,
                starts_at=soon,
                ends_at=soon + timedelta(hours=72),
            )
        )
        page.get_by_role("button", name="Post idea").wait_for(timeout=30_000)
        page.get_by_label("Title").fill("Quiet rooms")
        assert page.get_by_label("Title").is_enabled()


def test_a_reader_pauses_live_updates_and_resumes_them(browser, site):
    # WCAG 2.2.2: a discussion growing, or a list reordering, while it is read waits.
    base, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    page = _sign_in(browser, base, _invite(app, scene), "Bea")
    page.goto(f"{base}/ideas/{idea}")
    switch = page.get_by_role("button", name="Pause live updates")
    switch.click()
    assert (
        page.get_by_role("button", name="Resume live updates").get_attribute("aria-pressed")
        == "true"
    )
    app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="While paused"))
    page.get_by_role("button", name="Resume live updates (1 change waiting)").wait_for(
        timeout=10_000
    )
    assert page.get_by_text("While paused").count() == 0
    page.reload()  # remembered: still paused, and the page shows what it holds now
    page.get_by_text("While paused").wait_for()
    app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Second"))
    resume = page.get_by_role("button", name="Resume live updates (1 change waiting)")
    resume.wait_for(timeout=10_000)
    resume.click()
    page.get_by_text("Second").wait_for(timeout=10_000)  # shown once resumed
    assert (
        page.get_by_role("button", name="Pause live updates").get_attribute("aria-pressed")
        == "false"
    )
    app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Live again"))
    page.get_by_text("Live again").wait_for(timeout=10_000)
    # Counted by what happened, not by what it changed: hiding an original changes it and
    # each idea marked as its duplicate, and is one change waiting.
    copy = scene.post_idea(ada, title="Quiet rooms again")
    app.handle(c.MarkDuplicate(actor=scene.organizer, idea_id=copy, original_id=idea))
    page.goto(f"{base}/jams/{scene.jam_id}?after={app.position()}")
    page.get_by_role("button", name="Pause live updates").click()
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=idea, reason="Off topic"))
    page.get_by_role("button", name="Resume live updates (1 change waiting)").wait_for(
        timeout=10_000
    )


def test_a_forum_added_while_the_jam_page_is_open_shows_without_reloading(browser, site):
    base, app, scene = site
    page = _sign_in(browser, base, _invite(app, scene), "Ada")
    page.get_by_label("Title").fill("Typed before")
    forum = c.ForumSpec("quiet-work", "Quiet work")
    app.handle(c.AddForum(actor=scene.organizer, jam_id=scene.jam_id, forum=forum))
    tabs = page.get_by_role("navigation", name="Forums")
    tabs.get_by_role("link", name="Quiet work").wait_for(timeout=10_000)
    chooser = page.get_by_label("Forum", exact=True)
    assert "quiet-work" in chooser.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert chooser.input_value() == ""  # still "Choose a forum": nothing chosen for the reader
    assert page.get_by_label("Title").input_value() == "Typed before"
