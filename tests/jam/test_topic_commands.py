"""Organizers' decisions about topic clusters, through the application on both stores."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.errors import ConflictingState, NotOrganizer
from domain.topics import TopicBoard, topic_board_id
from jam import commands as c
from jam.errors import NotFound
from tests.stories import open_jam


def test_the_first_decision_opens_the_board_and_later_ones_change_it(app, clock):
    scene = open_jam(app, clock)
    ideas = (uuid4(), uuid4())
    before = app.position()
    done = app.handle(
        c.RenameCluster(actor=scene.organizer, jam_id=scene.jam_id, cluster_id="t1", label="Care")
    )
    assert done.id == topic_board_id(scene.jam_id)
    assert app.position() == before + 2  # opened, renamed: one transaction
    app.handle(
        c.PinCluster(actor=scene.organizer, jam_id=scene.jam_id, cluster_id="t2", ideas=ideas)
    )
    app.handle(
        c.MergeClusters(
            actor=scene.organizer, jam_id=scene.jam_id, cluster_id="t3", into="t2", ideas=ideas
        )
    )
    board = app.load(TopicBoard, done.id)
    assert (board.labels, board.pinned, board.retired) == ({"t1": "Care"}, {"t2"}, {"t3"})
    with pytest.raises(ConflictingState):
        app.handle(
            c.SplitCluster(actor=scene.organizer, jam_id=scene.jam_id, cluster_id="t3", ideas=ideas)
        )


def test_participants_cannot_decide_and_unknown_jams_are_refused(app, clock):
    scene = open_jam(app, clock)
    ada = scene.join()
    before = app.position()
    with pytest.raises(NotOrganizer):
        app.handle(c.UnpinCluster(actor=ada, jam_id=scene.jam_id, cluster_id="t1"))
    with pytest.raises(NotFound):
        app.handle(
            c.RenameCluster(actor=scene.organizer, jam_id=uuid4(), cluster_id="t1", label="X")
        )
    assert app.position() == before
