"""A small idea corpus with obvious topics, for the clustering tests."""

from __future__ import annotations

import random

TOPICS = {
    "cycling": "bike bicycle cycling helmet lanes racks commute pedal saddle shower",
    "energy": "solar panels roof energy electricity battery renewable heat pump grid",
    "coffee": "coffee espresso beans barista canteen mugs latte roast kitchen breakfast",
    "childcare": "childcare nursery kids parents daycare school holidays babysitting crèche",
}
FILLER_WORDS = "we should our team could really try the new office idea for everyone"


def ideas(per_topic: int = 15, seed: int = 7) -> tuple[list[str], list[int]]:
    """Texts mixing a topic's words with common filler, and the topic index of each."""
    rng = random.Random(seed)
    texts, topics = [], []
    for index, words in enumerate(TOPICS.values()):
        vocabulary = words.split()
        for _ in range(per_topic):
            chosen = rng.sample(vocabulary, 4) + rng.sample(FILLER_WORDS.split(), 4)
            rng.shuffle(chosen)
            texts.append(" ".join(chosen))
            topics.append(index)
    return texts, topics
