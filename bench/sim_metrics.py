"""Cluster refresh times during a phase, read from a process's Prometheus metrics.

The ranking worker (inline in `jam serve`, or `jam worker ranking` on its own
metrics port) observes each refresh of a jam's topic clusters in the histogram
`openjam_cluster_refresh_seconds` and the gauge `openjam_cluster_refresh_last_seconds`.
Scraped at a phase's start and end, the histogram gives the phase's count, mean and
the buckets that hold its median and 99th percentile; scraped twice a second in
between, the gauge gives the longest refresh
(exact while refreshes are at least half a second apart, as they are: one jam is
refreshed at most every `OPENJAM_TOPIC_REFRESH_S`).
"""

from __future__ import annotations

import contextlib
import http.client
import math
import threading
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

HISTOGRAM = "openjam_cluster_refresh_seconds"
LAST = "openjam_cluster_refresh_last_seconds"
INTERVAL_S = 0.5


@dataclass
class Refreshes:
    """The histogram's state at one scrape, and the gauge's value."""

    count: float = 0.0
    total: float = 0.0
    buckets: list[tuple[float, float]] = field(default_factory=list)  # (le, cumulative count)
    last: float = math.nan


def parse(text: str) -> Refreshes:
    found = Refreshes()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == f"{HISTOGRAM}_count":
                found.count = s.value
            elif s.name == f"{HISTOGRAM}_sum":
                found.total = s.value
            elif s.name == f"{HISTOGRAM}_bucket":
                found.buckets.append((float(s.labels["le"]), s.value))
            elif s.name == LAST:
                found.last = s.value
    found.buckets.sort()
    return found


def bucket(q: float, buckets: list[tuple[float, float]]) -> tuple[float, float]:
    """The bounds of the bucket that holds the q-quantile of the observations counted in
    cumulative `buckets` (nan, nan if none; the upper bound inf past the largest)."""
    if not buckets or buckets[-1][1] <= 0:
        return math.nan, math.nan
    rank = q * buckets[-1][1]
    lower = 0.0
    for le, cumulative in buckets:
        if cumulative >= rank:
            return lower, le
        lower = le
    return lower, math.inf


def between(first: Refreshes, then: Refreshes) -> tuple[float, float, list[tuple[float, float]]]:
    """Count, sum and buckets of the refreshes observed from `first` to `then`."""
    before = dict(first.buckets)
    buckets = [(le, n - before.get(le, 0.0)) for le, n in then.buckets]
    return then.count - first.count, then.total - first.total, buckets


class MetricsReader:
    """Scrapes one /metrics endpoint (with the metrics token, if there is one)."""

    def __init__(self, port: int, token: str | None = None, host: str = "127.0.0.1") -> None:
        self.host, self.port, self.token = host, port, token

    def read(self) -> Refreshes:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            conn.request("GET", "/metrics", headers=headers)
            response = conn.getresponse()
            body = response.read().decode()
            if response.status != 200:
                raise RuntimeError(f"/metrics on port {self.port} answered {response.status}")
            return parse(body)
        finally:
            conn.close()


class RefreshWatch:
    """The cluster refreshes between `start` and `stop`, for the report."""

    def __init__(self, reader: MetricsReader) -> None:
        self.reader = reader
        self.longest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.first = self.seen = reader.read()

    def start(self) -> RefreshWatch:
        self._thread.start()
        return self

    def _look(self) -> None:
        now = self.reader.read()
        if now.count > self.seen.count and not math.isnan(now.last):
            self.longest = max(self.longest, now.last)
        self.seen = now

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL_S):
            # A missed look: the next one sees the counts all the same.
            with contextlib.suppress(OSError, RuntimeError):
                self._look()

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        self._look()
        count, total, buckets = between(self.first, self.seen)
        return {
            "count": int(count),
            "mean": total / count if count else math.nan,
            "p50": bucket(0.5, buckets),
            "p99": bucket(0.99, buckets),
            "max": self.longest if count else math.nan,
        }
