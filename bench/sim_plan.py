"""The simulated jam: its volume, its diurnal arrival curve, and what people write.

Shared by both modes of `bench/jam_sim.py`. Text comes from the demo's themed
phrase lists, so topic clusters have something real to find.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.values import Segment
from jam.demo import COMMENTS, FORUMS, OPENERS, SEGMENT_WEIGHTS

SEGMENTS = [s.value for s in SEGMENT_WEIGHTS]
WEIGHTS = list(SEGMENT_WEIGHTS.values())
assert set(SEGMENTS) == {s.value for s in Segment}
JAM_HOURS = 72
# InnovationJam 2006 phase 1 opened on 24 July 2006, 14:00 UTC (72 hours).
JAM_START = datetime(2006, 7, 24, 14, tzinfo=UTC)


@dataclass(frozen=True)
class Volume:
    """How much a whole jam holds. Phase 1 of InnovationJam 2006: 53,000 people and
    37,000 ideas as published; 120,000 comments and 1,000,000 votes assumed."""

    participants: int = 53_000
    ideas: int = 37_000
    comments: int = 120_000
    votes: int = 1_000_000

    def scaled(self, factor: float) -> Volume:
        return Volume(
            *(
                max(1, round(n * factor))
                for n in (self.participants, self.ideas, self.comments, self.votes)
            )
        )

    @property
    def commands(self) -> int:
        return self.participants + self.ideas + self.comments + self.votes


# Where participants are, as shares and local peak hours (UTC) of a working day:
# the Americas, Europe/Africa and Asia-Pacific.
REGIONS = ((0.40, 16.0), (0.35, 11.0), (0.25, 3.0))


def diurnal(hour_utc: float) -> float:
    """Relative activity at an hour of the day: each region's day is a bump round its peak."""
    level = 0.0
    for share, peak in REGIONS:
        d = (hour_utc - peak + 12) % 24 - 12
        level += share * math.exp(-(d**2) / (2 * 3.5**2))
    return 0.15 + level


class ArrivalCurve:
    """Maps the k-th of n actions to a moment of the jam, following `diurnal`."""

    def __init__(self, start: datetime = JAM_START, hours: int = JAM_HOURS) -> None:
        self.start = start
        minutes = hours * 60
        cumulative, total = [], 0.0
        for m in range(minutes):
            total += diurnal((start.hour + start.minute / 60 + m / 60) % 24)
            cumulative.append(total)
        self._cumulative = [c / total for c in cumulative]
        self.hours = hours

    def moment(self, share: float) -> datetime:
        """When the action at `share` (0..1) of the whole jam happens."""
        m = min(bisect.bisect_left(self._cumulative, share), len(self._cumulative) - 1)
        before = self._cumulative[m - 1] if m else 0.0
        within = (share - before) / max(self._cumulative[m] - before, 1e-12)
        return self.start + timedelta(minutes=m + min(max(within, 0.0), 1.0))

    def rate_at(self, share_of_time: float) -> float:
        """Relative arrival rate at a share (0..1) of the jam's duration, for real-time pacing."""
        hour = (self.start.hour + share_of_time * self.hours) % 24
        return diurnal(hour)


class Writer:
    """Titles, bodies and comments on the demo's themes, from a seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.forums = list(FORUMS)

    def idea(self) -> tuple[str, str, str]:
        rng = self.rng
        slug = rng.choice(self.forums)
        _, _, subjects, purposes = FORUMS[slug]
        subject, purpose = rng.choice(subjects), rng.choice(purposes)
        title = f"{rng.choice(OPENERS)} {subject} {purpose}"[:120]
        other = rng.choice(subjects)
        body = (
            f"{title}. Today this is hard for many of us. With {subject} we could start "
            f"within a quarter, measure the effect and grow it if it works; {other} "
            f"would help as well, {rng.choice(purposes)}. Who wants to help?"
        )
        return slug, title, body

    def comment(self) -> str:
        rng = self.rng
        return f"{rng.choice(COMMENTS)} {rng.choice(COMMENTS)}"

    def segment(self) -> str:
        return self.rng.choices(SEGMENTS, WEIGHTS)[0]
