"""Jam Central's activity chart: votes, comments and ideas a minute, drawn and in figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from projections.models import JamCentral
from ui.wording import counted

SERIES = ("votes", "comments", "ideas")  # drawn in this order: solid, dashed, dotted
FIGURES_MAX = 60  # minutes listed in "The figures", newest first


def _minute(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def activity_chart(
    central: JamCentral,
    now: datetime,
    width: int = 240,
    starts_at: datetime | None = None,
    least: int = 30,
    ends_at: datetime | None = None,
    closed_at: datetime | None = None,
) -> dict[str, Any]:
    """Ideas, comments and votes in each of the last `width` whole minutes, placed by time:
    a quiet minute is a zero, not left out (the read model keeps only minutes with
    activity). The minute under way is left out too: it is not over, so it would always
    look like a drop. A jam quiet for longer than the chart shows its last busy stretch.

    Never minutes before `starts_at` (the jam's start): they would be a flat line for a
    time the jam did not exist. A jam younger than `least` minutes is drawn over `least`
    minutes from its start, the line reaching as far as the last whole minute, so the
    first minutes are not stretched across the whole chart.

    A jam over (past `ends_at`, or closed at `closed_at`) is drawn up to the minute it ended
    in, which is complete however early in it the jam ended: the quiet minutes since then
    are not the jam's, and would look like its activity dying away."""
    counts = {m.minute: m for m in central.minutes}
    end = _minute(now) - timedelta(minutes=1)
    ended = min((t for t in (ends_at, closed_at) if t is not None), default=None)
    to_end = ""
    if ended is not None and ended <= now:
        end = _minute(ended - timedelta(microseconds=1))
        to_end = "close" if closed_at is not None and closed_at == ended else "end"
    if central.minutes:
        last = datetime.fromisoformat(central.minutes[-1].minute).replace(tzinfo=UTC)
        if end - last >= timedelta(minutes=width):
            end, to_end = last, ""
    first = end - timedelta(minutes=width - 1)
    from_start = False
    if starts_at is not None:
        start = _minute(starts_at)
        if start >= first:
            first, from_start = start, True
    shown = max(0, int((end - first).total_seconds() // 60) + 1)  # whole minutes drawn
    # A jam still going is drawn over at least `least` minutes; one over, to its end.
    slots = max(shown, min(least, width)) if from_start and not to_end else max(shown, 1)
    stamps = [(first + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M") for i in range(shown)]
    rows = [counts.get(stamp) for stamp in stamps]
    values = {s: [getattr(m, s) if m else 0 for m in rows] for s in SERIES}
    peak = max([1, *(v for s in SERIES for v in values[s])])
    step = slots / max(slots - 1, 1)

    def line(series: str) -> str:
        ys = [f"{100 - n / peak * 95:.1f}" for n in values[series]]
        if len(ys) == 1:  # one minute: a short level stroke across it, not a lone point
            return f"0.0,{ys[0]} {step:.1f},{ys[0]}"
        return " ".join(f"{i * step:.1f},{y}" for i, y in enumerate(ys))

    totals = {s: sum(values[s]) for s in SERIES}
    busiest = None
    if any(totals.values()):
        # The first minute at the peak, and what reached it (votes before comments, ideas).
        i, series = next((i, s) for i in range(shown) for s in SERIES if values[s][i] == peak)
        busiest = {"minute": stamps[i][11:], "count": peak, "series": series}
    figures = [
        {"minute": stamps[i][11:], **{s: values[s][i] for s in SERIES}}
        for i in reversed(range(max(0, shown - FIGURES_MAX), shown))
    ]
    chart = {
        "width": slots,
        "peak": peak,
        "from": first.strftime("%Y-%m-%d %H:%M"),
        "to": stamps[-1].replace("T", " ") if stamps else "",
        "from_start": from_start,
        "to_end": to_end,
        "over": ended is not None and ended <= now,
        "minutes": shown,
        "totals": totals,
        "busiest": busiest,
        "figures": figures,
        **{s: line(s) for s in SERIES},
    }
    chart["summary"] = _summary(chart)
    return chart


def _summary(chart: dict[str, Any]) -> str:
    """The chart in words, for its text alternative."""
    if not chart["minutes"]:
        return "Votes, comments and ideas per minute: no whole minute to show yet."
    totals, busiest = chart["totals"], chart["busiest"]
    said = (
        f"Votes, comments and ideas per minute, {chart['from']} to {chart['to']} UTC: "
        f"{counted(totals['votes'], 'vote')}, {counted(totals['comments'], 'comment')} "
        f"and {counted(totals['ideas'], 'idea')} in all"
    )
    if busiest is None:
        return said + "."
    what = counted(busiest["count"], busiest["series"][:-1])
    return f"{said}; the peak, {what} in a minute, at {busiest['minute']} UTC."
