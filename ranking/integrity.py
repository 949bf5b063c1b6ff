"""Coordinated voting: accounts that vote alike, act together, and go against the room.

1. Link two accounts when their votes are near identical: the Jaccard similarity
   of their sets of (idea, agree|disagree) is at least `similarity`, over at
   least `min_shared` identical votes. Honest voters browsing hundreds of ideas
   rarely share that many; a brigade voting one list does.
2. Take the connected components of at least `min_group` accounts.
3. In each, take the cohort that acted together: the most members that either
   joined within one `burst_window` as new accounts (first vote within `fresh`
   seconds of joining) or whose median vote time falls within one window (old
   accounts woken at once), keeping only those still linked to each other
   within it. Chance links can chain honest accounts onto a brigade's
   component; the cohort leaves them out.
4. Flag the cohort when it has at least `min_group` members and goes against
   the room: on its common votes (those cast by at least half of it), its share
   minus everybody else's (smoothed) share, averaged (the lift), is at least `lift`.

Votes alone cannot tell a brigade from an honest bloc that thinks alike, so a
like-minded group voting at its own pace is never flagged, and neither is a
crowd that joins at the opening and votes what everybody votes: its lift is
small. A cohort of most of the voters is the room itself (lift 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from .model import AGREE, DISAGREE
from .support import Ballots

BLOCK = 2048  # rows of the similarity product computed at once, to bound memory
# A vote cast by more accounts than this is common: two accounts are compared only
# when they share a rarer vote, and their common votes then count in full. Without
# this, the jam's few most voted ideas make every pair of its accounts a candidate
# (50,000 accounts: 1.2 billion pairs); sharing only what thousands vote for is
# not a sign of coordination. Jams below this size compare every pair, as before.
COMMON = 1000
GROW_BLOCK = 32  # cohort rows compared with everybody at once: each may share votes with all


@dataclass(frozen=True)
class SuspectGroup:
    members: tuple[int, ...]  # a linked group: participant indices in the ballots
    cohort: tuple[int, ...]  # the most of them that joined, or voted, within one window
    lift: float  # the cohort's
    flagged: bool


class CoordinationDetector:
    """Finds coordinated accounts in `Ballots`, given each participant's join time.

    Fitted attributes: `groups_` (every linked group of at least `min_group`,
    flagged or not), `suspects_` (sorted participant indices of flagged cohorts).
    """

    def __init__(
        self,
        similarity: float = 0.25,
        min_shared: int = 5,
        min_group: int = 5,
        lift: float = 0.4,
        burst_window: float = 3600.0,
        fresh: float = 7200.0,
    ) -> None:
        self.similarity = similarity
        self.min_shared = min_shared
        self.min_group = min_group
        self.lift = lift
        self.burst_window = burst_window
        self.fresh = fresh

    def fit(self, ballots: Ballots, joined_at: np.ndarray) -> CoordinationDetector:
        """`joined_at[participant]` in seconds since the epoch (NaN when unknown)."""
        votes = _vote_items(ballots)
        first = np.full(len(ballots.participants), np.inf)
        np.minimum.at(first, ballots.voter, ballots.at)
        fresh = first - joined_at <= self.fresh
        joined = np.where(fresh, joined_at, np.nan)  # only new accounts can join in a burst
        voted = _median_vote_time(ballots)
        graph = _links(votes, self.similarity, self.min_shared)
        everyone = np.arange(votes.shape[0])
        self.groups_: list[SuspectGroup] = []
        crowded = (np.bincount(votes.indices, minlength=votes.shape[1]) > COMMON).any()
        for members in _components(graph, everyone, self.min_group):
            busiest, times = max(
                (self._window(members, joined[members]), joined),
                (self._window(members, voted[members]), voted),
                key=lambda window: len(window[0]),
            )
            # Honest accounts chained onto the group through others are not linked
            # to the cohort itself: keep only what stays linked within the window.
            kept = _components(graph, busiest, self.min_group)
            cohort = np.sort(np.concatenate(kept)) if kept else np.zeros(0, dtype=int)
            lift = _lift(votes, cohort, _common(votes, cohort)) if len(cohort) else 0.0
            if crowded and len(cohort) >= self.min_group and lift >= self.lift:
                cohort = self._grow(votes, cohort, times)
                lift = _lift(votes, cohort, _common(votes, cohort))
            flagged = len(cohort) >= self.min_group and lift >= self.lift
            self.groups_.append(
                SuspectGroup(tuple(members.tolist()), tuple(cohort.tolist()), lift, flagged)
            )
        self.suspects_ = np.array(
            sorted({m for g in self.groups_ if g.flagged for m in g.cohort}), dtype=np.int64
        )
        return self

    def _grow(self, votes: sparse.csr_matrix, cohort: np.ndarray, times: np.ndarray) -> np.ndarray:
        """The cohort and every account linked to one of its members by all their votes,
        common ones included, that acted within the cohort's window.

        The graph left out links made of common votes alone; with them, the cohort
        could be part of a crowd (the exact graph would have put it there, and a
        cohort of most voters is the room). One hop restores that crowd where it
        matters, at the cost of the cohort's rows only.
        """
        size = np.diff(votes.indptr)
        voters = int((size > 0).sum())
        known = times[cohort]
        low, high = known.max() - self.burst_window, known.min() + self.burst_window
        grown = cohort
        for start in range(0, len(cohort), GROW_BLOCK):
            rows = cohort[start : start + GROW_BLOCK]
            shared = (votes[rows] @ votes.T).tocoo()
            i, j, n = rows[shared.row], shared.col, shared.data
            near = _alike(n, size[i] + size[j] - n, self.similarity, self.min_shared)
            within = (times[j] >= low) & (times[j] <= high)  # False where the time is unknown
            grown = np.union1d(grown, j[near & within])
            if len(grown) * 2 > voters:  # most of the voters: the room, never flagged
                break
        return grown

    def _window(self, members: np.ndarray, times: np.ndarray) -> np.ndarray:
        """The members whose times fall in the busiest window of `burst_window` seconds."""
        known = ~np.isnan(times)
        members, times = members[known], times[known]
        if not len(times):
            return members  # empty: nobody's time is known
        order = np.argsort(times, kind="stable")
        members, times = members[order], times[order]
        ends = np.searchsorted(times, times + self.burst_window, side="right")
        start = int(np.argmax(ends - np.arange(len(times))))
        return np.sort(members[start : ends[start]])


def _median_vote_time(ballots: Ballots) -> np.ndarray:
    """Each participant's median vote time (NaN without votes)."""
    medians = np.full(len(ballots.participants), np.nan)
    order = np.lexsort((ballots.at, ballots.voter))
    voter, at = ballots.voter[order], ballots.at[order]
    people, starts, counts = np.unique(voter, return_index=True, return_counts=True)
    medians[people] = (at[starts + (counts - 1) // 2] + at[starts + counts // 2]) / 2
    return medians


def _vote_items(ballots: Ballots) -> sparse.csr_matrix:
    """Participants x (idea, agree | disagree): 1 where the participant cast that vote."""
    cast = (ballots.value == AGREE) | (ballots.value == DISAGREE)
    column = ballots.idea[cast] * 2 + (ballots.value[cast] == DISAGREE)
    shape = (len(ballots.participants), 2 * len(ballots.ideas))
    ones = np.ones(int(cast.sum()), dtype=np.float64)
    return sparse.csr_matrix((ones, (ballots.voter[cast], column)), shape=shape)


def _links(votes: sparse.csr_matrix, similarity: float, min_shared: int) -> sparse.csr_matrix:
    """The graph of accounts linked by near-identical votes (upper triangle)."""
    size = np.diff(votes.indptr)
    common = np.bincount(votes.indices, minlength=votes.shape[1]) > COMMON
    rare = votes.copy()
    rare.data[common[rare.indices]] = 0  # pairs are found by their rare votes...
    rare.eliminate_zeros()
    bits = _common_bits(votes, common)  # ...and their common votes counted as bits
    rows, cols = [], []
    for start in range(0, votes.shape[0], BLOCK):
        # Only partners from `start` on: the lower triangle would be thrown away.
        shared = (rare[start : start + BLOCK] @ rare[start:].T).tocoo()
        i, j, n = shared.row + start, shared.col + start, shared.data
        later = i < j
        i, j, n = i[later], j[later], n[later]
        if bits.shape[1]:
            n = n + np.bitwise_count(bits[i] & bits[j]).sum(axis=1)
        keep = _alike(n, size[i] + size[j] - n, similarity, min_shared)
        rows.append(i[keep])
        cols.append(j[keep])
    i, j = np.concatenate(rows or [[]]).astype(int), np.concatenate(cols or [[]]).astype(int)
    n = votes.shape[0]
    return sparse.csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))


