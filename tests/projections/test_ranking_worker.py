"""The ranking worker: topics, duplicate pairs and the shortlist as read models, on both stores."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from uuid import uuid4

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer

from jam import commands as c
from projections import queries
from projections import ranking_views as rv
from projections.ranking_worker import RankingWorker
from ranking.engine import RankingEngine
from ranking.topics import OTHER, TopicConfig
from tests.projections.conftest import runner_for
from tests.ranking.topic_scenes import FixedK, on_a_line, words_of
from tests.stories import open_jam

REMOTE = [
    "Remote work from home on Fridays",
    "Work from home allowance for remote staff",
    "Remote teams need better home office kit",
    "Hybrid remote work rota from home",
    "Remote work hubs near home",
]
HEALTH = [
    "Hospital health checks for every patient",
    "Health care vouchers for hospital visits",
    "Mental health days and hospital cover",
    "Free health screening at the hospital",
    "Health insurance for hospital stays",
]


class Hashed:
    """A stateless stand-in for the text vectors: hashed word counts, L2-normalised."""

    def __init__(self) -> None:
        self._hash = HashingVectorizer(n_features=2**10, alternate_sign=False, stop_words="english")

    def transform(self, texts):
        return self._hash.transform(texts).toarray().astype(np.float32)

    def fit_transform(self, texts):
        return self.transform(texts)


def engine() -> RankingEngine:
    return RankingEngine(
        make_vectorizer=Hashed,
        make_clusterer=lambda: FixedK(2),
        describe=words_of,
        map_positions=on_a_line,
        topic_config=TopicConfig(min_ideas=4),
        duplicate_threshold=0.9,
    )


@pytest.fixture
def scene(app, clock):
    scene = open_jam(app, clock)
    authors = [scene.join(segment=s) for s in ("employee", "client", "family", "partner")]
    ideas = {}
    for n, title in enumerate(REMOTE + HEALTH):
        ideas[title] = scene.post_idea(authors[n % 4], title=title, body=title)
    for n, voter in enumerate(authors):
        app.handle(c.CastVote(actor=voter, idea_id=ideas[REMOTE[0]], value=1))
        app.handle(c.CastVote(actor=voter, idea_id=ideas[HEALTH[n % 2]], value=1))
    scene.ideas = ideas
    return scene


def worker_for(app, views) -> RankingWorker:
    return RankingWorker(
        app.recorder, views, app.mapper.transcoder.decode, engine(), refresh_s=3600
    )


def refreshed(app, views):
    """Read models caught up with the log, and a worker that has refreshed them once."""
    runner = runner_for(app, views)
    runner.catch_up()
    worker = worker_for(app, views)
    worker.step()
    return views, runner, worker


def test_a_refresh_stores_topics_ranking_and_each_ideas_cluster(app, scene, make_views):
    views = make_views()
    runner_for(app, views).catch_up()
    published = []
    worker = worker_for(app, views)
    worker.on_updates(published.extend)
    worker.step()
    jam = str(scene.jam_id)
    with views.reading() as cur:
        topics = rv.current_topics(cur, jam)
        ranking = rv.ranking(cur, jam)
        assigned = rv.idea_topics(cur, [str(i) for i in scene.ideas.values()])
    assert topics is not None
    assert sorted(c.size for c in topics.clusters) == [5, 5]
    remote = {assigned[str(scene.ideas[t])] for t in REMOTE}
    health = {assigned[str(scene.ideas[t])] for t in HEALTH}
    assert len(remote) == len(health) == 1
    assert remote != health
    assert ranking is not None
    assert ranking.ideas[0].idea_id == str(scene.ideas[REMOTE[0]])  # four votes, all segments
    assert [(u.kind, u.jam_id) for u in published] == [("topics", jam)]


def test_a_new_idea_joins_its_cluster_before_the_next_refresh(app, scene, make_views):
    views, runner, worker = refreshed(app, make_views())
    author = scene.join()
    new = scene.post_idea(author, title="Remote work from home stipend", body="A remote stipend")
    runner.catch_up()
    updates = worker.step()  # not due for a refresh: the idea is assigned at once
    with views.reading() as cur:
        row = cur.execute(
            "SELECT cluster_id, provisional FROM rk_idea_topics WHERE idea_id = ?", (str(new),)
        ).fetchone()
        remote = rv.idea_topics(cur, [str(scene.ideas[REMOTE[0]])])[str(scene.ideas[REMOTE[0]])]
    assert tuple(row) == (remote, 1)
    assert [u.kind for u in updates] == ["topics"]


def test_a_refresh_after_an_assignment_at_the_same_position_is_a_notice_of_its_own(
    app, scene, make_views
):
    # Streams send an update once per (position, kind, id): a refresh announced with the
    # id of the assignment before it was never sent, and the organizers' map stood still.
    _views, runner, worker = refreshed(app, make_views())
    author = scene.join()
    scene.post_idea(author, title="Remote work from home stipend", body="A remote stipend")
    runner.catch_up()
    (assigned,) = worker.step()
    refreshed_notice = worker.refresh(str(scene.jam_id))
    assert assigned.position == refreshed_notice.position
    assert (assigned.kind, assigned.jam_id) == (refreshed_notice.kind, refreshed_notice.jam_id)
    assert assigned.item_id != refreshed_notice.item_id


def test_organizers_decisions_from_the_log_are_respected(app, scene, make_views):
    views, runner, worker = refreshed(app, make_views())
    jam = str(scene.jam_id)
    with views.reading() as cur:
        first = rv.current_topics(cur, jam)
        cluster = first.clusters[0].id
        members = rv.cluster_members(cur, jam, cluster)
    organizer, jam_id = scene.organizer, scene.jam_id
    app.handle(c.RenameCluster(actor=organizer, jam_id=jam_id, cluster_id=cluster, label="Ours"))
    app.handle(
        c.PinCluster(
            actor=scene.organizer,
            jam_id=scene.jam_id,
            cluster_id=cluster,
            ideas=tuple(scene.ideas[t] for t in REMOTE[:2] + HEALTH[:1]),
        )
    )
    runner.catch_up()
    worker.step(force=True)
    with views.reading() as cur:
        after = rv.current_topics(cur, jam)
        pinned = next(c for c in after.clusters if c.id == cluster)
        assigned = rv.idea_topics(cur, [str(scene.ideas[HEALTH[0]])])
    assert (pinned.label, pinned.pinned, pinned.renamed) == ("Ours", True, True)
    assert assigned[str(scene.ideas[HEALTH[0]])] == cluster  # kept where the pin put it
    assert len(members) == 5


def test_two_workers_announcing_one_refresh_send_one_notice(app, scene, make_views):
    # Each web worker may run a ranker of its own: notices of the same refresh at the same
    # position must be one update to a stream, not one fetch of the page per worker.
    views = make_views()
    runner_for(app, views).catch_up()
    jam = str(scene.jam_id)
    first, second = worker_for(app, views).refresh(jam), worker_for(app, views).refresh(jam)
    assert first == second


def test_a_restarted_worker_keeps_the_ids_organizers_named(app, scene, make_views):
    # Started afresh, a worker numbered clusters again from t1 by size: an organizer's
    # rename of one (recorded by id) went to another topic.
    views, runner, _ = refreshed(app, make_views())
    jam = str(scene.jam_id)
    with views.reading() as cur:
        before = rv.idea_topics(cur, [str(i) for i in scene.ideas.values()])
    first = before[str(scene.ideas[REMOTE[0]])]
    other = HEALTH if first == "t1" else REMOTE  # grown, it would be numbered first
    author = scene.join()
    for n in range(3):
        scene.post_idea(author, title=f"{other[n]} again", body=other[n])
    runner.catch_up()
    worker_for(app, views).step(force=True)  # a new worker: nothing in memory
    with views.reading() as cur:
        after = rv.idea_topics(cur, [str(i) for i in scene.ideas.values()])
        topics = rv.current_topics(cur, jam)
    assert after == before
    assert {c.id for c in topics.clusters} == set(before.values())


def _a_near_copy_refreshed(app, scene, views):
    """A near copy of the first remote idea posted and a worker's first refresh made;
    the copy, the runner and the suggested duplicate pairs."""
    runner = runner_for(app, views)
    copy = scene.post_idea(scene.join(), title="Remote work from home on Fridays!", body=REMOTE[0])
    runner.catch_up()
    worker_for(app, views).step()
    with views.reading() as cur:
        pairs = rv.duplicate_pairs(cur, str(scene.jam_id))
    return copy, runner, [(p.idea_id, p.original_id) for p in pairs]


def test_a_near_copy_is_suggested_as_a_duplicate_of_the_earlier_idea(app, scene, make_views):
    views = make_views()
    copy, runner, pairs = _a_near_copy_refreshed(app, scene, views)
    assert pairs == [(str(copy), str(scene.ideas[REMOTE[0]]))]
    app.handle(
        c.MarkDuplicate(actor=scene.organizer, idea_id=copy, original_id=scene.ideas[REMOTE[0]])
    )
    runner.catch_up()
    with views.reading() as cur:
        assert rv.duplicate_pairs(cur, str(scene.jam_id)) == []  # dealt with


def test_the_likely_original_is_the_idea_posted_first_even_when_logged_later(
    app, scene, clock, make_views
):
    # A seeded or imported jam logs ideas out of their posting order: the pair was
    # oriented by log position, calling the older idea the copy.
    views, runner, worker = refreshed(app, make_views())
    author = scene.join()
    start = clock.now
    clock.advance(timedelta(hours=1))
    later = scene.post_idea(author, title="Standing desks in every meeting room", body="Desks")
    earlier = uuid4()
    app.handle(
        c.PostIdea(
            actor=author,
            jam_id=scene.jam_id,
            idea_id=earlier,
            forum="health",
            title="Standing desks in every meeting room!",
            body="Desks",
            at=start + timedelta(minutes=10),
        )
    )
    runner.catch_up()
    worker.step(force=True)
    with views.reading() as cur:
        pairs = [(p.idea_id, p.original_id) for p in rv.duplicate_pairs(cur, str(scene.jam_id))]
    assert (str(later), str(earlier)) in pairs


def test_a_hidden_duplicate_is_not_in_the_shortlists_evidence_until_restored(
    app, scene, make_views
):
    views, runner, worker = refreshed(app, make_views())
    org, jam = scene.organizer, str(scene.jam_id)
    original, kept, hidden = (scene.ideas[t] for t in REMOTE[:3])
    for copy in (kept, hidden):
        app.handle(c.MarkDuplicate(actor=org, idea_id=copy, original_id=original))
    app.handle(c.HideIdea(actor=org, idea_id=hidden, reason="spam"))

    def duplicates() -> tuple[str, ...]:
        runner.catch_up()
        worker.step(force=True)
        with views.reading() as cur:
            ranking = rv.ranking(cur, jam)
        assert ranking is not None
        assert str(original) in ranking.shortlist
        return next(e for e in ranking.ideas if e.idea_id == str(original)).duplicates

    assert duplicates() == (str(kept),)
    app.handle(c.RestoreIdea(actor=org, idea_id=hidden, reason="fine"))
    assert set(duplicates()) == {str(kept), str(hidden)}  # posted at once: in id order


def test_a_large_first_search_for_duplicates_compares_ideas_within_their_topic(
    app, scene, make_views, monkeypatch
):
    # Every idea is new to a worker's first refresh: across a large jam, comparing
    # each with all would take hours, so each is compared within its topic.
    from projections import ranking_worker

    monkeypatch.setattr(ranking_worker, "EXACT_PAIRS", 10)
    searched = []
    search = ranking_worker.duplicate_pairs

    def noting_groups(ids, matrix, **kwargs):
        searched.append(kwargs.get("groups"))
        return search(ids, matrix, **kwargs)

    monkeypatch.setattr(ranking_worker, "duplicate_pairs", noting_groups)
    views = make_views()
    copy, _, pairs = _a_near_copy_refreshed(app, scene, views)
    with views.reading() as cur:
        topics = rv.idea_topics(cur, [str(copy), str(scene.ideas[REMOTE[0]])])
    assert topics[str(copy)] == topics[str(scene.ideas[REMOTE[0]])]
    assert pairs == [(str(copy), str(scene.ideas[REMOTE[0]]))]
    assert len(searched) == 1
    assert searched[0] is not None  # each idea's topic, in posting order
    assert topics[str(copy)] in searched[0]
    assert len(set(searched[0])) == 2  # the remote and the health ideas


def test_two_workers_on_the_same_log_store_the_same_read_models(app, scene, make_views):
    tables = []
    for _ in range(2):
        views = make_views()
        runner_for(app, views).catch_up()
        worker_for(app, views).step()
        with views.reading() as cur:
            tables.append(
                {
                    name: sorted(tuple(r) for r in cur.execute(f"SELECT * FROM {name}").fetchall())
                    for name in rv.TABLES
                }
            )
    assert tables[0] == tables[1]
    assert tables[0]["rk_rankings"]


def test_a_jam_with_few_ideas_has_no_clusters_yet(app, clock, make_views):
    scene = open_jam(app, clock)
    idea = scene.post_idea(scene.join())
    views = make_views()
    runner_for(app, views).catch_up()
    worker_for(app, views).step()
    with views.reading() as cur:
        assert rv.current_topics(cur, str(scene.jam_id)).clusters == ()
        assert rv.idea_topics(cur, [str(idea)]) == {str(idea): OTHER}


def test_leaders_decisions_are_kept_in_order_as_evidence(app, scene, make_views):
    leader = scene.join(role="leader")
    idea = scene.ideas[REMOTE[0]]
    for decision, note in (("shortlisted", "Promising"), ("funded", "$1M")):
        app.handle(c.RecordDecision(actor=leader, idea_id=idea, decision=decision, note=note))
    views, _, _ = refreshed(app, make_views())
    with views.reading() as cur:
        history = rv.decisions(cur, [str(idea)])[str(idea)]
    assert [(d.decision, d.note, d.decided_by) for d in history] == [
        ("shortlisted", "Promising", str(leader)),
        ("funded", "$1M", str(leader)),
    ]


def test_a_snapshot_holds_each_id_once_however_many_rows_name_it(app, scene, make_views):
    views = make_views()
    runner_for(app, views).catch_up()
    author = scene.join()
    app.handle(
        c.PostComment(actor=author, comment_id=uuid4(), idea_id=scene.ideas[REMOTE[0]], body="Yes")
    )
    runner_for(app, views).catch_up()
    worker_for(app, views)  # its tables
    with views.reading() as cur:
        snapshot = rv.read_snapshot(cur, str(scene.jam_id))
    remote = [v.idea_id for v in snapshot.votes if v.idea_id == str(scene.ideas[REMOTE[0]])]
    assert len(remote) == 4
    # One text object per id, shared by the idea, its votes and its comments (memory at scale).
    idea = next(i for i in snapshot.ideas if i.id == remote[0])
    assert all(text is idea.id for text in remote)
    assert snapshot.comments[-1].idea_id is idea.id
    voters = {id(v.participant_id) for v in snapshot.votes}
    assert voters <= {id(p.id) for p in snapshot.participants}
    assert snapshot.as_of == max(
        [i.posted_at for i in snapshot.ideas]
        + [v.at for v in snapshot.votes]
        + [c.at for c in snapshot.comments]
        + [p.joined_at for p in snapshot.participants]
    )


def test_a_withdrawn_vote_is_no_vote_to_the_ranking_while_a_pass_is_seen(app, scene, make_views):
    # A withdrawal written as 0 read as a pass: "seen, no support", and the idea's
    # support fell as if the person had looked at it and declined.
    views, runner, _ = refreshed(app, make_views())
    idea = scene.ideas[REMOTE[0]]
    withdrawing, passing = scene.join(segment="client"), scene.join(segment="family")
    app.handle(c.CastVote(actor=withdrawing, idea_id=idea, value=1))
    app.handle(c.CastVote(actor=withdrawing, idea_id=idea, value=0))
    app.handle(c.PassIdea(actor=passing, idea_id=idea))
    runner.catch_up()
    with views.reading() as cur:
        snapshot = rv.read_snapshot(cur, str(scene.jam_id))
    values = {v.participant_id: v.value for v in snapshot.votes if v.idea_id == str(idea)}
    assert str(withdrawing) not in values
    assert values[str(passing)] == 0
    app.handle(c.CastVote(actor=withdrawing, idea_id=idea, value=-1))  # and back again
    runner.catch_up()
    with views.reading() as cur:
        snapshot = rv.read_snapshot(cur, str(scene.jam_id))
        thread = queries.thread(cur, str(idea))
    again = {v.participant_id: v.value for v in snapshot.votes if v.idea_id == str(idea)}
    assert again[str(withdrawing)] == -1
    assert (thread.idea.up, thread.idea.down) == (4, 1)


def _refreshed_jams(updates) -> set[str]:
    return {u.item_id.split(":")[0] for u in updates if u.item_id.endswith(":refreshed")}


def test_only_a_jam_whose_ranked_read_models_changed_is_ranked_again(app, clock, scene, make_views):
    # Ten jams, one busy: ranking all ten at each change kept the busy one waiting.
    other = open_jam(app, clock)
    authors = [other.join(segment=s) for s in ("employee", "client")]
    for n, title in enumerate(REMOTE + HEALTH):
        other.post_idea(authors[n % 2], title=title, body=title)
    views, runner, worker = refreshed(app, make_views())
    assert worker.step(force=True) == []  # nothing changed since the first round
    voter = scene.join(segment="partner")
    app.handle(c.CastVote(actor=voter, idea_id=scene.ideas[HEALTH[0]], value=1))
    runner.catch_up()
    assert _refreshed_jams(worker.step(force=True)) == {str(scene.jam_id)}
    # A leader's decision changes no ranking: recorded, not ranked again.
    leader = scene.join(role="leader")
    runner.catch_up()
    worker.step(force=True)
    app.handle(
        c.RecordDecision(actor=leader, idea_id=scene.ideas[REMOTE[0]], decision="funded", note="")
    )
    runner.catch_up()
    assert _refreshed_jams(worker.step(force=True)) == set()
    with views.reading() as cur:
        assert rv.decisions(cur, [str(scene.ideas[REMOTE[0]])])
    # An organizer's topic decision changes the topics: ranked again.
    with views.reading() as cur:
        cluster = rv.current_topics(cur, str(other.jam_id)).clusters[0].id
    app.handle(
        c.RenameCluster(actor=other.organizer, jam_id=other.jam_id, cluster_id=cluster, label="X")
    )
    runner.catch_up()
    assert _refreshed_jams(worker.step(force=True)) == {str(other.jam_id)}


def test_a_reader_waiting_for_a_decision_is_served_without_a_new_ranking(app, scene, make_views):
    views, runner, worker = refreshed(app, make_views())
    leader = scene.join(role="leader")
    runner.catch_up()
    worker.step(force=True)
    jam = str(scene.jam_id)
    with views.reading() as cur:
        ranked = rv.ranking_position(cur, jam)
    done = app.handle(
        c.RecordDecision(actor=leader, idea_id=scene.ideas[REMOTE[0]], decision="funded", note="")
    )
    runner.catch_up()
    with views.reading() as cur:  # the worker has not read that far: not yet
        assert not rv.ranking_current_to(cur, jam, done.position, retention=100_000)
    assert not worker.wait_for(jam, done.position, timeout=0)
    worker.step()
    assert worker.wait_for(jam, done.position, timeout=0)
    with views.reading() as cur:  # what a web worker of its own checks (external ranking)
        assert rv.ranking_position(cur, jam) == ranked  # not ranked again
        assert rv.ranking_current_to(cur, jam, done.position, retention=100_000)
        # A feed that no longer reaches back to the ranking cannot tell: not current.
        assert not rv.ranking_current_to(cur, jam, done.position, retention=0)
    vote = app.handle(
        c.CastVote(actor=scene.join(segment="client"), idea_id=scene.ideas[HEALTH[1]], value=1)
    )
    runner.catch_up()
    worker.step()  # read, but not due (refresh_s is an hour) nor asked for
    with views.reading() as cur:
        assert not rv.ranking_current_to(cur, jam, vote.position, retention=100_000)
    assert not worker.wait_for(jam, vote.position, timeout=0)
    worker.step()  # asked for now
    assert worker.wait_for(jam, vote.position, timeout=0)
    with views.reading() as cur:
        assert rv.ranking_current_to(cur, jam, vote.position, retention=100_000)


def test_started_before_the_read_models_exist_it_waits_without_an_error(app, make_views, caplog):
    # `jam worker ranking` started beside `jam worker projections`, which creates them.
    worker = worker_for(app, make_views())  # empty: no read-model tables yet
    worker.poll_s = 0.01
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    with caplog.at_level(logging.INFO, logger="projections.ranking_worker"):
        thread.start()
        time.sleep(0.2)
        stop.set()
        thread.join()
    said = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert said == [(logging.WARNING, "waiting for the read models to be created (by projection)")]
