"""Who supports what: standing votes per ranked idea, tallied by any grouping.

Duplicates count with their original: an idea whose `duplicate_of` stands is
folded into its root idea, and a participant who voted on both counts once
(their latest vote stands). Hidden ideas are not ranked, their votes count
nowhere and no original lists them among its duplicates. When an original is
hidden, its earliest visible duplicate stands in for it: the others count with
that one (hiding one offensive original does not take its whole family, and
their votes, off the shortlist).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from .model import AGREE, DISAGREE, PASS, IdeaRow, JamSnapshot, Support


def roots(ideas: Iterable[IdeaRow]) -> dict[str, str]:
    """Each idea id -> the id of the original its votes count with (itself if none).

    Chains of duplicates resolve to their first idea; a link to an unknown idea
    or a cycle leaves the idea its own root. A hidden root's visible duplicates
    count with the earliest of them (by posting time, then id) instead.
    """
    ideas = list(ideas)
    link = {i.id: i.duplicate_of for i in ideas}
    out: dict[str, str] = {}
    for start in link:
        path, at = [start], start
        while (after := link[at]) is not None and after in link:
            if after in path:  # a cycle: nobody in it is anybody's original
                at = start
                break
            path.append(after)
            at = after
        out[start] = at
    hidden = {i.id for i in ideas if i.hidden}
    stand_in: dict[str, str] = {}
    for i in sorted(ideas, key=lambda i: (i.posted_at, i.id)):
        root = out[i.id]
        if root in hidden and i.id not in hidden:
            out[i.id] = stand_in.setdefault(root, i.id)
    return out


@dataclass(frozen=True)
class Ballots:
    """Standing votes on the ranked ideas, one per (idea, participant), as arrays."""

    # Sorted by id, so that nothing downstream (k-means above all) depends on row order.
    ideas: tuple[str, ...]  # ranked ideas
    participants: tuple[str, ...]  # everyone known or voting
    idea: np.ndarray  # per ballot: index into `ideas`
    voter: np.ndarray  # per ballot: index into `participants`
    value: np.ndarray  # AGREE, DISAGREE or PASS
    at: np.ndarray  # seconds since the epoch
    duplicates: dict[str, tuple[str, ...]]  # ranked idea -> ideas folded into it

    @classmethod
    def of(cls, snapshot: JamSnapshot, leave_out: frozenset[str] = frozenset()) -> Ballots:
        """The snapshot's standing votes, without the participants in `leave_out`."""
        hidden = {i.id for i in snapshot.ideas if i.hidden}
        root = roots(snapshot.ideas)
        ranked = tuple(
            sorted(i.id for i in snapshot.ideas if root[i.id] == i.id and i.id not in hidden)
        )
        index = {idea_id: n for n, idea_id in enumerate(ranked)}
        # Where each idea's votes count: its original, if ranked; nowhere (-1) if hidden.
        target = {i: index[r] for i, r in root.items() if r in index and i not in hidden}
        # An original lists exactly the ideas whose votes it counts: a hidden duplicate
        # counts nowhere, so it is not listed (nor shown to leadership) either.
        duplicates: dict[str, list[str]] = {idea_id: [] for idea_id in ranked}
        for i in sorted(snapshot.ideas, key=lambda i: (i.posted_at, i.id)):
            if root[i.id] != i.id and i.id in target:
                duplicates[root[i.id]].append(i.id)
        people = sorted(
            {p.id for p in snapshot.participants} | {v.participant_id for v in snapshot.votes}
        )
        person = {p: n for n, p in enumerate(people)}
        votes = snapshot.votes
        idea = np.array([target.get(v.idea_id, -1) for v in votes], dtype=np.int64)
        voter = np.array([person[v.participant_id] for v in votes], dtype=np.int64)
        value = np.array([v.value for v in votes], dtype=np.int64)
        at = np.array([v.at.timestamp() for v in votes], dtype=np.float64)
        keep = (idea >= 0) & np.isin(value, (AGREE, DISAGREE, PASS))
        if leave_out:
            keep &= ~np.array([v.participant_id in leave_out for v in votes], dtype=bool)
        idea, voter, value, at = idea[keep], voter[keep], value[keep], at[keep]
        # The latest vote per (idea, participant) stands; on a tie, the later row.
        key = idea * max(len(people), 1) + voter
        order = np.lexsort((np.arange(len(key)), at, key))
        last = order[np.append(key[order][1:] != key[order][:-1], True)] if len(key) else order
        return cls(
            ideas=ranked,
            participants=tuple(people),
            idea=idea[last],
            voter=voter[last],
            value=value[last],
            at=at[last],
            duplicates={k: tuple(v) for k, v in duplicates.items()},
        )

    def without(self, voters: np.ndarray) -> Ballots:
        """These ballots less those of `voters` (participant indices): the same as
        `Ballots.of(snapshot, leave_out)` for those participants, without reading
        the snapshot again (a participant's votes stand or not on their own)."""
        keep = ~np.isin(self.voter, voters)
        return replace(
            self,
            idea=self.idea[keep],
            voter=self.voter[keep],
            value=self.value[keep],
            at=self.at[keep],
        )


