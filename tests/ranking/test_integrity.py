"""Coordinated voting: a brigade is flagged and its votes can be left out; honest
people who think alike are not flagged, whenever they join."""

from __future__ import annotations

import random
from datetime import timedelta

import msgspec
import numpy as np

from ranking.config import RankingConfig
from ranking.integrity import CoordinationDetector
from ranking.model import AGREE, DISAGREE, PASS, Ranking
from ranking.shortlist import rank
from ranking.support import Ballots
from tests.ranking.snapshots import HOUR, T0, Jam, topics

POPULAR = [f"popular{k}" for k in range(6)]
WEAK = [f"weak{k}" for k in range(6)]
OTHER = [f"other{k}" for k in range(28)]
MINUTE = timedelta(minutes=1)


def honest_jam(seed: int = 11) -> Jam:
    """40 ideas; 60 people over the segments, joining every 37 minutes, each voting
    on 12 ideas: popular ones are mostly agreed with, weak ones mostly not."""
    rng = random.Random(seed)
    jam = Jam()
    for idea in POPULAR + WEAK + OTHER:
        jam.idea(idea)
    people = [
        p
        for segment in ("employee", "client", "family", "partner")
        for p in jam.people(f"{segment}-", 15, segment, joined=T0 + rng.random() * HOUR)
    ]
    for person in people:
        for idea in rng.sample(POPULAR + WEAK + OTHER, 12):
            liked = 0.95 if idea in POPULAR else 0.15 if idea in WEAK else 0.5
            value = PASS if rng.random() < 0.1 else AGREE if rng.random() < liked else DISAGREE
            jam.vote([person], idea, value, after=rng.random() * 4 * HOUR)
    return jam


def suspects(jam: Jam) -> set[str]:
    return set(rank(jam.snapshot(), topics({}), None, RankingConfig()).suspects)


def detector(jam: Jam) -> CoordinationDetector:
    snapshot = jam.snapshot()
    ballots = Ballots.of(snapshot)
    joined = {p.id: p.joined_at.timestamp() for p in snapshot.participants}
    return CoordinationDetector().fit(ballots, np.array([joined[p] for p in ballots.participants]))


def test_the_honest_jam_has_no_suspects() -> None:
    assert suspects(honest_jam()) == set()


def test_a_burst_of_new_accounts_agreeing_with_weak_ideas_is_flagged() -> None:
    jam = honest_jam()
    brigade = jam.people("new", 8, "client", joined=T0 + 50 * HOUR, every=MINUTE)
    for idea in WEAK:
        jam.vote(brigade, idea, AGREE, after=5 * MINUTE)

    assert suspects(jam) == set(brigade)


def test_old_accounts_voting_one_list_at_the_same_time_are_flagged() -> None:
    jam = honest_jam()
    sleepers = jam.people("sleeper", 8, "partner", every=5 * HOUR)  # joined over 40 hours
    for idea in WEAK:
        for person in sleepers:
            jam.vote([person], idea, AGREE, after=T0 + 60 * HOUR - jam.joined[person])

    assert suspects(jam) == set(sleepers)


def test_like_minded_people_agreeing_on_popular_ideas_at_normal_times_are_not_flagged() -> None:
    jam = honest_jam()
    fans = jam.people("fan", 10, "employee", joined=T0 + 2 * HOUR, every=3 * HOUR)
    for idea in POPULAR:
        jam.vote(fans, idea, AGREE, after=HOUR)

    found = detector(jam)

    assert suspects(jam) == set()
    linked = [g for g in found.groups_ if len(g.members) >= len(fans)]
    assert linked, "they vote alike: linked, and cleared by the rule"
    assert not any(g.flagged for g in linked)


def test_a_crowd_joining_at_the_opening_and_voting_popular_ideas_is_not_flagged() -> None:
    jam = honest_jam()
    crowd = jam.people("opening", 20, "employee", joined=T0, every=MINUTE)
    for idea in POPULAR:
        jam.vote(crowd, idea, AGREE, after=10 * MINUTE)

    found = detector(jam)

    assert suspects(jam) == set()
    assert any(len(g.cohort) >= len(crowd) and not g.flagged for g in found.groups_)


def test_a_bloc_that_thinks_alike_and_votes_at_its_own_pace_is_not_flagged() -> None:
    jam = honest_jam()
    bloc = jam.people("bloc", 8, "family", joined=T0, every=6 * HOUR)
    for idea in WEAK:
        jam.vote(bloc, idea, AGREE, after=HOUR)

    assert suspects(jam) == set()


def test_a_brigade_smaller_than_the_minimum_is_not_flagged() -> None:
    jam = honest_jam()
    brigade = jam.people("new", 4, "client", joined=T0 + 50 * HOUR, every=MINUTE)
    for idea in WEAK:
        jam.vote(brigade, idea, AGREE, after=5 * MINUTE)

    assert suspects(jam) == set()


