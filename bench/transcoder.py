"""How much faster is our MessagePack transcoder than the library's default JSON one?

The event states are real: the domain aggregates record them (ideas, comments
and votes in a 10/20/70 mix, most votes new `Vote` aggregates) and each is
turned into the dict the library's `Mapper` hands to `Transcoder.encode`.
Encoding and decoding are timed separately; the best of several repeats counts.

    .venv/bin/python bench/transcoder.py
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Transcoder,
    UUIDAsHex,
)

from domain import Comment, Forum, Idea, Invite, Jam, Participant, Vote
from jam.transcoder import MsgpackTranscoder

SEGMENTS = ("employee", "client", "family", "partner")
FORUMS = ("future-of-work", "health", "green-office")
VOCABULARY = """
team remote office budget coffee meeting friday travel train learning mentor wellbeing garden
bike solar recycle canteen library parking shuttle quiet focus pilot survey onboarding badge
laptop hybrid childcare volunteer café naïve Zürich
"""
WORDS = tuple(VOCABULARY.split())


def library_json() -> JSONTranscoder:
    """The transcoder `eventsourcing.application.Application` uses by default."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DatetimeAsISO(), DecimalAsStr()):
        transcoder.register(transcoding)
    return transcoder


def text(rng: random.Random, length: int) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append(rng.choice(WORDS))
    return " ".join(words)[:length].strip().capitalize()


def mapper_state(aggregate: Aggregate) -> Iterator[dict[str, Any]]:
    # What eventsourcing.persistence.Mapper.to_stored_event passes to encode().
    for event in aggregate.collect_events():
        state = dict(vars(event))
        state.pop("originator_id")
        state.pop("originator_version")
        yield state


def event_states(count: int, seed: int) -> list[dict[str, Any]]:
    """`count` distinct event states: 10% ideas, 20% comments, 70% votes (9 in 10 new)."""
    rng = random.Random(seed)
    now = datetime.now(tz=UTC)
    at = iter(now + timedelta(microseconds=n) for n in range(10 * count + 1000))
    invite = Invite.issue(
        code="ORG", role="organizer", segment="employee", jam_id=None, uses=1, by=None, at=next(at)
    )
    organizer = Participant.join(
        participant_id=uuid4(), invite=invite, display_name="Olga", at=next(at)
    )
    jam = Jam.create(
        jam_id=uuid4(),
        title="InnovationJam",
        description="Ideas worth funding",
        forums=[Forum.checked(slug, slug.title(), "") for slug in FORUMS],
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=72),
        by=organizer,
        at=next(at),
    )
    people = []
    for n in range(200):
        invite = Invite.issue(
            code=f"P{n}",
            role="participant",
            segment=SEGMENTS[n % 4],
            jam_id=jam.id,
            uses=1,
            by=organizer,
            at=next(at),
        )
        people.append(
            Participant.join(
                participant_id=uuid4(), invite=invite, display_name=f"P{n}", at=next(at)
            )
        )
    ideas = [post_idea(rng, jam, rng.choice(people), next(at)) for _ in range(20)]
    for idea in ideas:
        idea.collect_events()
    votes: list[Vote] = []
    states: list[dict[str, Any]] = []
    while len(states) < count:
        roll = rng.random()
        if roll < 0.1:
            idea = post_idea(rng, jam, rng.choice(people), next(at))
            ideas.append(idea)
            states.extend(mapper_state(idea))
        elif roll < 0.3:
            comment = Comment.post(
                comment_id=uuid4(),
                idea=rng.choice(ideas),
                jam=jam,
                author=rng.choice(people),
                parent=None,
                body=text(rng, rng.randint(60, 240)),
                at=next(at),
            )
            states.extend(mapper_state(comment))
        elif roll < 0.93 or not votes:
            idea, voter = rng.choice(ideas), rng.choice(people)
            vote = Vote.cast(
                idea=idea, jam=jam, voter=voter, value=rng.choice((1, -1)), at=next(at)
            )
            votes.append(vote)
            states.extend(mapper_state(vote))
        else:
            vote = rng.choice(votes)
            voter = next(p for p in people if p.id == vote.participant_id)
            idea = next(i for i in ideas if i.id == vote.idea_id)
            vote.change(value=-vote.value, idea=idea, jam=jam, voter=voter, at=next(at))
            states.extend(mapper_state(vote))
    return states[:count]


def post_idea(rng: random.Random, jam: Jam, author: Participant, at: datetime) -> Idea:
    return Idea.post(
        idea_id=uuid4(),
        jam=jam,
        author=author,
        forum=rng.choice(FORUMS),
        title=text(rng, rng.randint(20, 60)),
        body=text(rng, rng.randint(200, 400)),
        at=at,
    )


def best_of(repeats: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - began)
    return best


def measure(transcoder: Transcoder, states: list[dict[str, Any]], repeats: int) -> dict[str, float]:
    encode, decode = transcoder.encode, transcoder.decode
    blobs = [encode(s) for s in states]

    def encode_all() -> None:
        for state in states:
            encode(state)

    def decode_all() -> None:
        for blob in blobs:
            decode(blob)

    return {
        "encode": len(states) / best_of(repeats, encode_all),
        "decode": len(states) / best_of(repeats, decode_all),
        "bytes": sum(map(len, blobs)) / len(blobs),
    }


def round_trips(transcoder: Transcoder, states: Iterable[dict[str, Any]]) -> int:
    """How many states fail to come back equal, with equal types."""
    failures = 0
    for state in states:
        back = transcoder.decode(transcoder.encode(state))
        same_types = all(type(back.get(k)) is type(v) for k, v in state.items())
        failures += back != state or not same_types
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--distinct", type=int, default=20_000, help="distinct states, cycled")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    pool = event_states(min(args.distinct, args.events), args.seed)
    states = [pool[n % len(pool)] for n in range(args.events)]
    transcoders = {"json (library)": library_json(), "msgpack (ours)": MsgpackTranscoder()}

    failed = {name: round_trips(t, pool) for name, t in transcoders.items()}
    results = {name: measure(t, states, args.repeats) for name, t in transcoders.items()}

    print(
        f"\n{args.events:,} event states ({len(pool):,} distinct; 10% ideas, 20% comments, "
        f"70% votes), best of {args.repeats}\n"
    )
    print(
        f"| {'transcoder':<15} | {'encode events/s':>15} | {'decode events/s':>15} | bytes/event |"
    )
    print(f"|{'-' * 17}|{'-' * 17}|{'-' * 17}|{'-' * 13}|")
    for name, r in results.items():
        print(
            f"| {name:<15} | {r['encode']:>15,.0f} | {r['decode']:>15,.0f} | {r['bytes']:>11.0f} |"
        )
    ours, theirs = results["msgpack (ours)"], results["json (library)"]
    print(
        f"\nmsgpack/json: encode {ours['encode'] / theirs['encode']:.2f}x, "
        f"decode {ours['decode'] / theirs['decode']:.2f}x, "
        f"size {ours['bytes'] / theirs['bytes']:.2f}x"
    )
    for name, count in failed.items():
        print(f"round trip {name}: {'ok' if not count else f'{count} states differ'}")
    return 1 if any(failed.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
