"""Scores: support with its uncertainty, bridging across segments and opinion groups,
then discussion and momentum; duplicates and hidden ideas; one answer per input."""

from __future__ import annotations

import random
from datetime import timedelta

import msgspec
import pytest

from ranking.config import RankingConfig
from ranking.model import AGREE, DISAGREE, PASS, IdeaEvidence, Ranking
from ranking.shortlist import rank
from tests.ranking.snapshots import HOUR, T0, Jam, topics

CONFIG = RankingConfig()
MINUTE = timedelta(minutes=1)


def ranked(jam: Jam, config: RankingConfig = CONFIG, **as_of) -> Ranking:
    ideas = {i.id: "t1" for i in jam.ideas}
    return rank(jam.snapshot(**as_of), topics(ideas), None, config)


def evidence(ranking: Ranking) -> dict[str, IdeaEvidence]:
    return {e.idea_id: e for e in ranking.ideas}


def test_more_votes_at_the_same_share_score_higher() -> None:
    jam = Jam()
    people = jam.people("p", 100)
    jam.idea("few")
    jam.idea("many")
    jam.vote(people[:8], "few", AGREE)
    jam.vote(people[8:10], "few", DISAGREE)
    jam.vote(people[:80], "many", AGREE)
    jam.vote(people[80:], "many", DISAGREE)

    result = evidence(ranked(jam))

    assert result["many"].rank < result["few"].rank
    assert result["few"].wilson == pytest.approx(0.4902, abs=1e-4)  # 8 of 10 at 95%
    assert result["few"].low < 0.8 < result["few"].high
    assert result["few"].high - result["few"].low > result["many"].high - result["many"].low


def test_passes_count_as_seen_without_support() -> None:
    jam = Jam()
    people = jam.people("p", 20)
    jam.idea("passed")
    jam.idea("voted")
    jam.vote(people[:10], "passed", AGREE)
    jam.vote(people[10:], "passed", PASS)
    jam.vote(people[:10], "voted", AGREE)

    result = evidence(ranked(jam))

    assert result["voted"].rank < result["passed"].rank
    assert result["passed"].by_segment["employee"].passes == 10


def test_support_across_segments_beats_more_support_from_one_segment() -> None:
    jam = Jam()
    employees = jam.people("e", 40, "employee")
    clients = jam.people("c", 40, "client")
    jam.idea("bridge")
    jam.idea("one-sided")
    for group in (employees, clients):  # 24 of 40 in each
        jam.vote(group[:24], "bridge", AGREE)
        jam.vote(group[24:], "bridge", DISAGREE)
    jam.vote(employees, "one-sided", AGREE)  # 40 + 10 = 50 of 80 agree
    jam.vote(clients[:10], "one-sided", AGREE)
    jam.vote(clients[10:], "one-sided", DISAGREE)

    result = evidence(ranked(jam, RankingConfig(group_weight=0.0)))

    assert result["one-sided"].wilson > result["bridge"].wilson
    assert result["bridge"].bridging > result["one-sided"].bridging
    assert result["bridge"].rank == 1
    assert result["one-sided"].by_segment["client"] == msgspec.convert(
        {"agree": 10, "disagree": 30, "passes": 0}, type(result["bridge"].by_segment["client"])
    )
    assert set(result["bridge"].by_segment) == {"employee", "client", "family", "partner"}


def polarised(jam: Jam) -> tuple[list[str], list[str]]:
    """Two opinion groups of 20 employees, split on twelve ideas; one vote in eight the
    other way, so that people differ within a group."""
    rng = random.Random(5)
    left = jam.people("l", 20)
    right = jam.people("r", 20)
    for k in range(12):
        jam.idea(f"split{k}")
        for person in left + right:
            side = AGREE if (k < 6) == (person in left) else DISAGREE
            jam.vote([person], f"split{k}", -side if rng.random() < 0.125 else side)
    return left, right


def test_support_across_opinion_groups_beats_more_support_from_one_group() -> None:
    jam = Jam()
    left, right = polarised(jam)
    jam.idea("common")  # 14 + 14 = 28 of 40
    jam.idea("partisan")  # 20 + 9 = 29 of 40
    for group in (left, right):
        jam.vote(group[:14], "common", AGREE)
        jam.vote(group[14:], "common", DISAGREE)
    jam.vote(left, "partisan", AGREE)
    jam.vote(right[:9], "partisan", AGREE)
    jam.vote(right[9:], "partisan", DISAGREE)

    ranking = ranked(jam)
    result = evidence(ranking)

    assert ranking.groups == 2
    assert result["partisan"].wilson > result["common"].wilson
    assert result["common"].rank < result["partisan"].rank
    assert sorted((s.agree, s.disagree) for s in result["partisan"].by_group.values()) == [
        (9, 11),
        (20, 0),
    ]


def test_a_duplicate_is_not_ranked_and_its_votes_count_with_the_original_once() -> None:
    jam = Jam()
    people = jam.people("p", 6)
    jam.idea("original")
    jam.idea("copy", posted=T0 + HOUR, duplicate_of="original")
    jam.idea("copy-of-copy", posted=T0 + HOUR, duplicate_of="copy")
    jam.vote(people[:2], "original", AGREE)
    jam.vote(people[:2], "copy", AGREE, after=2 * HOUR)  # the same two people: once each
    jam.vote(people[2:4], "copy-of-copy", AGREE)
    jam.vote(people[4:5], "original", AGREE)
    jam.vote(people[4:5], "copy", DISAGREE, after=3 * HOUR)  # changed their mind later

    result = evidence(ranked(jam))

    assert set(result) == {"original"}
    assert result["original"].duplicates == ("copy", "copy-of-copy")
    assert result["original"].by_segment["employee"].agree == 4
    assert result["original"].by_segment["employee"].disagree == 1


