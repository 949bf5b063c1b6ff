"""Nothing acknowledged is ever lost: kill a writer mid-burst with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from domain import Idea
from jam.application import JamApplication
from jam.receipts import Receipt, receipt_id

ROOT = Path(__file__).resolve().parents[2]
ACKS_BEFORE_KILL = 300


def _run_and_kill(args: list[str]) -> list[tuple[UUID, UUID, int]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.jam.crash_writer", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    acks = []
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        assert ready.startswith("READY"), proc.stderr.read() if proc.stderr else ready
        for line in proc.stdout:
            _, idea, author, position = line.split()
            acks.append((UUID(idea), UUID(author), int(position)))
            if len(acks) >= ACKS_BEFORE_KILL:
                proc.send_signal(signal.SIGKILL)  # mid-burst: other batches are in flight
                break
    finally:
        proc.kill()
        proc.wait()
    return acks


@pytest.mark.slow
def test_every_acknowledged_command_survives_a_sigkill(settings):
    if settings.uses_postgres:
        args = ["--database-url", settings.database_url, "--schema", settings.database_schema]
    else:
        args = ["--data-dir", str(settings.data_dir)]
    acks = _run_and_kill(args)
    assert len(acks) == ACKS_BEFORE_KILL

    with JamApplication(settings) as app:
        for idea_id, author, position in acks:
            assert app.find(Idea, idea_id) is not None, f"acknowledged idea {idea_id} was lost"
            assert app.recorder.position_of(receipt_id(author, idea_id.hex), 1) == position

        # No half-written command: every idea in the log has its receipt and vice versa.
        ideas, receipts = set(), set()
        idea_topic, receipt_topic = get_topic(Idea.Posted), get_topic(Receipt.Recorded)
        for n in app.recorder.select_notifications(
            1, 1_000_000, topics=[idea_topic, receipt_topic]
        ):
            (ideas if n.topic == idea_topic else receipts).add(n.originator_id)
        assert len(ideas) >= len(acks)
        for idea_id in ideas:
            idea = app.load(Idea, UUID(str(idea_id)))
            assert receipt_id(idea.author_id, idea.id.hex) in receipts
        assert len(receipts) == len(ideas)
