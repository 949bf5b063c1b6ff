"""Is "similar ideas while typing" fast enough to ask at every pause, at 100,000 ideas?

A jam is created through the application; then 100,000 ideas are written straight
into the idea read model (`rm_ideas`), because `GET /api/jams/{id}/similar` reads
nothing else and writing them through the log would only make the set-up slower.
Queries are the first words of real texts, as someone starts typing them.

The endpoint is timed through the HTTP stack in process (litestar's TestClient), beside
a baseline from the same run: the plain idea list, `GET /api/jams/{id}/ideas?limit=5`.
Target: p99 under 50 ms.

    .venv/bin/python -m bench.similar_speed --ideas 100000 --data ../shared/data/short-text

Without --data the texts are generated. Prints figures; exits non-zero only on failure.
"""

from __future__ import annotations

import argparse
import csv
import logging
import random
import resource
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

from litestar.testing import TestClient

from jam import commands as c
from jam.application import JamApplication
from jam.clock import ManualClock
from jam.settings import Settings
from projections.db import open_views
from ranking.similar import SimilarityVectorizer
from ui.app import create_app

VOCABULARY = """
remote office budget coffee meeting travel train learning mentor wellbeing garden bike solar
recycle canteen library parking shuttle quiet focus pilot survey onboarding laptop hybrid
childcare volunteer hospital clinic energy wind customer support cloud data privacy
"""
WORDS = tuple(VOCABULARY.split())


def texts(data: Path | None, n: int, rng: random.Random) -> list[str]:
    if data is None:
        return [" ".join(rng.choices(WORDS, k=rng.randint(5, 14))) for _ in range(n)]
    found: list[str] = []
    for path in sorted(data.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            found.extend(row["text"] for row in csv.DictReader(f) if row["text"].strip())
    rng.shuffle(found)
    while len(found) < n:  # more ideas than the sets hold: reuse them
        found.extend(found[: n - len(found)])
    return found[:n]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(client: TestClient, url: str, params: dict, headers: dict) -> float:
    start = time.perf_counter()
    response = client.get(url, params=params, headers=headers)
    took = (time.perf_counter() - start) * 1000
    response.raise_for_status()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ideas", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--data", type=Path, default=None, help="folder of short-text CSVs")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.INFO)  # a log line per request would be what we measure
    rng = random.Random(args.seed)
    corpus = texts(args.data, args.ideas, rng)
    folder = Path(tempfile.mkdtemp(prefix="openjam-similar-"))
    try:
        # The ranking worker runs in its own process in production; here it would only
        # compete for the CPU with the web worker being measured.
        settings = Settings(data_dir=folder / "var", writes_per_minute=100_000, ranking="external")
        clock = ManualClock(time_now())
        app = JamApplication(settings, clock=clock)
        _, jam_id = _jam(app)
        participant = _join(app, jam_id)
        with TestClient(create_app(settings, jam=app)) as client:
            token = client.post(
                "/api/session", json={"invite_code": participant, "display_name": "Ada"}
            ).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            client.get(f"/api/jams/{jam_id}", params={"after": app.position()}, headers=headers)
            _fill(settings, str(jam_id), corpus)
            base = f"/api/jams/{jam_id}"
            start = time.perf_counter()
            timed(client, f"{base}/similar", {"text": "warm up"}, headers)
            build_s = time.perf_counter() - start
            queries = [" ".join(t.split()[: rng.randint(3, 8)]) for t in rng.sample(corpus, 200)]
            similar, listing = [], []
            for n in range(args.queries):
                text = queries[n % len(queries)] + f" {n}"
                similar.append(timed(client, f"{base}/similar", {"text": text}, headers))
                listing.append(timed(client, f"{base}/ideas", {"limit": 5}, headers))
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        single = SimilarityVectorizer()
        single.transform(["warm up"])
        start = time.perf_counter()
        for q in queries:
            single.transform([q])
        embed_ms = (time.perf_counter() - start) * 1000 / len(queries)
        print(f"ideas: {args.ideas:,}  vectors: {single.method_}  queries: {args.queries:,}")
        print(f"first search (index built from the read model): {build_s:.1f} s")
        print(f"embedding one typed text: {embed_ms:.3f} ms")
        for name, values in (("similar", similar), ("baseline: idea list", listing)):
            print(
                f"{name:>22}: p50 {statistics.median(values):6.2f} ms  "
                f"p99 {percentile(values, 0.99):6.2f} ms  max {max(values):6.2f} ms"
            )
        ratio = percentile(similar, 0.99) / percentile(listing, 0.99)
        print(f"p99 similar / p99 idea list: {ratio:.2f}x   peak RSS {rss_mb:,.0f} MB")
        print(f"target p99 < 50 ms: {'met' if percentile(similar, 0.99) < 50 else 'NOT met'}")
        app.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def time_now() -> datetime:
    return datetime.now(tz=UTC)


def _jam(app: JamApplication) -> tuple[UUID, UUID]:
    code = uuid4().hex
    app.handle(c.IssueInvite(code=code, role="organizer"))
    organizer = uuid4()
    app.handle(c.JoinJam(invite_code=code, participant_id=organizer, display_name="Olga"))
    jam_id = uuid4()
    app.handle(
        c.CreateJam(
            actor=organizer,
            jam_id=jam_id,
            title="Speed",
            description="",
            forums=(c.ForumSpec("ideas", "Ideas"),),
            starts_at=app.now(),
            ends_at=app.now() + timedelta(days=3),
        )
    )
    return organizer, jam_id


def _join(app: JamApplication, jam_id: UUID) -> str:
    code = uuid4().hex
    app.handle(c.IssueInvite(code=code, role="participant", jam_id=jam_id))
    return code


def _fill(settings: Settings, jam_id: str, corpus: list[str]) -> None:
    views = open_views(settings.database_url, settings.database_schema, settings.data_dir)
    start = time_now()
    rows = []
    for n, text in enumerate(corpus):  # one idea every 2.6 s: 100,000 over three days
        at = (start + timedelta(seconds=2.6 * n)).isoformat()
        rows.append(
            (
                str(uuid4()),
                jam_id,
                "ideas",
                str(uuid4()),
                "employee",
                text[:120],
                text,
                at,
                at,
                10_000_000 + n,
            )
        )
    with views.transaction() as cur:
        cur.executemany(
            "INSERT INTO rm_ideas (idea_id, jam_id, forum, author_id, author_segment, title, "
            "body, posted_at, last_activity_at, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    views.close()


if __name__ == "__main__":
    main()