def test_the_ranking_shows_what_depends_on_suspect_votes() -> None:
    jam = honest_jam()
    brigade = jam.people("new", 20, "client", joined=T0 + 50 * HOUR, every=MINUTE)
    for idea in WEAK[:5]:
        jam.vote(brigade, idea, AGREE, after=5 * MINUTE)
    for idea in POPULAR[:3]:
        jam.vote(brigade, idea, DISAGREE, after=5 * MINUTE)
    config = RankingConfig(shortlist_size=5)
    given = topics({i.id: f"t{n}" for n, i in enumerate(jam.ideas)})  # no theme in common

    honest = rank(honest_jam().snapshot(), given, None, config)
    ranking = rank(jam.snapshot(), given, None, config)
    evidence = {e.idea_id: e for e in ranking.ideas}

    assert set(ranking.suspects) == set(brigade)
    assert ranking.shortlist_clean == honest.shortlist
    changed = set(ranking.shortlist) ^ set(ranking.shortlist_clean)
    assert changed, "the brigade's votes moved the shortlist"
    for e in ranking.ideas:
        assert e.depends_on_suspects == (e.idea_id in changed)
        assert e.rank_without_suspects == next(
            h.rank for h in honest.ideas if h.idea_id == e.idea_id
        )
    assert evidence[WEAK[0]].suspect_votes == 20
    assert evidence[OTHER[0]].suspect_votes == 0


def test_the_view_without_suspect_votes_shows_evidence_and_themes_without_them() -> None:
    jam = honest_jam()
    brigade = jam.people("new", 20, "client", joined=T0 + 50 * HOUR, every=MINUTE)
    for idea in WEAK[:5]:
        jam.vote(brigade, idea, AGREE, after=5 * MINUTE)
    for idea in POPULAR[:3]:  # on the shortlist either way, with less support here
        jam.vote(brigade, idea, DISAGREE, after=5 * MINUTE)
    config = RankingConfig(shortlist_size=5)
    given = topics({i.id: f"t{n % 8}" for n, i in enumerate(jam.ideas)})

    honest = rank(honest_jam().snapshot(), given, None, config)
    ranking = rank(jam.snapshot(), given, None, config)
    truth = {e.idea_id: e for e in honest.ideas}

    shortlist, ideas, themes, groups = ranking.view(clean=True)
    assert shortlist == honest.shortlist
    assert themes == honest.themes
    assert themes != ranking.themes
    assert groups == honest.groups
    shown = {e.idea_id: e for e in ideas}
    assert set(shortlist) | {i for t in themes for i in t.ideas} == set(shown)
    for idea_id, e in shown.items():
        h = truth[idea_id]
        assert (e.score, e.low, e.high, e.by_segment, e.by_group, e.trend) == (
            h.score,
            h.low,
            h.high,
            h.by_segment,
            h.by_group,
            h.trend,
        )
        assert e.rank_without_suspects == h.rank
        assert e.rank == next(a.rank for a in ranking.ideas if a.idea_id == idea_id)
    brigaded = next(e for e in ranking.ideas if e.idea_id == WEAK[0])
    assert brigaded.by_segment["client"].agree >= 20  # with every vote, they count
    assert ranking.view(clean=False) == (
        ranking.shortlist,
        ranking.ideas,
        ranking.themes,
        ranking.groups,
    )


def test_without_suspects_both_views_are_the_same_ranking() -> None:
    ranking = rank(honest_jam().snapshot(), topics({}), None, RankingConfig())
    assert ranking.ideas_clean == ()
    assert ranking.themes_clean == ()
    assert ranking.view(clean=True) == ranking.view(clean=False)


def test_a_ranking_stored_before_the_clean_evidence_still_shows_its_clean_shortlist() -> None:
    jam = honest_jam()
    brigade = jam.people("new", 20, "client", joined=T0 + 50 * HOUR, every=MINUTE)
    for idea in WEAK[:5]:
        jam.vote(brigade, idea, AGREE, after=5 * MINUTE)
    ranking = rank(jam.snapshot(), topics({}), None, RankingConfig(shortlist_size=5))
    stored = msgspec.json.encode(ranking)
    old = msgspec.json.decode(  # as a ranking written by the previous version reads back
        stored.replace(b'"ideas_clean"', b'"unknown1"').replace(b'"themes_clean"', b'"unknown2"'),
        type=Ranking,
    )
    shortlist, ideas, _, _ = old.view(clean=True)
    assert shortlist == ranking.shortlist_clean
    assert {e.idea_id for e in ideas} >= set(shortlist)  # evidence for every idea it shows
