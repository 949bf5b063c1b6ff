"""Sort keys for idea lists, computed when votes change so lists sort in SQL."""

from __future__ import annotations

import math
from datetime import UTC, datetime

Z_95 = 1.959963984540054
HOT_TIMESCALE_S = 4 * 3600  # an idea 4 hours newer needs 10x the net votes to rank below
HOT_EPOCH = datetime(2025, 1, 1, tzinfo=UTC).timestamp()


def wilson_lower_bound(up: int, down: int, z: float = Z_95) -> float:
    """Lower bound of the 95% Wilson interval for the share of up-votes."""
    n = up + down
    if n == 0:
        return 0.0
    p = up / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt((p * (1 - p) + z * z / (4 * n)) / n)
    return (centre - margin) / (1 + z * z / n)


def hot(up: int, down: int, posted_at: datetime) -> float:
    """Net votes on a log scale plus a bonus for recency: order never needs recomputing."""
    net = up - down
    magnitude = math.log10(max(abs(net), 1))
    sign = (net > 0) - (net < 0)
    return round(sign * magnitude + (posted_at.timestamp() - HOT_EPOCH) / HOT_TIMESCALE_S, 9)
