#!/usr/bin/env python3
"""Set up and run OpenJam with nothing but Python 3.11+.

    python3 dev.py demo    # a demo jam on the embedded store, served at 127.0.0.1:8000
    python3 dev.py test    # lint and the whole test suite
    python3 dev.py jam ... # any `jam` command, e.g. `python3 dev.py jam events`

The first run makes ./.venv and installs the locked dependencies
(requirements.lock, hash-checked); later runs reinstall only when the lock or
pyproject.toml changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".openjam-installed"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _run(*cmd: str | Path) -> None:
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True)


def ensure_environment() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must explain itself on old Pythons
        sys.exit(f"OpenJam needs Python 3.11 or newer (this is {sys.version.split()[0]}).")
    if not (BIN / "python").exists():
        print("Creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    print("Installing locked dependencies into .venv ...", flush=True)
    pip = (BIN / "python", "-m", "pip", "--disable-pip-version-check", "-q")
    _run(*pip, "install", "--require-hashes", "-r", "requirements.lock")
    _run(*pip, "install", "--no-deps", "--no-build-isolation", "-e", ".")
    STAMP.write_text(_fingerprint())


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "jam"):
        print(__doc__)
        return 2
    ensure_environment()
    task, rest = argv[0], argv[1:]
    if task == "demo":
        cmd = [BIN / "jam", "demo", *rest]
    elif task == "jam":
        cmd = [BIN / "jam", *rest]
    else:
        lint = subprocess.run([BIN / "ruff", "check", "."], cwd=ROOT, check=False)
        if lint.returncode:
            return lint.returncode
        cmd = [BIN / "python", "-m", "pytest", *rest]
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