@dataclass(frozen=True)
class Tally:
    """Agree, disagree and pass counts per idea (rows) and group (columns)."""

    agree: np.ndarray
    disagree: np.ndarray
    passes: np.ndarray

    @property
    def seen(self) -> np.ndarray:
        return self.agree + self.disagree + self.passes

    @classmethod
    def of(cls, ballots: Ballots, label: np.ndarray, groups: int) -> Tally:
        """Counts by the group of each voter (`label[participant]`, -1 = in no group)."""
        group = label[ballots.voter] if len(ballots.voter) else ballots.voter
        keep = group >= 0
        cells = len(ballots.ideas) * groups

        def count(value: int) -> np.ndarray:
            mask = keep & (ballots.value == value)
            flat = ballots.idea[mask] * groups + group[mask]
            counts = np.bincount(flat, minlength=cells) if cells else np.zeros(0, np.int64)
            return counts.reshape(len(ballots.ideas), groups)

        return cls(count(AGREE), count(DISAGREE), count(PASS))

    def columns(self, keep: np.ndarray) -> Tally:
        return Tally(self.agree[:, keep], self.disagree[:, keep], self.passes[:, keep])

    def supports(self, names: Iterable[str]) -> list[dict[str, Support]]:
        """`support` for every row at once (one conversion from numpy, not one per cell)."""
        names = tuple(names)
        cells = zip(self.agree.tolist(), self.disagree.tolist(), self.passes.tolist(), strict=True)
        return [
            {name: Support(*counts) for name, *counts in zip(names, a, d, p, strict=True)}
            for a, d, p in cells
        ]

    def support(self, row: int, names: Iterable[str]) -> dict[str, Support]:
        return {
            name: Support(
                int(self.agree[row, col]), int(self.disagree[row, col]), int(self.passes[row, col])
            )
            for col, name in enumerate(names)
        }


def wilson(agree: np.ndarray, seen: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval of the agree share; (0, 1) where nothing was seen."""
    n = np.maximum(seen, 1).astype(float)
    p = agree / n
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = np.where(seen > 0, (centre - spread) / (1 + z * z / n), 0.0)
    high = np.where(seen > 0, (centre + spread) / (1 + z * z / n), 1.0)
    return np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)


def consensus(tally: Tally) -> np.ndarray:
    """Support that holds across groups: per idea, the lowest over groups of (agree+1)/(seen+2).

    (agree+1)/(seen+2) is Pol.is' per-group estimate (an unseen idea counts as
    an even split). Pol.is multiplies them (group-aware consensus); taking the
    lowest instead means 70% in both of two groups beats 100% in one and 50% in
    the other, which the product does not. With no groups, the whole jam is one.
    """
    if tally.agree.shape[1] == 0:
        return np.full(tally.agree.shape[0], 0.5)
    return ((tally.agree + 1.0) / (tally.seen + 2.0)).min(axis=1)


def segment_labels(snapshot: JamSnapshot, ballots: Ballots, names: Mapping[str, int]) -> np.ndarray:
    """Each participant's segment index (-1 for a segment outside `names` or unknown)."""
    segment = {p.id: p.segment for p in snapshot.participants}
    return np.array([names.get(segment.get(p, ""), -1) for p in ballots.participants], np.int64)
