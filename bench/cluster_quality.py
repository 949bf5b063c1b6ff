"""How well do our topic clusters recover the classes of labelled short-text sets?

For each set in the data folder (its README gives the protocol and the baselines):
our vectors + clusters with k = the number of classes, and with k chosen by our own
method; then small random draws (n = 100 and 300, as a jam's first hour looks) with
k = the classes present, where TF-IDF + KMeans and WordLlama + KMeans run on the same
draws as the baseline. Full-set baselines are the README's measured rows. Labels are
used only to score. Figures are ACC / NMI / ARI in percent.

    .venv/bin/python bench/cluster_quality.py --data ../shared/data/short-text
"""

from __future__ import annotations

import argparse
import csv
import functools
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import threadpool_limits

from ranking.clustering import TopicClusterer
from ranking.quality import Scores, score
from ranking.vectors import TextVectorizer, embeddings_available, normalize_rows

SETS = (
    "agnews8000",
    "searchsnippets",
    "stackoverflow",
    "biomedical",
    "googlenews_ts",
    "googlenews_t",
    "googlenews_s",
    "tweet",
)
# The data README's measured rows (k = classes, KMeans n_init=10, mean of seeds 0-4):
# ACC, NMI per set, in the order of SETS.
README_BASELINES = {
    "TF-IDF + KMeans": (
        (37.9, 16.1), (28.7, 15.0), (61.4, 65.7), (30.8, 29.9),
        (69.3, 88.9), (58.2, 79.8), (61.7, 83.6), (55.7, 79.9),
    ),
    "TF-IDF + SVD100 + KMeans": (
        (55.2, 35.4), (28.8, 16.1), (72.0, 72.3), (34.0, 29.5),
        (76.2, 92.0), (63.0, 81.5), (69.7, 86.2), (58.2, 83.0),
    ),
    "WordLlama + KMeans": (
        (77.3, 51.2), (74.3, 58.7), (79.8, 77.1), (43.6, 37.2),
        (72.0, 90.5), (63.5, 84.3), (66.2, 85.7), (65.0, 86.1),
    ),
    "all-MiniLM-L6-v2 + KMeans": (
        (78.1, 57.1), (74.5, 59.7), (72.1, 70.1), (50.8, 44.1),
        (72.1, 91.4), (65.0, 86.0), (68.4, 87.8), (63.3, 86.7),
    ),
}  # fmt: skip
# SCCL (Zhang et al. 2021), published ACC, as quoted in the data README.
SCCL_ACC = {
    "agnews8000": 88.2,
    "searchsnippets": 85.2,
    "stackoverflow": 75.5,
    "biomedical": 46.2,
    "googlenews_ts": 89.8,
    "googlenews_t": 75.8,
    "googlenews_s": 83.1,
    "tweet": 78.2,
}


def load(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], np.array([int(r["label"]) for r in rows])


def ours(texts: list[str], k: int | None, seed: int, k_max: int) -> tuple[np.ndarray, int]:
    x = TextVectorizer(random_state=seed).fit_transform(texts)
    clusterer = TopicClusterer(n_clusters=k, k_max=k_max, min_similarity=None, random_state=seed)
    labels = clusterer.fit(x).labels_
    return labels, clusterer.n_clusters_


def tfidf_kmeans(texts: list[str], k: int, seed: int) -> np.ndarray:
    vectors = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2)
    try:
        x = vectors.fit_transform(texts)
    except ValueError:  # no word appears twice: TF-IDF has nothing to cluster
        return np.zeros(len(texts), dtype=int)
    return KMeans(k, n_init=10, random_state=seed).fit(x).labels_


@functools.cache
def _wordllama():  # the README's baseline: wordllama's own mean pooling of the raw text
    import wordllama

    return wordllama.WordLlama.load(cache_dir=wordllama.__path__[0], disable_download=True)


def wordllama_kmeans(texts: list[str], k: int, seed: int) -> np.ndarray:
    x = normalize_rows(_wordllama().embed(texts))
    return KMeans(k, n_init=10, random_state=seed).fit(x).labels_


def pct(s: Scores) -> str:
    return f"{100 * s.acc:.1f} / {100 * s.nmi:.1f} / {100 * s.ari:.1f}"


def mean(scores: list[Scores]) -> Scores:
    return Scores(*(float(np.mean([getattr(s, f) for s in scores])) for f in ("acc", "nmi", "ari")))


