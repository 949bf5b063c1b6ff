"""Topic clusters, duplicate suggestions and similar ideas through the JSON API."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from types import SimpleNamespace
from uuid import uuid4

import pytest
from litestar.testing import TestClient

import ui.asof
from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from projections import ranking_views as rv
from ranking.model import Cluster
from tests.stories import open_jam
from ui.app import create_app
from ui.topics import (
    HIDDEN_TITLE,
    MAP_H,
    MAP_W,
    TIMELINE_HOURS,
    ClusterOut,
    TopicsOut,
    _needs_replay,
    label_box,
    timeline,
    topic_map,
    topics_csv,
)

THEMES = {
    "remote": [
        "Remote work from home two days a week",
        "Home office allowance for remote workers",
        "Remote teams need better video calls from home",
        "Work from home Fridays for every team",
    ],
    "health": [
        "Free flu vaccines at the hospital clinic",
        "Hospital clinic visits covered by health insurance",
        "Mental health support and clinic hours",
        "Health checks at the clinic every year",
    ],
    "energy": [
        "Solar panels on every office roof",
        "Wind and solar energy for our data centres",
        "Cut office energy use with smart lighting",
        "Solar energy credits for employees",
    ],
}


@pytest.fixture
def jam_with_themes(tmp_path, clock):
    app = JamApplication(
        Settings(data_dir=tmp_path / "var", read_wait_ms=60_000, writes_per_minute=1000),
        clock=clock,
    )
    scene = open_jam(app, clock)
    with TestClient(create_app(app.settings, jam=app)) as client:

        def enter(role: str = "participant", jam=scene.jam_id) -> dict:
            code = uuid4().hex
            app.handle(c.IssueInvite(code=code, role=role, jam_id=jam))
            session = client.post("/api/session", json={"invite_code": code, "display_name": role})
            return {"Authorization": f"Bearer {session.json()['token']}"}

        author = enter()
        ideas = {}
        for titles in THEMES.values():
            for title in titles:
                posted = client.post(
                    f"/api/jams/{scene.jam_id}/ideas",
                    json={"forum": "health", "title": title, "body": title},
                    headers=author,
                )
                ideas[title] = posted.json()["id"]
        organizer = enter("organizer")

        def ranked() -> None:
            """Wait until the ranking (and the topics refreshed with it) include every write."""
            shortlist = client.get(
                f"/api/jams/{scene.jam_id}/shortlist",
                params={"after": app.position()},
                headers=organizer,
            )
            assert shortlist.status_code == 200, shortlist.text

        ranked()
        enter.other_jam = lambda: open_jam(app, clock).jam_id  # type: ignore[attr-defined]
        enter.clock = clock  # type: ignore[attr-defined]
        yield client, scene, enter, organizer, author, ideas, ranked
    app.close()


def clusters(client, scene, organizer):
    topics = client.get(f"/api/jams/{scene.jam_id}/topics", headers=organizer)
    assert topics.status_code == 200, topics.text
    return topics.json()["clusters"]


def test_organizers_see_the_topics_with_terms_sizes_and_segments(jam_with_themes):
    client, scene, _, organizer, author, ideas, _ = jam_with_themes
    found = clusters(client, scene, organizer)
    assert sum(c["ideas_now"] for c in found) >= 10  # a few may wait in "other"
    assert len(found) >= 2
    for item in found:
        cluster = item["cluster"]
        assert cluster["terms"]
        assert cluster["label"]
        assert set(cluster["representatives"]) <= set(ideas.values())
        assert cluster["segments"] == {"employee": cluster["size"]}
    assert client.get(f"/api/jams/{scene.jam_id}/topics", headers=author).status_code == 403
    exported = client.get(
        f"/api/jams/{scene.jam_id}/topics", params={"format": "csv"}, headers=organizer
    )
    assert exported.content.startswith("\ufeffcluster_id,label,ideas".encode())  # Excel: UTF-8
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert len(rows) == len(found)
    placed = {c["cluster"]["id"]: (c["cluster"]["x"], c["cluster"]["y"]) for c in found}
    for row in rows:  # where each sits on the cluster map
        x, y = placed[row["cluster_id"]]
        assert (float(row["map_x"]), float(row["map_y"])) == pytest.approx((x, y), abs=1e-4)
    # A spreadsheet's reader reads the representative ideas' titles, in the ids' order, in a
    # column added last: the columns before keep their places for earlier readers.
    header = exported.content.decode("utf-8-sig").splitlines()[0]
    assert header.endswith(
        ",representatives,employee,client,family,partner,map_x,map_y,representative_titles"
    )
    title_of = {i: t for t, i in ideas.items()}
    shown = {c["cluster"]["id"]: c["cluster"]["representatives"] for c in found}
    for row in rows:
        assert row["representatives"].split() == shown[row["cluster_id"]]
        titles = [title_of[i] for i in shown[row["cluster_id"]]]
        assert row["representative_titles"] == " | ".join(titles)


def topics_csv_rows(client, scene, headers, **params) -> list[dict]:
    params["format"] = "csv"
    exported = client.get(f"/api/jams/{scene.jam_id}/topics", params=params, headers=headers)
    assert exported.status_code == 200, exported.text
    return list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))


def test_a_representative_hidden_since_shows_its_title_to_organizers_only(jam_with_themes):
    # A view of the past still has an idea hidden since among its representatives.
    client, scene, enter, organizer, _, ideas, ranked = jam_with_themes
    then = enter.clock.now.isoformat()
    hidden = clusters(client, scene, organizer)[0]["cluster"]["representatives"][0]
    title = next(t for t, i in ideas.items() if i == hidden)
    enter.clock.advance(timedelta(hours=1))
    hide = {"action": "hide", "reason": "off topic"}
    assert client.post(f"/api/ideas/{hidden}/moderation", json=hide, headers=organizer).is_success
    ranked()
    leader = enter("leader")
    url = f"/api/jams/{scene.jam_id}/topics"
    for reader, sees in ((organizer, True), (leader, False)):
        answer = client.get(url, params={"as_of": then}, headers=reader).json()
        assert hidden in {i for c in answer["clusters"] for i in c["cluster"]["representatives"]}
        assert (answer["titles"].get(hidden) == title) is sees
        cells = [
            r["representative_titles"] for r in topics_csv_rows(client, scene, reader, as_of=then)
        ]
        assert any(title in cell for cell in cells) is sees
        assert any(HIDDEN_TITLE in cell for cell in cells) is not sees


def test_a_representative_title_is_never_read_as_a_formula():
    cluster = Cluster("t1", "solar", ("solar",), 2, ("a", "b"), 0, False, {}, 0.5, 0.5)
    topics = TopicsOut(
        "j", 1, "", "", [ClusterOut(cluster, 2)], 0, [], {"a": "=SUM(A1)", "b": "-1"}
    )
    (row,) = csv.DictReader(io.StringIO(topics_csv(topics)))
    assert row["representative_titles"] == "'=SUM(A1) | -1"


def test_a_rename_is_recorded_and_every_later_refresh_keeps_it(jam_with_themes):
    client, scene, _, organizer, author, _, ranked = jam_with_themes
    target = clusters(client, scene, organizer)[0]["cluster"]["id"]
    url = f"/api/jams/{scene.jam_id}/topics/{target}"
    rename = {"action": "rename", "label": "Ours"}
    assert client.post(url, json=rename, headers=author).status_code == 403
    renamed = client.post(url, json=rename, headers=organizer)
    assert renamed.status_code == 200, renamed.text
    ranked()
    labels = {c["cluster"]["id"]: c["cluster"]["label"] for c in clusters(client, scene, organizer)}
    assert labels[target] == "Ours"


def test_a_merge_and_a_split_are_kept_by_every_later_refresh(jam_with_themes):
    client, scene, _, organizer, author, _, ranked = jam_with_themes
    base = f"/api/jams/{scene.jam_id}/topics"
    found = clusters(client, scene, organizer)
    assert len(found) >= 2
    source, target = found[0]["cluster"], found[1]["cluster"]
    merged = client.post(
        f"{base}/{source['id']}", json={"action": "merge", "into": target["id"]}, headers=organizer
    )
    assert merged.status_code == 200, merged.text
    ranked()
    after_merge = {c["cluster"]["id"]: c for c in clusters(client, scene, organizer)}
    assert source["id"] not in after_merge  # retired: its ideas went to the target
    assert after_merge[target["id"]]["ideas_now"] >= source["size"] + target["size"]

    split = client.post(f"{base}/{target['id']}", json={"action": "split"}, headers=organizer)
    assert split.status_code == 200, split.text
    ranked()
    for _ in range(2):  # and again after a new idea makes the worker refresh once more
        now = {c["cluster"]["id"]: c for c in clusters(client, scene, organizer)}
        halves = {f"{target['id']}.1", f"{target['id']}.2"}
        assert halves <= set(now)
        assert target["id"] not in now
        assert source["id"] not in now
        assert sum(now[h]["ideas_now"] for h in halves) >= source["size"] + target["size"]
        client.post(
            f"/api/jams/{scene.jam_id}/ideas",
            json={"forum": "health", "title": "Bike racks", "body": "By the door."},
            headers=author,
        )
        ranked()


def test_bad_topic_changes_get_clear_errors(jam_with_themes):
    client, scene, enter, organizer, *_ = jam_with_themes
    base = f"/api/jams/{scene.jam_id}/topics"
    bad_id = client.post(f"{base}/nonsense", json={"action": "pin"}, headers=organizer)
    assert bad_id.status_code == 404  # a path that names no cluster
    assert "no topic cluster “nonsense”" in bad_id.json()["detail"]
    bad_into = client.post(f"{base}/t1", json={"action": "merge", "into": "x"}, headers=organizer)
    assert (bad_into.status_code, bad_into.json()["detail"]) == (
        422,
        "“x” is not a topic cluster id",
    )
    empty = client.post(f"{base}/t999", json={"action": "split"}, headers=organizer)
    assert empty.status_code == 404
    nameless = client.post(
        f"{base}/t999", json={"action": "rename", "label": "Ghosts"}, headers=organizer
    )
    assert nameless.status_code == 404
    assert "holds no ideas" in nameless.json()["detail"]
    # Someone else learns nothing about the clusters: refused before they are looked at.
    participant = enter()
    for cluster in ("t1", "t999"):
        refused = client.post(
            f"{base}/{cluster}", json={"action": "rename", "label": "x"}, headers=participant
        )
        assert refused.status_code == 403
    bad_into = client.post(f"{base}/t1", json={"action": "merge", "into": "x"}, headers=organizer)
    assert bad_into.status_code == 422
    unknown = client.post(f"{base}/t1", json={"action": "explode"}, headers=organizer)
    assert unknown.status_code == 422


def test_similar_ideas_are_found_while_typing(jam_with_themes):
    client, scene, enter, _, author, ideas, _ = jam_with_themes
    url = f"/api/jams/{scene.jam_id}/similar"
    found = client.get(url, params={"text": "solar panels on the roof"}, headers=author).json()
    assert found[0]["id"] == ideas["Solar panels on every office roof"]
    assert len(found) <= 5
    assert all(f["similarity"] <= 1.0 for f in found)
    too_long = client.get(url, params={"text": "x" * 2001}, headers=author)
    assert too_long.status_code in (400, 422)
    outsider = enter(jam=enter.other_jam())
    assert client.get(url, params={"text": "solar"}, headers=outsider).status_code == 403


def test_near_copies_are_suggested_and_a_link_counts_votes_with_the_original(jam_with_themes):
    client, scene, _, organizer, author, ideas, ranked = jam_with_themes
    title = "Solar panels on every office roof"
    original = ideas[title]
    copy = client.post(
        f"/api/jams/{scene.jam_id}/ideas",
        json={"forum": "health", "title": f"{title}!", "body": title},
        headers=author,
    ).json()["id"]
    ranked()
    pairs = client.get(f"/api/jams/{scene.jam_id}/duplicates", headers=organizer).json()
    assert {"idea_id": copy, "original_id": original} in [
        {"idea_id": p["idea_id"], "original_id": p["original_id"]} for p in pairs
    ]
    assert client.get(f"/api/jams/{scene.jam_id}/duplicates", headers=author).status_code == 403
    link = f"/api/ideas/{copy}/duplicate-of"
    assert client.put(link, json={"original_id": original}, headers=author).status_code == 403
    linked = client.put(link, json={"original_id": original}, headers=organizer)
    assert linked.status_code == 200
    # PUT is idempotent: the same link again records nothing and answers as the first did.
    again = client.put(link, json={"original_id": original}, headers=organizer)
    assert again.status_code == 200
    assert again.json()["position"] == linked.json()["position"]
    client.put(f"/api/ideas/{copy}/vote", json={"value": 1}, headers=author)
    ranked()
    shortlist = client.get(f"/api/jams/{scene.jam_id}/shortlist", headers=organizer).json()[
        "shortlist"
    ]
    best = next(e for e in shortlist if e["idea_id"] == original)
    assert [d["id"] for d in best["duplicates"]] == [copy]
    assert best["by_segment"]["employee"]["agree"] == 1  # the copy's vote counts here
    assert copy not in [e["idea_id"] for e in shortlist]
    assert client.get(f"/api/jams/{scene.jam_id}/duplicates", headers=organizer).json() == []
    unlinked = client.delete(link, headers=organizer)
    assert unlinked.status_code == 200
    again = client.delete(link, headers=organizer)  # DELETE, too, is idempotent
    assert (again.status_code, again.json()["position"]) == (200, unlinked.json()["position"])
    ranked()  # the link undone: the copy is ranked again, with its own vote
    shortlist = client.get(f"/api/jams/{scene.jam_id}/shortlist", headers=organizer).json()[
        "shortlist"
    ]
    ranked_again = {e["idea_id"]: e for e in shortlist}
    assert ranked_again[original]["duplicates"] == []
    assert ranked_again[original]["by_segment"]["employee"]["agree"] == 0
    assert ranked_again[copy]["by_segment"]["employee"]["agree"] == 1


def test_an_original_with_duplicates_is_suggested_as_the_original_and_lists_them(jam_with_themes):
    client, scene, _, organizer, author, ideas, ranked = jam_with_themes
    title = "Solar panels on every office roof"
    original = ideas[title]

    def post(text: str) -> str:
        body = {"forum": "health", "title": text, "body": title}
        return client.post(f"/api/jams/{scene.jam_id}/ideas", json=body, headers=author).json()[
            "id"
        ]

    copy, later = post(f"{title}!"), post(f"{title}!!")
    link = {"original_id": copy}
    assert client.put(f"/api/ideas/{later}/duplicate-of", json=link, headers=organizer).is_success
    ranked()
    thread = client.get(f"/api/ideas/{copy}", headers=author).json()
    assert thread["duplicates"] == [{"id": later, "title": f"{title}!!"}]
    # The copy, posted after the original, now has a duplicate of its own: marking it would
    # be refused (a chain), so the pair is offered the other way round.
    pairs = client.get(f"/api/jams/{scene.jam_id}/duplicates", headers=organizer).json()
    offered = {(p["idea_id"], p["original_id"]) for p in pairs}
    assert (original, copy) in offered
    assert (copy, original) not in offered
    back = {"original_id": copy}
    marked = client.put(f"/api/ideas/{original}/duplicate-of", json=back, headers=organizer)
    assert marked.status_code == 200, marked.text


def test_the_shortlist_as_of_a_past_time_is_the_one_ranked_then(jam_with_themes):
    client, scene, enter, organizer, _, ideas, ranked = jam_with_themes
    url = f"/api/jams/{scene.jam_id}/shortlist"
    then = enter.clock.now
    before = [e["idea_id"] for e in client.get(url, headers=organizer).json()["shortlist"]]
    enter.clock.advance(timedelta(hours=1))
    # Unvoted ideas tie, and ties fall either way: take one that was not already first.
    last = next(i for i in reversed(ideas.values()) if i != before[0])
    for _ in range(6):
        client.put(f"/api/ideas/{last}/vote", json={"value": 1}, headers=enter())
    decided = client.post(
        f"/api/ideas/{before[0]}/decision", json={"decision": "funded"}, headers=enter("leader")
    )
    assert decided.status_code == 200, decided.text
    ranked()
    shown = client.get(url, headers=organizer).json()["shortlist"]
    now = [e["idea_id"] for e in shown]
    assert now[0] == last != before[0]  # the votes moved it up
    funded = next(e for e in shown if e["idea_id"] == before[0])
    assert (funded["decision"], len(funded["decisions"])) == ("funded", 1)
    replayed = client.get(url, params={"as_of": then.isoformat()}, headers=organizer).json()
    assert [e["idea_id"] for e in replayed["shortlist"]] == before
    undecided = replayed["shortlist"][0]  # not funded yet then
    assert (undecided["decision"], undecided["decisions"]) == (None, [])
    naive = client.get(url, params={"as_of": "2030-05-01T12:00:00"}, headers=organizer)
    assert naive.status_code in (400, 422)


def test_topics_of_an_hour_nothing_was_kept_for_are_computed_again_from_the_log(
    jam_with_themes,
):
    client, scene, enter, organizer, author, ideas, ranked = jam_with_themes
    first_hour = enter.clock.now
    enter.clock.advance(timedelta(hours=2))
    client.post(
        f"/api/jams/{scene.jam_id}/ideas",
        json={"forum": "health", "title": "Bike racks", "body": "By the door."},
        headers=author,
    )
    ranked()
    views = client.app.state.services.views
    with views.transaction() as cur:  # as a jam imported with its own times, or a lost history
        cur.execute("DELETE FROM rk_topic_history WHERE hour = ?", (first_hour.isoformat()[:13],))
    url = f"/api/jams/{scene.jam_id}/topics"
    history = client.get(url, headers=organizer).json()["history"]
    replayed_hour = f"{first_hour.isoformat()[:13]}:59:59.999999+00:00"
    assert history[0] == replayed_hour  # still on the timeline
    then = client.get(url, params={"as_of": replayed_hour}, headers=organizer)
    assert then.status_code == 200, then.text
    assert sum(c["ideas_now"] for c in then.json()["clusters"]) + then.json()["unclustered"] == (
        len(ideas)  # the ideas of that hour, not the one posted later
    )
    assert then.json()["as_of"][:13] == first_hour.isoformat()[:13]
    # Computed again, the past's topics carry today's ids: numbered afresh, an id named
    # another topic then than now. A rename made since is not the past's.
    live = client.get(url, headers=organizer).json()
    named = live["clusters"][-1]["cluster"]["id"]
    client.post(f"{url}/{named}", json={"action": "rename", "label": "Ours"}, headers=organizer)
    ranked()
    with views.transaction() as cur:  # ids as a longer history of refreshes might have left
        cur.execute(
            "UPDATE rk_idea_topics SET cluster_id = CASE cluster_id WHEN 't1' THEN 't2' "
            "WHEN 't2' THEN 't1' ELSE cluster_id END"
        )
        live_of = dict(cur.execute("SELECT idea_id, cluster_id FROM rk_idea_topics").fetchall())
    then = client.get(url, params={"as_of": replayed_hour}, headers=organizer).json()
    shown = [(i, c["cluster"]) for c in then["clusters"] for i in c["cluster"]["representatives"]]
    assert {live_of[i] for i, cluster in shown} >= {"t1", "t2"}
    assert all(live_of[i] == cluster["id"] for i, cluster in shown)
    assert all(cluster["label"] != "Ours" for _, cluster in shown)
    before = client.get(url, params={"as_of": "2000-01-01T00:00:00Z"}, headers=organizer)
    assert before.status_code == 404  # no idea yet then


def test_the_timeline_offers_each_kept_refresh_and_each_other_hour_with_ideas() -> None:
    kept = ["2030-05-01T09:40:00.000000+00:00", "2030-05-01T12:10:00.000000+00:00"]
    posted = ["2030-05-01T09", "2030-05-01T10", "2030-05-01T12"]
    assert timeline(kept, posted) == [
        "2030-05-01T09:40:00.000000+00:00",
        "2030-05-01T10:59:59.999999+00:00",
        "2030-05-01T12:10:00.000000+00:00",
    ]
    many = [f"2030-05-{d:02d}T{h:02d}" for d in range(1, 11) for h in range(24)]
    assert len(timeline([], many)) == TIMELINE_HOURS
    assert timeline([], many)[-1].startswith("2030-05-10T23")


def test_an_hour_between_two_kept_refreshes_is_computed_again_when_ideas_came_in_it() -> None:
    kept = rv.TopicsView("j", 10, "2030-05-01T09:40:00.000000+00:00", "", (), {})
    posted = ["2030-05-01T09", "2030-05-01T10", "2030-05-01T12"]
    assert _needs_replay(kept, "2030-05-01T10", posted)  # the 10:xx ideas are not in 09:40's
    assert not _needs_replay(kept, "2030-05-01T09", posted)
    quiet = ["2030-05-01T09", "2030-05-01T12"]
    assert not _needs_replay(kept, "2030-05-01T11", quiet)  # nothing new since 09:40
    assert _needs_replay(None, "2030-05-01T10", posted)
    assert not _needs_replay(None, "2030-05-01T08", posted)  # before any idea: no replay
    assert not _needs_replay(None, "2030-05-01T10", [])


def test_one_view_of_the_past_is_computed_at_a_time(jam_with_themes, monkeypatch):
    client, scene, enter, organizer, *_ = jam_with_themes
    monkeypatch.setattr(ui.asof, "REPLAY_WAIT_S", 0.1)
    url = f"/api/jams/{scene.jam_id}/shortlist"
    params = {"as_of": enter.clock.now.isoformat()}
    assert ui.asof.REPLAYS.acquire(timeout=5)  # another one is running
    try:
        busy = client.get(url, params=params, headers=organizer)
    finally:
        ui.asof.REPLAYS.release()
    assert busy.status_code == 503
    assert "retry" in busy.json()["detail"]
    assert client.get(url, params=params, headers=organizer).status_code == 200


def _on_map(x: float, y: float, label: str, size: int = 10) -> SimpleNamespace:
    cluster = SimpleNamespace(id=label, label=label, x=x, y=y, emerging=False)
    return SimpleNamespace(cluster=cluster, ideas_now=size)


def test_map_labels_stay_inside_the_picture_and_clear_of_each_other():
    # Two close topics had their labels drawn over each other, and a topic at the edge
    # had its label cut off by the picture's border.
    placed = topic_map(
        [
            _on_map(0.0, 0.0, "goods · live · moving"),
            _on_map(0.0, 0.08, "energy · cleaner · climate"),
            _on_map(1.0, 0.5, "patients · care · families"),
            _on_map(0.5, 1.0, "collaborate · learn · organise"),
        ]
    )
    assert not any(m["keyed"] for m in placed)  # room for every label beside its circle
    boxes = [label_box(m["label"], m["lx"], m["ly"], m["anchor"]) for m in placed]
    for left, top, right, bottom in boxes:
        assert 0 <= left <= right <= MAP_W
        assert 0 <= top <= bottom <= MAP_H
    for n, a in enumerate(boxes):
        for b in boxes[n + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_a_suggested_pair_says_who_posted_each_idea_when_and_which_becomes_the_duplicate(
    jam_with_themes,
):
    # Two ideas of one title ("X looks like X") could not be told apart, nor the button's
    # direction.
    client, scene, _, organizer, author, ideas, ranked = jam_with_themes
    title = "Solar panels on every office roof"
    copy = client.post(
        f"/api/jams/{scene.jam_id}/ideas",
        json={"forum": "health", "title": title, "body": title},
        headers=author,
    ).json()["id"]
    client.put(f"/api/ideas/{ideas[title]}/vote", json={"value": 1}, headers=author)
    ranked()
    pairs = client.get(f"/api/jams/{scene.jam_id}/duplicates", headers=organizer).json()
    pair = next(p for p in pairs if p["idea_id"] == copy)
    assert pair["original_id"] == ideas[title]
    assert (pair["idea_author"], pair["original_author"]) == ("participant", "participant")
    assert pair["original_posted_at"] <= pair["idea_posted_at"]
    assert (pair["idea_up"], pair["original_up"]) == (0, 1)
    page = client.get(f"/jams/{scene.jam_id}/central", headers=organizer).text
    listed = page.split('<h2 id="duplicates">')[1]
    item = listed.split(f'<a href="/ideas/{copy}" dir="auto">')[1].split("</li>")[0]
    when = pair["idea_posted_at"][:16].replace("T", " ")
    assert (
        f'(by participant, {when} UTC, ▲0<span class="visually-hidden"> in support</span>)' in item
    )
    assert '▲1<span class="visually-hidden"> in support</span>)' in item  # the original's vote
    assert "Mark the first as a duplicate of the second" in item
    # Or the other way round (the one to keep may be the later one, say one decided on).
    reverse = f'action="/ideas/{ideas[title]}/duplicate">'
    assert reverse in item
    assert f'name="original_id" value="{copy}">' in item.split(reverse)[1]
