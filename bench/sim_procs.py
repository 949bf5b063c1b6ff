"""Memory and CPU of the processes a simulation starts, read from /proc.

A sampler thread reads every watched process's resident set (and its children's,
for servers that fork workers) a few times a second, keeping each one's peak and
the peak of their sum. A finished child's exact peak comes from `wait4`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
MB = 1024 * 1024


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (uvicorn's workers, a server's helpers)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class Watched:
    name: str
    pid: int
    peak_rss: int = 0
    started: float = field(default_factory=time.monotonic)
    cpu_at_start: float = 0.0


class Sampler:
    """Samples the resident memory of named processes until stopped."""

    def __init__(self, interval_s: float = 0.25) -> None:
        self._interval = interval_s
        self._lock = threading.Lock()
        self.watched: dict[str, Watched] = {}
        self.peak_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def watch(self, name: str, pid: int) -> Watched:
        w = Watched(name, pid, cpu_at_start=sum(cpu_seconds(p) for p in descendants(pid)))
        with self._lock:
            self.watched[name] = w
        return w

    def forget(self, name: str) -> None:
        with self._lock:
            self.watched.pop(name, None)

    def cpu_percent(self, name: str) -> float:
        """Share of one core used by the process tree since it was watched."""
        w = self.watched[name]
        used = sum(cpu_seconds(p) for p in descendants(w.pid)) - w.cpu_at_start
        return 100 * used / max(time.monotonic() - w.started, 1e-9)

    def sample(self) -> None:
        with self._lock:
            total = 0
            for w in self.watched.values():
                rss = sum(rss_bytes(p) for p in descendants(w.pid))
                w.peak_rss = max(w.peak_rss, rss)
                total += rss
            self.peak_total = max(self.peak_total, total)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()


@dataclass
class Finished:
    name: str
    seconds: float
    peak_rss: int  # bytes, from wait4: the kernel's exact high-water mark
    cpu_s: float
    returncode: int
    stdout: str


def run_watched(
    sampler: Sampler,
    name: str,
    argv: Sequence[str],
    env: dict[str, str],
    *,
    echo: bool = True,
) -> Finished:
    """Run a child to the end under the sampler; its stdout is echoed and kept."""
    started = time.monotonic()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True, bufsize=1)
    sampler.watch(name, child.pid)
    lines = []
    assert child.stdout is not None
    for line in child.stdout:
        lines.append(line)
        if echo:
            print(f"  [{name}] {line.rstrip()}", flush=True)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    sampler.forget(name)
    return Finished(
        name=name,
        seconds=time.monotonic() - started,
        peak_rss=usage.ru_maxrss * 1024,
        cpu_s=usage.ru_utime + usage.ru_stime,
        returncode=child.returncode,
        stdout="".join(lines),
    )
