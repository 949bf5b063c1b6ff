"""The committer's cache: a stream of votes must not push out what every command reads."""

from __future__ import annotations

from domain.vote import Vote
from jam.batch import AggregateCache
from tests.domain.builders import an_idea_in_an_open_jam, join


def votes(count: int) -> list[Vote]:
    jam, idea = an_idea_in_an_open_jam()
    return [
        Vote.cast(idea=idea, jam=jam, voter=join(jam=jam), value=1, at=idea.created_on)
        for _ in range(count)
    ]


def test_votes_are_kept_apart_and_do_not_evict_other_aggregates():
    cache = AggregateCache(10, write_mostly=(Vote,), share=0.5)
    people = [join("organizer") for _ in range(10)]
    for person in people:
        cache.put(person)
    cast = votes(20)
    for vote in cast:
        cache.put(vote)
    assert all(cache.get(p.id) is p for p in people)  # still all there
    assert [cache.get(v.id) for v in cast[-5:]] == cast[-5:]  # the newest votes, 5 of them
    assert cache.get(cast[0].id) is None
    assert len(cache) == 15
    cache.evict([people[0].id, cast[-1].id])
    assert cache.get(people[0].id) is None
    assert cache.get(cast[-1].id) is None


def test_without_write_mostly_kinds_one_cache_holds_everything():
    cache = AggregateCache(3)
    cast = votes(4)
    for vote in cast:
        cache.put(vote)
    assert cache.get(cast[0].id) is None
    assert [cache.get(v.id) for v in cast[1:]] == cast[1:]
