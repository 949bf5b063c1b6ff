"""Starting `jam` processes for the topology tests: clean environment, logs to a file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

START_S = 90.0  # a busy machine can take this long to start a server and its workers
ROOT = Path(__file__).resolve().parents[2]  # the checkout these tests belong to


def start(cwd: Path, env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """`python -m jam.cli *args` on this checkout, seeing only the OPENJAM_* variables in `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENJAM_")}
    clean.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # This checkout's code, not whichever one the environment installed.
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), clean.get("PYTHONPATH"))))
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "jam.cli", *args],
            cwd=cwd,
            env={**clean, **env},
            stdout=out,
            stderr=out,
        )


def wait_answering(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until `url` answers: a process starting has nothing to wait on but its port."""
    deadline = time.monotonic() + START_S
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{proc.args} did not start:\n{log.read_text()}")
        time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> int:
    """SIGTERM, as a supervisor stops a process; SIGKILL if it does not exit in time."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def json_lines(log: Path) -> list[dict[str, Any]]:
    """Every line of `log` as JSON: fails on any line that is not."""
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
