"""Similar ideas while typing: each web worker's index follows the read models, edits included."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer

from jam import commands as c
from projections.runner import ProjectionRunner
from projections.similar_ideas import SimilarIdeas
from tests.projections.conftest import runner_for
from tests.stories import Scene, open_jam

_hash = HashingVectorizer(n_features=2**10, alternate_sign=False, stop_words="english")


def embed(texts: Sequence[str]) -> np.ndarray:
    """Hashed word counts, L2-normalised: the same text, the same vector."""
    return _hash.transform(list(texts)).toarray().astype(np.float32)


@pytest.fixture
def jam(app, clock, make_views) -> tuple[Scene, ProjectionRunner, SimilarIdeas]:
    scene = open_jam(app, clock)
    views = make_views()
    return scene, runner_for(app, views), SimilarIdeas(views, embed)


def found(runner: ProjectionRunner, similar: SimilarIdeas, scene: Scene, text: str) -> list[str]:
    runner.catch_up()
    return [i.id for i in similar.search(str(scene.jam_id), text)]


def test_an_edited_idea_is_found_by_its_new_text_not_its_old(app, jam):
    scene, runner, similar = jam
    author = scene.join()
    idea = scene.post_idea(author, title="Bike parking at the office", body="Secure racks")
    scene.post_idea(author, title="Free coffee machine", body="In the kitchen")
    assert found(runner, similar, scene, "bike parking racks") == [str(idea)]  # indexed

    app.handle(
        c.EditIdea(
            actor=author, idea_id=idea, title="Electric car chargers", body="In the car park"
        )
    )

    assert found(runner, similar, scene, "electric car chargers") == [str(idea)]
    assert found(runner, similar, scene, "bike parking racks") == []
    titles = [i.title for i in similar.search(str(scene.jam_id), "electric car chargers")]
    assert titles == ["Electric car chargers"]


def test_hidden_ideas_leave_the_index_and_restored_ones_come_back(app, jam):
    scene, runner, similar = jam
    author, org = scene.join(), scene.organizer
    real = scene.post_idea(author, title="Free coffee machine", body="In the kitchen")
    # Nearer to the typed text than the real idea: left in the index, they would take
    # every place among the nearest (three per result asked for) and hide it.
    spam = [
        scene.post_idea(author, title=f"Free coffee machine coffee {n}", body="Free coffee")
        for n in range(3)
    ]
    assert set(found(runner, similar, scene, "free coffee")) == {str(real), *map(str, spam)}
    for idea in spam:
        app.handle(c.HideIdea(actor=org, idea_id=idea, reason="spam"))
    runner.catch_up()

    assert [i.id for i in similar.search(str(scene.jam_id), "free coffee", limit=1)] == [str(real)]

    app.handle(c.RestoreIdea(actor=org, idea_id=spam[0], reason="fine"))
    assert str(spam[0]) in found(runner, similar, scene, "free coffee")


def test_ideas_linked_as_duplicates_leave_the_index_until_unlinked(app, jam):
    scene, runner, similar = jam
    author, org = scene.join(), scene.organizer
    original = scene.post_idea(author, title="Four-day week", body="Try it")
    copy = scene.post_idea(author, title="Four-day week pilot", body="Try it")
    assert set(found(runner, similar, scene, "four-day week")) == {str(original), str(copy)}

    app.handle(c.MarkDuplicate(actor=org, idea_id=copy, original_id=original))
    assert found(runner, similar, scene, "four-day week") == [str(original)]

    app.handle(c.UnmarkDuplicate(actor=org, idea_id=copy))
    assert set(found(runner, similar, scene, "four-day week")) == {str(original), str(copy)}