def full_sets(args: argparse.Namespace, sets: list[str]) -> None:
    print("## Full sets: ours (k = classes; k chosen by our method) against the README baselines")
    print("| set | ours, k = classes | ours, k chosen (k) | best baseline ACC / NMI | SCCL ACC |")
    print("|---|---|---|---|---|")
    for name in sets:
        texts, truth = load(args.data / f"{name}.csv")
        k = len(np.unique(truth))
        runs, chosen, ks, seconds = [], [], [], []
        for seed in args.seeds:
            if not args.skip_given_k:
                started = time.perf_counter()
                labels, _ = ours(texts, k, seed, args.k_max)
                seconds.append(time.perf_counter() - started)
                runs.append(score(truth, labels))
            if not args.skip_chosen_k:
                labels, found = ours(texts, None, seed, args.k_max)
                chosen.append(score(truth, labels))
                ks.append(found)
        index = SETS.index(name)
        best_acc = max(rows[index][0] for rows in README_BASELINES.values())
        best_nmi = max(rows[index][1] for rows in README_BASELINES.values())
        chosen_cell = f"{pct(mean(chosen))} ({'/'.join(map(str, ks))})" if chosen else "-"
        if not runs:
            print(f"| {name} ({k}) | - | {chosen_cell} | {best_acc} / {best_nmi} | - |", flush=True)
            continue
        ours_k = mean(runs)
        beats = 100 * ours_k.acc > best_acc and 100 * ours_k.nmi > best_nmi
        verdict = "beats" if beats else "misses"
        print(
            f"| {name} ({k}) | {pct(ours_k)} ({verdict}; {np.mean(seconds):.0f} s) | {chosen_cell}"
            f" | {best_acc} / {best_nmi} | {SCCL_ACC[name]}"
            f" (ours {100 * ours_k.acc - SCCL_ACC[name]:+.1f}) |",
            flush=True,
        )


def small_draws(args: argparse.Namespace, sets: list[str]) -> None:
    methods = {
        "ours": lambda t, k, s: ours(t, k, s, args.k_max)[0],
        "TF-IDF + KMeans": tfidf_kmeans,
    }
    if embeddings_available():
        methods["WordLlama + KMeans"] = wordllama_kmeans
    for n in args.sizes:
        print(f"\n## Small draws: n = {n}, {args.draws} draws, k = classes present (mean)")
        print("| set | " + " | ".join(methods) + " |")
        print("|---|" + "---|" * len(methods))
        for name in sets:
            texts, truth = load(args.data / f"{name}.csv")
            rng = np.random.default_rng(n)
            results: dict[str, list[Scores]] = {m: [] for m in methods}
            for draw in range(args.draws):
                rows = rng.choice(len(texts), n, replace=False)
                sample, labels = [texts[i] for i in rows], truth[rows]
                k = len(np.unique(labels))
                for method, run in methods.items():
                    results[method].append(score(labels, run(sample, k, draw)))
            cells = " | ".join(pct(mean(r)) for r in results.values())
            print(f"| {name} | {cells} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/short-text"))
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated set names")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds for the full sets")
    parser.add_argument("--k-max", type=int, default=30, help="upper bound when k is chosen")
    parser.add_argument("--sizes", default="100,300", help="small draw sizes, comma-separated")
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--skip-chosen-k", action="store_true")
    parser.add_argument(
        "--skip-given-k", action="store_true", help="full sets: only k chosen by our method"
    )
    parser.add_argument("--skip-draws", action="store_true")
    args = parser.parse_args(argv)
    sets = args.sets.split(",")
    unknown = [s for s in sets if s not in SETS]
    if unknown:
        parser.error(f"unknown sets: {', '.join(unknown)} (known: {', '.join(SETS)})")
    missing = [s for s in sets if not (args.data / f"{s}.csv").is_file()]
    if missing:
        parser.error(f"no {', '.join(missing)} under {args.data}")
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.sizes = [int(s) for s in args.sizes.split(",")]
    full = "word embeddings + TF-IDF-SVD + co-occurrence PPMI-SVD"
    print(f"vectors: {full if embeddings_available() else 'TF-IDF-SVD'}")
    # One thread for every method alike: on a shared 2-core machine, OpenMP threads
    # spinning for a busy core make k-means many times slower.
    with threadpool_limits(1):
        if not args.skip_full:
            full_sets(args, sets)
        if not args.skip_draws:
            small_draws(args, sets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
