"""Marking ideas as duplicates: every link goes to a root idea, on both stores."""

from __future__ import annotations

import pytest

from domain import Idea
from domain.errors import ConflictingState, NotOrganizer
from jam import commands as c
from tests.stories import open_jam


def test_a_duplicate_of_a_duplicate_is_linked_to_its_root(app, clock):
    scene = open_jam(app, clock)
    ada = scene.join()
    root, copy, late = (scene.post_idea(ada, title=t) for t in ("Root", "Copy", "Late"))

    def mark(idea, original):
        return app.handle(
            c.MarkDuplicate(actor=scene.organizer, idea_id=idea, original_id=original)
        )

    mark(copy, root)
    mark(late, copy)  # refused before: "the original is itself marked as a duplicate"
    assert app.load(Idea, late).duplicate_of == root
    assert app.load(Idea, root).duplicates == {copy, late}
    with pytest.raises(ConflictingState, match="already marked as a duplicate of this one"):
        mark(root, late)


def test_an_original_is_not_marked_a_duplicate_while_it_has_duplicates(app, clock):
    # It would make a chain: its duplicates' votes counted through two links.
    scene = open_jam(app, clock)
    ada = scene.join()
    root, copy, other = (scene.post_idea(ada, title=t) for t in ("Root", "Copy", "Other"))
    app.handle(c.MarkDuplicate(actor=scene.organizer, idea_id=copy, original_id=root))
    with pytest.raises(ConflictingState, match="original of 1 other idea"):
        app.handle(c.MarkDuplicate(actor=scene.organizer, idea_id=root, original_id=other))
    app.handle(c.UnmarkDuplicate(actor=scene.organizer, idea_id=copy))
    assert app.load(Idea, root).duplicates == set()
    app.handle(c.MarkDuplicate(actor=scene.organizer, idea_id=root, original_id=other))
    assert app.load(Idea, root).duplicate_of == other


def test_a_duplicate_moved_to_another_original_is_forgotten_by_the_first(app, clock):
    scene = open_jam(app, clock)
    ada = scene.join()
    first, second, copy = (scene.post_idea(ada, title=t) for t in ("First", "Second", "Copy"))
    app.handle(c.MarkDuplicate(actor=scene.organizer, idea_id=copy, original_id=first))
    app.handle(c.MarkDuplicate(actor=scene.organizer, idea_id=copy, original_id=second))
    assert app.load(Idea, copy).duplicate_of == second
    assert (app.load(Idea, first).duplicates, app.load(Idea, second).duplicates) == (set(), {copy})
    # So the first is free to be marked a duplicate in turn.
    app.handle(c.MarkDuplicate(actor=scene.organizer, idea_id=first, original_id=second))


def test_setting_or_removing_a_link_that_is_already_so_records_nothing(app, clock):
    # PUT and DELETE of a link are idempotent, like a vote: a retry changes nothing.
    scene = open_jam(app, clock)
    ada = scene.join()
    root, copy = (scene.post_idea(ada, title=t) for t in ("Root", "Copy"))
    app.handle(c.MarkDuplicate(actor=scene.organizer, idea_id=copy, original_id=root))
    end = app.position()
    again = app.handle(c.MarkDuplicate(actor=scene.organizer, idea_id=copy, original_id=root))
    assert (again.id, app.position()) == (copy, end)
    app.handle(c.UnmarkDuplicate(actor=scene.organizer, idea_id=copy))
    end = app.position()
    app.handle(c.UnmarkDuplicate(actor=scene.organizer, idea_id=copy))
    assert app.position() == end
    assert (app.load(Idea, copy).duplicate_of, app.load(Idea, root).duplicates) == (None, set())
    with pytest.raises(NotOrganizer):  # a no-op is still only for organizers
        app.handle(c.UnmarkDuplicate(actor=ada, idea_id=copy))
