"""The snapshot's rows: plain values, cheap to hold by the million."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import msgspec

from ranking.model import CommentRow, IdeaRow, ParticipantRow, VoteRow

AT = datetime(2030, 5, 1, 9, tzinfo=UTC)


def test_snapshot_rows_carry_no_cycle_collector_header():
    # A 10x jam's snapshot holds ten million votes. Rows of text, numbers and times
    # cannot form cycles, so they leave out the collector's bookkeeping (16 bytes each).
    class Tracked(msgspec.Struct, frozen=True):
        idea_id: str
        participant_id: str
        value: int
        at: datetime

    vote = VoteRow("i1", "p2", 1, AT)
    assert sys.getsizeof(vote) == sys.getsizeof(Tracked("i1", "p2", 1, AT)) - 16
    for row in (
        IdeaRow("i1", "ideas", "p1", "employee", "Title", "Body", AT),
        ParticipantRow("p2", "client", AT),
        CommentRow("i1", "p2", AT),
    ):
        assert type(row).__struct_config__.gc is False
    assert vote == VoteRow("i1", "p2", 1, AT)  # still plain, comparable values