def _alike(shared: np.ndarray, union: np.ndarray, similarity: float, min_shared: int) -> np.ndarray:
    """Which pairs are linked: enough identical votes, and a Jaccard of at least `similarity`."""
    return (shared >= min_shared) & (shared >= similarity * union)


def _common_bits(votes: sparse.csr_matrix, common: np.ndarray) -> np.ndarray:
    """Per account, its votes in the `common` columns as packed bits (accounts x bytes)."""
    slot = np.cumsum(common) - 1  # a common column's bit number
    bits = np.zeros((votes.shape[0], (int(common.sum()) + 7) // 8), dtype=np.uint8)
    account = np.repeat(np.arange(votes.shape[0]), np.diff(votes.indptr))
    mine = common[votes.indices]
    bit = slot[votes.indices[mine]]
    np.bitwise_or.at(bits, (account[mine], bit // 8), (1 << (bit % 8)).astype(np.uint8))
    return bits


def _components(graph: sparse.csr_matrix, people: np.ndarray, min_size: int) -> list[np.ndarray]:
    """Connected components of at least `min_size` among `people`, by their links to each other."""
    if len(people) < min_size:
        return []
    _, label = connected_components(graph[people][:, people], directed=False)
    sizes = np.bincount(label)
    return [people[label == c] for c in np.flatnonzero(sizes >= min_size)]


def _common(votes: sparse.csr_matrix, members: np.ndarray) -> np.ndarray:
    """The vote columns held by at least half of the members."""
    mine = np.asarray(votes[members].sum(axis=0)).ravel()
    return np.flatnonzero(mine >= len(members) / 2)


def _lift(votes: sparse.csr_matrix, members: np.ndarray, common: np.ndarray) -> float:
    """Mean, over the group's common votes, of its share minus everybody else's share.

    A share is among those who voted on the idea at all (either way); everybody
    else's is smoothed, (votes + 1) / (voted + 2), so an idea nobody else voted
    on counts as an even split. A group of most of the voters is the room: 0.
    """
    inside = np.zeros(votes.shape[0], dtype=bool)
    inside[members] = True
    voters = np.asarray(votes.sum(axis=1)).ravel() > 0
    if not len(common) or inside.sum() * 2 > voters.sum():
        return 0.0
    mine = np.asarray(votes[inside].sum(axis=0)).ravel()
    theirs = np.asarray(votes[~inside].sum(axis=0)).ravel()
    other = common ^ 1  # the opposite vote on the same idea
    my_share = mine[common] / (mine[common] + mine[other])
    their_share = (theirs[common] + 1) / (theirs[common] + theirs[other] + 2)
    return float(np.mean(my_share - their_share))
