"""What the ranking reads and what it returns: plain, immutable data.

The ranking worker fills a `JamSnapshot` from the read models (everything the log
says up to one position); `ranking` turns it into clusters, scores and the
shortlist. Nothing here knows where the data came from, so the same snapshot and
the same `RankingConfig` always give the same result.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

SEGMENTS = ("employee", "client", "family", "partner")

# Vote values. A pass ("seen, no opinion": Pol.is imports) is a row with value 0.
AGREE, PASS, DISAGREE = 1, 0, -1


# The rows of a snapshot hold only text, numbers and times, never each other, so they
# carry no cycle-collector header (16 bytes a row; a 10x jam has ten million votes).
class IdeaRow(msgspec.Struct, frozen=True, gc=False):
    id: str
    forum: str
    author_id: str
    author_segment: str
    title: str
    body: str
    posted_at: datetime
    hidden: bool = False
    duplicate_of: str | None = None  # an organizer's standing link to the original
    decision: str | None = None

    @property
    def text(self) -> str:
        return f"{self.title}. {self.body}" if self.body else self.title


class VoteRow(msgspec.Struct, frozen=True, gc=False):
    idea_id: str
    participant_id: str
    value: int  # AGREE, DISAGREE or PASS
    at: datetime


class ParticipantRow(msgspec.Struct, frozen=True, gc=False):
    id: str
    segment: str
    joined_at: datetime


class CommentRow(msgspec.Struct, frozen=True, gc=False):
    idea_id: str
    author_id: str
    at: datetime
    hidden: bool = False


class ClusterEdit(msgspec.Struct, frozen=True):
    """An organizer's decision about a topic cluster, in log order.

    kind: "rename" (label), "pin", "unpin", "merge" (cluster_id into target_id),
    "split" (cluster_id into two or more).
    """

    kind: str
    cluster_id: str
    at: datetime
    label: str = ""
    target_id: str = ""
    ideas: tuple[str, ...] = ()  # the cluster's ideas as the organizer saw them (pin/merge/split)


class JamSnapshot(msgspec.Struct, frozen=True):
    jam_id: str
    position: int  # the log position the snapshot reflects
    as_of: datetime  # the time of that position: "now" for trends and growth
    ideas: tuple[IdeaRow, ...]
    votes: tuple[VoteRow, ...]
    participants: tuple[ParticipantRow, ...]
    comments: tuple[CommentRow, ...] = ()
    edits: tuple[ClusterEdit, ...] = ()


# --- What the ranking returns -------------------------------------------------


class Cluster(msgspec.Struct, frozen=True):
    """A topic: stable id and label across refreshes, with what describes it."""

    id: str  # stable across refreshes ("t1", "t2", ...); "other" is the outlier bucket
    label: str
    terms: tuple[str, ...]  # top key terms, most distinctive first
    size: int
    representatives: tuple[str, ...]  # idea ids, most central first
    growth_last_hour: int  # ideas posted in the hour before as_of
    emerging: bool
    segments: dict[str, int]  # ideas per author segment
    x: float  # position on the 2-D cluster map
    y: float
    pinned: bool = False
    renamed: bool = False  # label set by an organizer


class Topics(msgspec.Struct, frozen=True):
    """One refresh of the topic clusters."""

    position: int
    as_of: datetime
    clusters: tuple[Cluster, ...]
    assignment: dict[str, str]  # idea id -> cluster id ("other" for outliers)
    method: str  # how k was chosen and which vectors, for the record
    next_id: int = 1  # the number the next new cluster id takes: ids are never reused


class Support(msgspec.Struct, frozen=True):
    agree: int
    disagree: int
    passes: int = 0


class IdeaEvidence(msgspec.Struct, frozen=True):
    """Why an idea ranks where it does."""

    idea_id: str
    rank: int  # 1 = best; ideas merged into an original as duplicates are not ranked (0)
    score: float
    low: float  # interval of the support estimate behind the score
    high: float
    wilson: float
    bridging: float
    by_segment: dict[str, Support]
    by_group: dict[str, Support]  # opinion group -> support
    comments: int
    trend: float  # votes and comments in the last hour relative to the idea's average hour
    cluster_id: str
    duplicates: tuple[str, ...]  # ideas linked to this one as duplicates (their votes count here)
    suspect_votes: int
    rank_without_suspects: int  # rank when suspect votes are left out
    depends_on_suspects: bool  # enters or leaves the shortlist because of suspect votes


class Theme(msgspec.Struct, frozen=True):
    cluster_id: str
    rank: int
    score: float
    ideas: tuple[str, ...]  # the theme's best ideas, best first


class DuplicatePair(msgspec.Struct, frozen=True):
    idea_id: str  # the later idea
    original_id: str  # the earlier, likely original
    similarity: float


class Ranking(msgspec.Struct, frozen=True):
    config_version: str
    position: int
    as_of: datetime
    ideas: tuple[IdeaEvidence, ...]  # every visible, non-duplicate idea, best first
    shortlist: tuple[str, ...]  # diverse top ideas (MMR across clusters), with all votes
    shortlist_clean: tuple[str, ...]  # the same without suspect votes
    themes: tuple[Theme, ...]
    groups: int  # opinion groups found
    suspects: tuple[str, ...]  # participant ids whose votes look coordinated
    # Without the suspects' votes (empty when there are none: then it is all the same).
    # `ideas_clean` holds only the ideas that view shows: its shortlist and themes.
    ideas_clean: tuple[IdeaEvidence, ...] = ()
    themes_clean: tuple[Theme, ...] = ()
    groups_clean: int = 0

    def view(
        self, clean: bool
    ) -> tuple[tuple[str, ...], tuple[IdeaEvidence, ...], tuple[Theme, ...], int]:
        """The shortlist, its evidence, the themes and the number of opinion groups, with
        every vote or without the suspects' votes."""
        # A ranking stored before the clean evidence was kept has none: its own evidence
        # then serves (until the worker ranks the jam again), rather than nothing.
        if clean and self.suspects and self.ideas_clean:
            return self.shortlist_clean, self.ideas_clean, self.themes_clean, self.groups_clean
        return (
            (self.shortlist_clean if clean else self.shortlist),
            self.ideas,
            self.themes,
            self.groups,
        )
