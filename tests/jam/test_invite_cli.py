"""`jam invite --count N`: bounded as the API is, and recorded in one step before any is shown."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import msgspec
import pytest

from jam import commands as c
from jam.application import JamApplication
from jam.cli import main
from jam.handlers import HANDLERS
from jam.invites import MAX_INVITES
from jam.settings import Settings
from tests.jam.test_cli import CODE, clear_openjam_env, jam
from ui.schemas import NewInvites

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test runs `jam` in an empty folder: its store is ./var."""
    clear_openjam_env(monkeypatch)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def issued(where: Path) -> int:
    with JamApplication(Settings(data_dir=where / "var")) as app:
        log = app.recorder.select_notifications(1, 100_000)
        return sum(1 for n in log if n.topic.endswith("Invite.Issued"))


def test_the_bound_is_the_apis():
    [count] = [f for f in msgspec.inspect.type_info(NewInvites).fields if f.name == "count"]
    assert (count.type.ge, count.type.le) == (1, MAX_INVITES) == (1, 1000)


def test_as_many_codes_as_the_api_allows_are_printed_and_recorded(workdir, capsys):
    code, out, _ = jam("invite", "--role", "organizer", "--count", "1000", capsys=capsys)
    assert code == 0
    codes = out.splitlines()
    assert len(set(codes)) == len(codes) == 1000
    assert all(CODE.match(line) for line in codes)
    assert issued(workdir) == 1000


@pytest.mark.parametrize("count", ["1001", "100000"])
def test_more_codes_than_the_api_allows_are_refused_before_anything_is_written(
    count, workdir, capsys
):
    with pytest.raises(SystemExit) as exit_:
        main(["invite", "--role", "organizer", "--count", count])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: jam")
    assert f"argument --count: at most 1000 codes at a time, got {count}" in err
    assert not (workdir / "var").exists()


def test_a_run_stopped_while_deciding_the_codes_records_none(workdir, capsys, monkeypatch):
    # Ctrl-C at the fourth code: one at a time, three valid codes were left that nobody saw.
    issue, calls = HANDLERS[c.IssueInvite], []

    def interrupted(cmd, load, at):
        calls.append(cmd)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return issue(cmd, load, at)

    monkeypatch.setitem(HANDLERS, c.IssueInvite, interrupted)
    code, out, _ = jam("invite", "--role", "organizer", "--count", "10", capsys=capsys)
    assert (code, out) == (130, "")
    assert issued(workdir) == 0


def events_in(store: Path) -> int:
    """Events the store holds, read while another process writes it (SQLite's WAL)."""
    try:
        with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
            return db.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0]
    except sqlite3.OperationalError:  # not made yet
        return 0


@pytest.mark.slow
def test_a_run_killed_as_its_codes_are_written_leaves_none_or_all(workdir):
    # Killed the moment the first code is in the store: written one by one, the others
    # never were, and those that were had not been printed.
    store = workdir / "var" / "events.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "jam.cli", "invite", "--role", "organizer", "--count", "1000"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "OPENJAM_DATA_DIR": str(workdir / "var")},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            ended = proc.poll() is not None
            found = events_in(store)
            if found or ended or time.monotonic() > deadline:
                break
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        _, err = proc.communicate()
    assert found, err.decode()
    assert issued(workdir) == 1000
