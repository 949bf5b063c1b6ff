"""Memory and CPU of the processes a simulation starts, read from /proc.

A sampler thread reads every watched process tree (a server and the workers it
forks) a few times a second: each process's resident set and CPU time, keeping
each one's peak, each tree's peak sum and the peak of all of them together. A
finished child's exact peak comes from `wait4`. Trees are reported process by
process, or as one row for a server of many short-lived processes (PostgreSQL's
backends come and go with connections), whose memory is then the proportional set
(PSS), since its processes share one buffer pool.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
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


def pss_bytes(pid: int) -> int:
    """Proportional set: resident pages, each shared one divided among its sharers (what a
    server of many processes sharing one buffer pool really holds); RSS if unreadable."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return rss_bytes(pid)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


KEPT = ("worker", "resource tracker")  # roles reported even after they exit


def role(cmdline: str) -> str:
    """What a process below a watched one is, from its command line."""
    if "multiprocessing.spawn" in cmdline:
        return "worker"  # uvicorn's --workers: each a web server of its own
    if "multiprocessing.resource_tracker" in cmdline:
        return "resource tracker"
    return Path(cmdline.split(" ", 1)[0]).name or "process"


def listening_pid(port: int) -> int | None:
    """The process listening on TCP `port` on this machine, if /proc lets us see it."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{cols[9]}]")
    if not inodes:
        return None
    owners = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            for fd in fd_dir.iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        owners.add(int(fd_dir.parent.name))
                        break
    # Forked servers share the listening socket: the one at the top is the server.
    tops = [p for p in owners if _parent(p) not in owners]
    return min(tops) if tops else None


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


@dataclass
class Proc:
    """One process of a watched tree, as sampled."""

    pid: int
    role: str
    cpu_first: float  # CPU seconds when first seen (0 for one started while watched)
    parent: int = 0
    cpu_last: float = 0.0
    peak_rss: int = 0
    rss: int = 0  # at the latest sample


@dataclass
class Watched:
    name: str
    pid: int
    grouped: bool = False  # reported as one row for the whole tree, memory as PSS
    keep: Callable[[str], bool] | None = None  # which processes below the top count
    skipped: set[int] = field(default_factory=set)
    peak_rss: int = 0  # of the tree's sum
    started: float = field(default_factory=time.monotonic)
    sampled: float = 0.0
    procs: dict[int, Proc] = field(default_factory=dict)


@dataclass
class Usage:
    """One row of a report: a process (or a grouped tree) over the time it was watched."""

    name: str
    pids: list[int]
    cpu_s: float
    cpu_percent: float  # of one core
    peak_rss: int


class Sampler:
    """Samples the resident memory and CPU time of named process trees until stopped."""

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

    def watch(
        self,
        name: str,
        pid: int,
        *,
        grouped: bool = False,
        keep: Callable[[str], bool] | None = None,
    ) -> Watched:
        """Watch `pid` and the processes below it (those `keep` accepts, by command line)."""
        w = Watched(name, pid, grouped, keep)
        for p in self._tree(w):  # what they used before counts for nothing
            w.procs[p] = Proc(p, self._role(w, p), cpu_first=cpu_seconds(p), parent=_parent(p))
        with self._lock:
            self.watched[name] = w
        self.sample()
        return w

    def forget(self, name: str) -> None:
        with self._lock:
            self.watched.pop(name, None)

    def cpu_percent(self, name: str) -> float:
        """Share of one core used by the process tree since it was watched."""
        self.sample()
        return sum(u.cpu_percent for u in self.usage(name))

    def usage(self, name: str) -> list[Usage]:
        """The tree's processes (one row if grouped), as of the latest sample."""
        w = self.watched[name]
        seconds = max(w.sampled - w.started, 1e-9)
        with self._lock:
            procs = sorted(w.procs.values(), key=lambda p: p.pid)
        if w.grouped:
            cpu = sum(p.cpu_last - p.cpu_first for p in procs)
            pids = [p.pid for p in procs]
            return [Usage(name, pids, cpu, 100 * cpu / seconds, w.peak_rss)]
        # A helper that came and went (scikit-learn's `lscpu` to count cores) is its
        # parent's work, not a process of the topology: its CPU goes to its parent's row.
        helpers = [p for p in procs if p.pid != w.pid and p.role not in KEPT and not p.rss]
        procs = [p for p in procs if p not in helpers]
        cpu = {p.pid: p.cpu_last - p.cpu_first for p in procs}
        parents = {h.pid: h.parent for h in helpers}
        for h in helpers:
            owner = h.parent
            while owner in parents:  # `sh -c lscpu`: up to the process that ran the shell
                owner = parents[owner]
            owner = owner if owner in cpu else w.pid
            cpu[owner] = cpu.get(owner, 0.0) + h.cpu_last - h.cpu_first
        rows, count = [], {"worker": 0}
        workers = sum(p.role == "worker" for p in procs)
        for p in procs:
            if p.pid == w.pid:
                label = f"{name} (supervisor)" if workers else name
            elif p.role == "worker":
                count["worker"] += 1
                label = f"{name} worker {count['worker']}"
            else:
                label = f"{name}: {p.role}"
            used = cpu[p.pid]
            rows.append(Usage(label, [p.pid], used, 100 * used / seconds, p.peak_rss))
        return rows

    @staticmethod
    def _role(w: Watched, pid: int) -> str:
        return w.name if pid == w.pid else role(command_line(pid))

    @staticmethod
    def _tree(w: Watched) -> set[int]:
        found = set()
        for pid in descendants(w.pid):
            if pid in w.skipped:
                continue
            new = pid != w.pid and pid not in w.procs
            if new and w.keep is not None and not w.keep(command_line(pid)):
                w.skipped.add(pid)
                continue
            found.add(pid)
        return found

    def sample(self) -> None:
        with self._lock:
            total = 0
            now = time.monotonic()
            for w in self.watched.values():
                tree = 0
                live = self._tree(w)
                for pid in live:
                    proc = w.procs.get(pid)
                    if proc is None:  # started since: all its CPU time is the phase's
                        proc = w.procs[pid] = Proc(
                            pid, self._role(w, pid), cpu_first=0.0, parent=_parent(pid)
                        )
                    rss = pss_bytes(pid) if w.grouped else rss_bytes(pid)
                    cpu = cpu_seconds(pid)
                    if rss or cpu:  # still there (an exited one keeps its last figures)
                        proc.rss, proc.cpu_last = rss, max(proc.cpu_last, cpu)
                        proc.peak_rss = max(proc.peak_rss, rss)
                        tree += rss
                for pid, proc in w.procs.items():
                    if pid not in live:
                        proc.rss = 0
                w.peak_rss = max(w.peak_rss, tree)
                w.sampled = now
                total += tree
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
