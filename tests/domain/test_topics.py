"""The topic board: organizers' decisions about clusters, kept so later refreshes respect them."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.errors import ConflictingState, InvalidText, InvalidValue, NotOrganizer
from domain.topics import TopicBoard, require_cluster_id, topic_board_id
from tests.domain.builders import DURING, MINUTE, create_jam, join, replay


def a_board() -> tuple[TopicBoard, object]:
    organizer = join("organizer")
    jam = create_jam(organizer)
    return TopicBoard.open(jam_id=jam.id, by=organizer, at=DURING), organizer


def test_one_board_per_jam_with_an_id_derived_from_the_jam() -> None:
    board, _ = a_board()
    assert board.id == topic_board_id(board.jam_id)
    assert topic_board_id(board.jam_id) != topic_board_id(uuid4())


def test_only_an_organizer_of_the_jam_decides_about_clusters() -> None:
    organizer = join("organizer")
    jam = create_jam(organizer)
    with pytest.raises(NotOrganizer):
        TopicBoard.open(jam_id=jam.id, by=join(jam=jam), at=DURING)
    board = TopicBoard.open(jam_id=jam.id, by=organizer, at=DURING)
    with pytest.raises(NotOrganizer):
        board.rename(cluster_id="t1", label="Remote work", by=join(jam=jam), at=DURING)
    with pytest.raises(NotOrganizer):
        board.pin(cluster_id="t1", ideas=[uuid4()], by=join("organizer", create_jam()), at=DURING)


def test_rename_sets_a_checked_label_and_refuses_a_no_op() -> None:
    board, organizer = a_board()
    board.rename(cluster_id="t3", label="  Remote   work ", by=organizer, at=DURING)
    assert board.labels == {"t3": "Remote work"}
    with pytest.raises(ConflictingState):
        board.rename(cluster_id="t3", label="Remote work", by=organizer, at=DURING + MINUTE)
    with pytest.raises(InvalidText):
        board.rename(cluster_id="t3", label=" ", by=organizer, at=DURING + MINUTE)
    with pytest.raises(InvalidText):
        board.rename(cluster_id="t3", label="x" * 81, by=organizer, at=DURING + MINUTE)


@pytest.mark.parametrize("bad", ["", "other", "t", "T1", "t1;drop", "t1.", "x7", "t" + "9" * 10])
def test_cluster_ids_are_checked(bad: str) -> None:
    with pytest.raises(InvalidValue):
        require_cluster_id(bad)


def test_a_topic_left_unchosen_is_asked_for() -> None:
    # A merge sent without choosing the topic to merge into said: “” is not a topic cluster id.
    with pytest.raises(InvalidValue, match=r"^choose a topic$"):
        require_cluster_id("")


def test_pin_records_the_ideas_and_unpin_reverses_it() -> None:
    board, organizer = a_board()
    a, b = uuid4(), uuid4()
    board.pin(cluster_id="t1", ideas=[b, a, a], by=organizer, at=DURING)
    assert board.pinned == {"t1"}
    pinned = board.collect_events()[-1]
    assert pinned.ideas == sorted([a, b])  # the decision names the ideas, once each
    with pytest.raises(ConflictingState):
        board.pin(cluster_id="t1", ideas=[a], by=organizer, at=DURING)
    board.unpin(cluster_id="t1", by=organizer, at=DURING + MINUTE)
    assert board.pinned == set()
    with pytest.raises(ConflictingState):
        board.unpin(cluster_id="t1", by=organizer, at=DURING + MINUTE)
    with pytest.raises(InvalidValue):
        board.pin(cluster_id="t1", ideas=[], by=organizer, at=DURING)


def test_a_merged_cluster_is_retired_and_cannot_be_decided_about_again() -> None:
    board, organizer = a_board()
    board.pin(cluster_id="t1", ideas=[uuid4()], by=organizer, at=DURING)
    with pytest.raises(ConflictingState):
        board.merge(cluster_id="t2", into="t2", ideas=[uuid4()], by=organizer, at=DURING)
    board.merge(cluster_id="t1", into="t2", ideas=[uuid4()], by=organizer, at=DURING)
    assert board.retired == {"t1"}
    assert board.pinned == set()
    for decide in (
        lambda: board.rename(cluster_id="t1", label="Again", by=organizer, at=DURING),
        lambda: board.merge(cluster_id="t3", into="t1", ideas=[uuid4()], by=organizer, at=DURING),
        lambda: board.split(cluster_id="t1", ideas=[uuid4(), uuid4()], by=organizer, at=DURING),
    ):
        with pytest.raises(ConflictingState):
            decide()


def test_split_needs_two_ideas_and_retires_the_cluster() -> None:
    board, organizer = a_board()
    with pytest.raises(InvalidValue):
        board.split(cluster_id="t4", ideas=[uuid4()], by=organizer, at=DURING)
    board.split(cluster_id="t4", ideas=[uuid4(), uuid4()], by=organizer, at=DURING)
    assert board.retired == {"t4"}
    board.rename(cluster_id="t4.1", label="Half of it", by=organizer, at=DURING)


def test_the_board_is_rebuilt_from_its_events() -> None:
    board, organizer = a_board()
    board.rename(cluster_id="t1", label="Remote work", by=organizer, at=DURING)
    board.pin(cluster_id="t2", ideas=[uuid4()], by=organizer, at=DURING)
    board.merge(cluster_id="t3", into="t2", ideas=[uuid4()], by=organizer, at=DURING)
    copy = replay(board.collect_events())
    assert (copy.labels, copy.pinned, copy.retired) == (board.labels, board.pinned, board.retired)
