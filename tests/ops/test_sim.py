"""The load simulation's real-time mode still runs and reports what its issue asks for:
events/s, HTTP p50 / p99 per endpoint, projection lag (events and seconds), live freshness,
cluster refresh times, and memory and CPU of each process. A second or two a phase, with a
small seeded jam and few participants: a smoke test, not a measurement."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ui.harness import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"[\d,.]+"


def run_realtime(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENJAM_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    argv = [sys.executable, "-m", "bench.jam_sim", "realtime", *args]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def process_rows(report: str, phase: str) -> dict[str, list[float]]:
    """The per-process table's rows of one phase: name -> CPU %, CPU s, peak memory MB."""
    rows = {}
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 6 and cells[0] == phase and re.fullmatch(NUMBER, cells[3]):
            rows[cells[1]] = [float(c.replace(",", "")) for c in cells[3:]]
    return rows


def test_the_realtime_mode_reports_every_figure():
    report = run_realtime(
        "--port", str(free_port()),
        "--burst", "1",
        "--seconds", "4",
        "--clients", "8",
        "--connections", "4",
        "--think", "0.3",
        "--seed-scale", "0.1",
        "--topic-refresh", "1",
    )  # fmt: skip

    for phase in ("ceiling", "reads", "mix", "ceiling again", "jam"):
        rows = process_rows(report, phase)
        server = "bare app" if phase.startswith("ceiling") else "jam serve"
        assert set(rows) == {server, "client"}, (phase, rows)
        assert rows[server][2] > 10, (phase, rows)  # MB resident
        assert rows["client"][2] > 10, (phase, rows)
        assert rows[server][1] > 0, (phase, rows)  # the server did work

    jam = report[report.index("jam: per endpoint") :]
    for endpoint in ("POST /api/session", "GET ideas list", "GET thread"):
        assert re.search(
            rf"\| {endpoint} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| 20\d: ", jam
        ), endpoint
    events = re.search(rf"writes acknowledged; ({NUMBER}) events/s", report)
    assert events, report
    assert float(events[1]) > 0, report
    assert re.search(rf"live freshness .* p50 {NUMBER} ms, p99 {NUMBER} ms", report), report
    lag = re.search(
        rf"projection lag \(read models behind the log, /ready, (\d+) samples\): "
        rf"p50 {NUMBER}, max \d+ events; p50 {NUMBER} s, max {NUMBER} s since .* "
        rf"as the app reports it .* p50 {NUMBER} s, max {NUMBER} s",
        report,
    )
    assert lag, report
    assert int(lag[1]) >= 1, report
    refresh = re.search(
        rf"cluster refresh .* first after start ({NUMBER}) ms .* in the jam phase (\d+) "
        rf"refresh(?:es)?, mean ({NUMBER}) ms, max ({NUMBER}) ms; p50 {NUMBER} to {NUMBER} s",
        report,
    )
    assert refresh, report
    assert int(refresh[2]) >= 1, report  # a refresh a second while the participants write
    assert float(refresh[4].replace(",", "")) >= float(refresh[3].replace(",", "")) > 0


def test_a_helper_that_came_and_went_counts_as_its_parents_work():
    """A server that runs a short command (scikit-learn runs `lscpu` to count cores) has no
    extra process in the report: the helper's CPU time is its parent's."""
    from bench.sim_procs import Sampler

    script = (
        "import subprocess, sys, time\n"
        "subprocess.run([sys.executable, '-c', 'sum(range(10**7))'])\n"
        "print('done', flush=True)\n"
        "time.sleep(30)\n"
    )
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        with Sampler(interval_s=0.02) as sampler:
            sampler.watch("server", server.pid)
            assert server.stdout is not None
            assert server.stdout.readline() == "done\n"
            sampler.sample()
            rows = sampler.usage("server")
    finally:
        server.kill()
        server.wait()
    assert [row.name for row in rows] == ["server"]
    assert rows[0].cpu_s > 0.1  # the helper's sum, which the parent only waited for
