"""Jam Central's topic map: circles apart, each label beside its own circle or in the key."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest

from ui.topics import MAP_H, MAP_W, box_gap_to_circle, boxes_apart, label_box, topic_map

WORDS = ["energy", "cleaner", "climate", "patients", "care", "families", "goods", "learn"]


def _on_map(x: float, y: float, label: str, size: int = 10) -> SimpleNamespace:
    cluster = SimpleNamespace(id=label, label=label, x=x, y=y, emerging=False)
    return SimpleNamespace(cluster=cluster, ideas_now=size)


def crowded(count: int, seed: int) -> list[SimpleNamespace]:
    """`count` topics in a few tight bunches of the 2-D plane, of sizes 1 to 80."""
    rng = random.Random(seed)
    centres = [(rng.random(), rng.random()) for _ in range(3)]
    topics = []
    for n in range(count):
        x, y = centres[n % 3]
        label = " · ".join(rng.sample(WORDS, 3)) + f" {n}"
        topics.append(_on_map(rng.gauss(x, 0.02), rng.gauss(y, 0.02), label, rng.randint(1, 80)))
    return topics


def _box(m: dict) -> tuple[float, float, float, float]:
    return label_box(m["label"], m["lx"], m["ly"], m["anchor"])


CROWDED = [(count, seed) for count in (12, 18, 24, 30) for seed in range(3)]


@pytest.mark.parametrize(("count", "seed"), CROWDED)
def test_no_two_circles_overlap_and_all_stay_inside_the_picture(count, seed):
    # Two close topics were drawn as overlapping circles (cx 510 r 28 and cx 555 r 19.6).
    circles = topic_map(crowded(count, seed))
    assert len(circles) == count
    for a, b in itertools.combinations(circles, 2):
        assert math.dist((a["cx"], a["cy"]), (b["cx"], b["cy"])) >= a["r"] + b["r"], (a, b)
    for m in circles:
        assert m["r"] <= m["cx"] <= MAP_W - m["r"]
        assert m["r"] <= m["cy"] <= MAP_H - m["r"]


@pytest.mark.parametrize(("count", "seed"), CROWDED)
def test_each_label_is_beside_its_own_circle_clear_of_every_other_circle_and_label(count, seed):
    # "energy · cleaner · climate" ran into a neighbouring circle, and read as its label.
    circles = topic_map(crowded(count, seed))
    placed = [m for m in circles if not m["keyed"]]
    assert placed  # the biggest topic at least has room
    for m in placed:
        box = _box(m)
        assert 0 <= box[0] <= box[2] <= MAP_W
        assert 0 <= box[1] <= box[3] <= MAP_H
        own = box_gap_to_circle(box, m["cx"], m["cy"], m["r"])
        assert own >= 0
        for other in circles:
            if other is not m:
                gap = box_gap_to_circle(box, other["cx"], other["cy"], other["r"])
                assert gap > max(own, 0), (m["label"], other["label"])
    for a, b in itertools.combinations(placed, 2):
        assert boxes_apart(_box(a), _box(b)), (a["label"], b["label"])


def test_the_same_topics_are_always_drawn_the_same():
    assert topic_map(crowded(30, 7)) == topic_map(crowded(30, 7))


def test_circles_with_room_stay_where_their_positions_put_them():
    apart = [_on_map(0, 0, "a"), _on_map(1, 0, "b"), _on_map(0, 1, "c"), _on_map(1, 1, "d")]
    circles = topic_map(apart)
    assert [(m["cx"], m["cy"]) for m in circles] == [
        (45.0, 45.0),
        (555.0, 45.0),
        (45.0, 215.0),
        (555.0, 215.0),
    ]
    assert not any(m["keyed"] for m in circles)


def test_close_circles_are_pushed_apart_keeping_their_order():
    close = [_on_map(0.0, 0.5, "left", 40), _on_map(0.03, 0.5, "right", 20)]
    close.append(_on_map(1.0, 0.0, "far", 5))
    left, right, _ = topic_map(close)
    assert left["cx"] < right["cx"]
    assert right["cx"] - left["cx"] >= left["r"] + right["r"]


def test_a_label_with_no_room_beside_its_circle_is_numbered_on_the_map_and_listed():
    circles = topic_map([_on_map(0.5, 0.5, f"topic {n}", 50) for n in range(30)])
    keyed = [n for n, m in enumerate(circles, start=1) if m["keyed"]]
    assert keyed  # thirty big topics at one place: not every label fits beside its circle
    templates = Path(__file__).parents[2] / "ui" / "templates"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), autoescape=True)
    html = env.get_template("topic_map.html").render(topic_map=circles)
    assert html.count('<text class="label"') == len(circles) - len(keyed)
    for n in keyed:
        assert f"<title>{circles[n - 1]['label']}</title>{n}</text>" in html
        assert f'<li value="{n}" class="keyed">{circles[n - 1]["label"]}</li>' in html
    assert '<ol class="map-key keyed">' in html
    assert html.count('class="num keyed"') == len(keyed)


def test_a_map_is_laid_out_once_for_the_same_topics():
    # Every organizer's Jam Central draws the map again at each live update, and a crowded
    # layout takes a tenth of a second: the same topics give back the map already made.
    topics = crowded(24, seed=7)
    first = topic_map(topics)
    assert topic_map(crowded(24, seed=7)) is first
    moved = [_on_map(t.cluster.x, t.cluster.y, t.cluster.label, t.ideas_now + 1) for t in topics]
    assert topic_map(moved) is not first  # a topic grew: laid out again
