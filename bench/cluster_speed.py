"""How fast are topic clusters for a big jam, and how fast is one new idea assigned?

1. Full fit: vectors (`TextVectorizer`) and clusters (`TopicClusterer`, k chosen) for
   100,000 synthetic idea texts, beside a plain baseline in the same run (scikit-learn
   `TfidfVectorizer` + `KMeans(k=30, n_init=1)` on the sparse TF-IDF, one thread as
   our clusterer uses by default). Target: 15 s.
2. One new idea: `transform([text])` then `predict`, for texts the fit never saw
   (p50 and p99 over many). Target: under 5 ms.
3. Memory: the process's peak resident size (`ru_maxrss`) before and after our fit,
   and the peak of traced allocations during a second, traced fit (`tracemalloc`).

The texts are generated: 40 topics with their own words, words shared by every topic,
filler, and a long tail of rare words (names, typos, numbers), so the vocabulary grows
as a real jam's does.

    .venv/bin/python bench/cluster_speed.py [--ideas 100000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import random
import resource
import string
import sys
import time
import tracemalloc

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import threadpool_limits

from ranking.clustering import TopicClusterer
from ranking.vectors import TextVectorizer, embeddings_available

SHARED_WORDS = (
    "team office staff customers people time budget year plan project program pilot support "
    "service process tool system data training group meeting day week month policy space cost "
)
FILLER_WORDS = (
    "we should could would the a an to for of in on with our and or that this it more less "
    "new better every all some many most make give start let help get keep really also just "
    "maybe "
)
SHARED, FILLER = SHARED_WORDS.split(), FILLER_WORDS.split()
TOPICS = """
bike lanes racks helmets showers commute cycling pedal|solar panels roof energy battery grid
renewable heat|coffee espresso beans barista canteen latte mugs kitchen|childcare nursery kids
daycare parents holidays school babysitting|remote hybrid home video calls laptop headset
broadband|mentoring mentor junior career coaching growth skills promotion|recycling waste
plastic bins compost paper reuse landfill|parking cars spaces electric chargers garage lot
permits|wellbeing stress mental health counselling yoga meditation burnout|library books
reading quiet study shelves borrowing novels|travel trains flights hotels expenses booking
trips visa|onboarding badge newcomers welcome buddy orientation handbook induction|volunteer
charity community donations fundraising local causes giving|security passwords phishing
login access badges laptops encryption|meetings agenda minutes calendar invites slots
overrun decisions|food lunch menu vegetarian vegan salad meals snacks|garden plants trees
rooftop flowers bees vegetables green|accessibility ramps wheelchair captions screen readers
hearing lifts|diversity inclusion hiring bias women minorities equity mentors|feedback
surveys reviews appraisal ratings anonymous managers scores|learning courses certificates
workshops lessons online academy tuition|water bottles fountains plastic refill taps tap
hydration|lighting lamps daylight windows bulbs led glare dim|noise headphones open plan
quiet zones booths acoustic|chairs desks ergonomic standing monitors posture backs
keyboards|printing printers paper toner scanning duplex copies ink|customers complaints
support tickets response chat satisfaction refunds|sales leads pipeline deals quota clients
pricing discounts|hiring recruiting interviews candidates referrals offers talent
pipeline|pensions retirement savings benefits insurance dental medical contributions|
holidays leave vacation days sabbatical parental carers absence|sports gym football
running fitness teams tournament yoga|music choir band concerts instruments playlist
singing festival|art paintings gallery murals artists exhibitions walls prints|data
analytics dashboards reports metrics insights sql warehouse|ai automation robots chatbots
machine learning models assistants|cloud servers migration costs storage backups outages
vendors|mobile app notifications phones android ios offline updates|website pages search
navigation design links content seo|suppliers procurement contracts invoices purchasing
vendors tenders ethics|carbon emissions offsets footprint climate targets neutral
reporting|packaging boxes cardboard shipping delivery returns parcels couriers|events
parties celebration anniversary awards dinner social quiz|languages translation english
spanish french lessons interpreters subtitles|innovation ideas hackathon prototypes
experiments labs incubator startup
""".replace("\n", " ").split("|")


def rare_word(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 10)))


def ideas(n: int, seed: int) -> list[str]:
    """Title-and-body idea texts, 12 to 60 words, each about one topic."""
    rng = random.Random(seed)
    topics = [t.split() for t in TOPICS]
    rare = [rare_word(rng) for _ in range(n // 2)]
    texts = []
    for _ in range(n):
        own = topics[int(rng.paretovariate(1.0) * 3) % len(topics)]
        length = rng.randint(12, 60)
        words = [
            rng.choice(own)
            if r < 0.3
            else rng.choice(SHARED)
            if r < 0.45
            else rare[int(rng.paretovariate(0.3)) % len(rare)]
            if r < 0.5
            else rng.choice(FILLER)
            for r in (rng.random() for _ in range(length))
        ]
        title = " ".join(words[:6]).capitalize()
        texts.append(f"{title}. {' '.join(words[6:])}.")
    return texts


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fit_ours(texts: list[str]) -> tuple[TextVectorizer, TopicClusterer, float, float]:
    started = time.perf_counter()
    vectorizer = TextVectorizer(random_state=0)
    x = vectorizer.fit_transform(texts)
    vectors = time.perf_counter() - started
    clusterer = TopicClusterer(random_state=0).fit(x)
    return vectorizer, clusterer, vectors, time.perf_counter() - started


def fit_baseline(texts: list[str]) -> float:
    started = time.perf_counter()
    x = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2).fit_transform(texts)
    with threadpool_limits(1):  # as TopicClusterer runs by default
        KMeans(30, n_init=1, random_state=0).fit(x)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ideas", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=2000, help="new ideas assigned one by one")
    parser.add_argument("--repeat", type=int, default=1, help="full fits of each kind")
    args = parser.parse_args(argv)
    if args.ideas < 100 or args.new < 1 or args.repeat < 1:
        parser.error("--ideas must be at least 100, --new and --repeat at least 1")
    texts = ideas(args.ideas, seed=1)
    unseen = ideas(args.new, seed=2)
    vocabulary = len({w for t in texts for w in t.lower().split()})
    words = np.mean([len(t.split()) for t in texts])
    print(f"{args.ideas:,} ideas, {vocabulary:,} distinct words, mean {words:.1f} words")
    full = "word embeddings + TF-IDF-SVD + co-occurrence PPMI-SVD"
    print(f"vectors: {full if embeddings_available() else 'TF-IDF-SVD'}")
    TextVectorizer().fit(texts[:200])  # load the embedding model once, outside the timings
    before = peak_mib()
    for run in range(args.repeat):
        vectorizer, clusterer, vectors, total = fit_ours(texts)
        baseline = fit_baseline(texts)
        print(
            f"run {run + 1}: ours {total:.1f} s (vectors {vectors:.1f} s, clusters"
            f" {total - vectors:.1f} s, k = {clusterer.n_clusters_});"
            f" baseline TF-IDF + KMeans(30) {baseline:.1f} s;"
            f" ours / baseline {total / baseline:.2f}"
        )
    print(f"k chosen by: {clusterer.k_choice_.method}")
    other = np.mean(clusterer.labels_ == -1)
    print(f"rows in the 'other' bucket: {100 * other:.1f}%")
    print(f"peak RSS: {before:.0f} MiB before the fits, {peak_mib():.0f} MiB after")

    latencies = []
    for text in unseen:
        started = time.perf_counter()
        clusterer.predict(vectorizer.transform([text]))
        latencies.append(time.perf_counter() - started)
    p50, p99 = np.percentile(latencies, [50, 99]) * 1000
    print(f"one new idea (vectorise + predict), {len(unseen)} ideas:", end=" ")
    print(f"p50 {p50:.2f} ms, p99 {p99:.2f} ms")

    tracemalloc.start()
    fit_ours(texts)
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"traced allocations during a fit: peak {traced / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
