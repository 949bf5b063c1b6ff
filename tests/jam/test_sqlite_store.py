"""The SQLite event store: batches saved in few statements, at the positions SQLite gave them."""

from __future__ import annotations

from uuid import uuid4

import pytest
from eventsourcing import sqlite as library
from eventsourcing.persistence import IntegrityError, StoredEvent

from jam.application import JamApplication
from jam.settings import Settings
from jam.stores.sqlite import INSERT_ROWS_MAX, _chunk_sizes


@pytest.fixture
def recorder(tmp_path):
    app = JamApplication(Settings(data_dir=tmp_path / "var"))
    yield app.recorder
    app.close()


@pytest.fixture
def statements(monkeypatch):
    """Every statement the library's cursors execute from here on."""
    seen: list[str] = []
    execute = library.SQLiteCursor.execute

    def counted(self, statement, *args, **kwargs):
        seen.append(statement.split(" ", 1)[0])
        return execute(self, statement, *args, **kwargs)

    monkeypatch.setattr(library.SQLiteCursor, "execute", counted)
    return seen


def _events(n: int) -> list[StoredEvent]:
    return [StoredEvent(uuid4(), 1, "t", b"state") for _ in range(n)]


@pytest.mark.parametrize("n", [1, 3, 255, 256, 300, 777])
def test_chunks_are_powers_of_two_that_sum_to_the_batch(n):
    sizes = _chunk_sizes(n)
    assert sum(sizes) == n
    assert all(s & (s - 1) == 0 and s <= INSERT_ROWS_MAX for s in sizes)
    assert len(sizes) <= n // INSERT_ROWS_MAX + 8


def test_a_batch_is_saved_in_a_few_statements_at_the_positions_sqlite_gave_it(recorder, statements):
    recorder.insert_events(_events(5))
    events = _events(300)
    statements.clear()
    ids = recorder.insert_events(events)
    assert statements.count("INSERT") == 4  # 256 + 32 + 8 + 4 rows, not 300 statements
    assert ids == list(range(6, 306))
    assert ids == [recorder.position_of(e.originator_id, 1) for e in events]


def test_a_batch_that_conflicts_saves_none_of_its_events(recorder):
    first = _events(3)
    recorder.insert_events(first)
    with pytest.raises(IntegrityError):
        recorder.insert_events([*_events(20), first[1]])
    assert recorder.max_notification_id() == 3


def test_a_version_lookup_is_one_statement(recorder, statements):
    events = _events(3)
    recorder.insert_events(events)
    statements.clear()
    found = recorder.max_versions([e.originator_id for e in events] + [uuid4()])
    assert found == {e.originator_id: 1 for e in events}
    assert statements == []  # no BEGIN / COMMIT around it, not even the library's cursor


def test_the_log_position_is_one_statement(recorder, statements):
    assert recorder.max_notification_id() is None
    recorder.insert_events(_events(4))
    statements.clear()
    assert recorder.max_notification_id() == 4
    assert statements == []