def test_hidden_ideas_are_not_ranked_and_their_votes_count_nowhere() -> None:
    jam = Jam()
    people = jam.people("p", 5)
    jam.idea("shown")
    jam.idea("hidden", hidden=True)
    jam.idea("hidden-copy", hidden=True, duplicate_of="shown")
    jam.vote(people, "shown", AGREE)
    jam.vote(people, "hidden", AGREE)
    jam.vote(people, "hidden-copy", DISAGREE, after=HOUR)

    result = evidence(ranked(jam))

    assert set(result) == {"shown"}
    assert result["shown"].by_segment["employee"].agree == 5
    assert result["shown"].by_segment["employee"].disagree == 0


def test_a_hidden_duplicate_is_not_listed_with_its_original_and_its_votes_count_nowhere() -> None:
    jam = Jam()
    people = jam.people("p", 6)
    jam.idea("original")
    jam.idea("copy", posted=T0 + HOUR, duplicate_of="original")
    jam.idea("hidden-copy", posted=T0 + HOUR, hidden=True, duplicate_of="original")
    jam.idea("copy-of-hidden", posted=T0 + 2 * HOUR, duplicate_of="hidden-copy")
    jam.vote(people[:2], "original", AGREE)
    jam.vote(people[2:4], "copy", AGREE)
    jam.vote(people[4:], "hidden-copy", DISAGREE)
    jam.vote(people[4:], "copy-of-hidden", AGREE, after=HOUR)  # visible: counts

    ranking = ranked(jam)
    result = evidence(ranking)

    assert ranking.shortlist == ("original",)
    # Listed: exactly the ideas whose votes count with the original.
    assert result["original"].duplicates == ("copy", "copy-of-hidden")
    assert result["original"].by_segment["employee"].agree == 6
    assert result["original"].by_segment["employee"].disagree == 0


def test_a_hidden_originals_earliest_visible_duplicate_stands_in_for_it() -> None:
    # Hiding one offensive original had taken its whole family, and their votes, off
    # the shortlist without a word.
    jam = Jam()
    people = jam.people("p", 6)
    jam.idea("rude-original", hidden=True)
    jam.idea("first-copy", posted=T0 + HOUR, duplicate_of="rude-original")
    jam.idea("second-copy", posted=T0 + 2 * HOUR, duplicate_of="rude-original")
    jam.vote(people[:2], "rude-original", AGREE)  # hidden: counts nowhere
    jam.vote(people[2:4], "first-copy", AGREE)
    jam.vote(people[4:], "second-copy", AGREE)

    result = evidence(ranked(jam))

    assert set(result) == {"first-copy"}
    assert result["first-copy"].duplicates == ("second-copy",)
    assert result["first-copy"].by_segment["employee"].agree == 4
    assert result["first-copy"].comments == 0


def test_discussion_breaks_a_tie_in_support() -> None:
    jam = Jam()
    people = jam.people("p", 10)
    for idea in ("quiet", "discussed"):
        jam.idea(idea)
        jam.vote(people[:7], idea, AGREE)
        jam.vote(people[7:], idea, DISAGREE)
    jam.comment("discussed", 5)

    result = evidence(ranked(jam))

    assert result["discussed"].comments == 5
    assert result["discussed"].rank == 1


def test_momentum_breaks_a_tie_in_support() -> None:
    jam = Jam()
    early = jam.people("early", 10, every=MINUTE)
    late = jam.people("late", 10, joined=T0 + 47 * HOUR, every=MINUTE)
    jam.idea("was-hot")
    jam.idea("is-hot")
    jam.vote(early, "was-hot", AGREE)
    jam.vote(late, "is-hot", AGREE)

    result = evidence(ranked(jam, as_of=T0 + 48 * HOUR))

    assert result["is-hot"].trend > 1 > result["was-hot"].trend
    assert result["is-hot"].rank == 1


def test_the_same_snapshot_gives_the_same_ranking_whatever_the_row_order() -> None:
    jam = Jam()
    left, right = polarised(jam)
    jam.idea("extra")
    jam.vote(left[:5] + right[:5], "extra", AGREE)
    jam.comment("extra", 2)
    snapshot = jam.snapshot()
    reordered = msgspec.structs.replace(
        snapshot,
        ideas=tuple(reversed(snapshot.ideas)),
        votes=tuple(reversed(snapshot.votes)),
        participants=tuple(reversed(snapshot.participants)),
    )
    given = topics({i.id: f"t{n % 3}" for n, i in enumerate(jam.ideas)})

    first = rank(snapshot, given, None, CONFIG)
    again = rank(snapshot, given, None, CONFIG)
    shuffled = rank(reordered, given, None, CONFIG)

    assert msgspec.json.encode(first) == msgspec.json.encode(again)
    assert msgspec.json.encode(shuffled) == msgspec.json.encode(first)
    assert first.config_version == CONFIG.version


def test_an_empty_jam_ranks_nothing() -> None:
    ranking = ranked(Jam())

    assert ranking.ideas == ()
    assert ranking.shortlist == ranking.shortlist_clean == ()
    assert ranking.themes == ()
    assert ranking.groups == 0


def test_ideas_nobody_voted_on_are_ranked_last_with_an_open_interval() -> None:
    jam = Jam()
    people = jam.people("p", 3)
    jam.idea("voted")
    jam.idea("unseen")
    jam.vote(people, "voted", AGREE)

    result = evidence(ranked(jam))

    assert result["unseen"].rank == 2
    assert (result["unseen"].low, result["unseen"].high) == (0.0, 1.0)
    assert result["unseen"].score == 0.0
