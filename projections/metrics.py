"""Metrics measured by the workers that follow the log.

`observe_cluster_refresh` is for the ranking worker: call it with the seconds one
refresh of the topic clusters took. The worker process serves these on
`OPENJAM_METRICS_PORT`.
"""

from __future__ import annotations

from prometheus_client import Gauge, Histogram

CLUSTER_REFRESH = Histogram(
    "openjam_cluster_refresh_seconds",
    "Time one refresh of the topic clusters took",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
LAST_CLUSTER_REFRESH = Gauge(
    "openjam_cluster_refresh_last_seconds",
    "Time the latest refresh of the topic clusters took",
    multiprocess_mode="mostrecent",
)


def observe_cluster_refresh(seconds: float) -> None:
    CLUSTER_REFRESH.observe(seconds)
    LAST_CLUSTER_REFRESH.set(seconds)
