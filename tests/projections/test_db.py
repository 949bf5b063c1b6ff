"""SQLite's read-model writes: many rows per INSERT statement, the same rows as one by one."""

from __future__ import annotations

import sqlite3

import pytest

from projections import db
from projections.db import MultiRowCursor, SQLiteViews

UPSERT = (
    "INSERT INTO tallies (key, note, up) VALUES (?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET up = tallies.up + excluded.up"
)


def _table(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE tallies (key TEXT PRIMARY KEY, note TEXT, up INTEGER)")


def _statements(conn: sqlite3.Connection) -> list[str]:
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    return seen


def test_an_insert_of_many_rows_takes_few_statements_and_gives_the_same_rows(tmp_path, monkeypatch):
    rows = [(f"k{i:05}", None if i % 3 else f"note {i}", i) for i in range(1000)]
    rows += [("k00007", "again", 5), ("k00999", None, 1)]  # upserts onto rows just inserted
    one_by_one = sqlite3.connect(tmp_path / "a.sqlite3", isolation_level=None)
    many = sqlite3.connect(tmp_path / "b.sqlite3", isolation_level=None)
    for conn in (one_by_one, many):
        _table(conn)
    one_by_one.executemany(UPSERT, rows)
    seen = _statements(many)
    many.cursor(MultiRowCursor).executemany(UPSERT, rows)
    per_statement = db.MULTI_ROW_VALUES // 3  # and the rest in one more
    assert len(seen) == -(-len(rows) // per_statement)  # not one per row
    dump = "SELECT key, note, up FROM tallies ORDER BY key"
    assert many.execute(dump).fetchall() == one_by_one.execute(dump).fetchall()
    assert many.execute("SELECT up FROM tallies WHERE key = 'k00007'").fetchone() == (12,)


def test_statements_stay_within_the_databases_limit_on_bound_values(tmp_path):
    conn = sqlite3.connect(tmp_path / "d.sqlite3", isolation_level=None)
    _table(conn)
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 30)
    seen = _statements(conn)
    conn.cursor(MultiRowCursor).executemany(UPSERT, [(f"k{i}", None, i) for i in range(25)])
    assert len(seen) == 3  # 10 rows, 10 rows, 5 rows
    assert conn.execute("SELECT COUNT(*), SUM(up) FROM tallies").fetchone() == (25, 300)


def test_other_statements_and_malformed_rows_go_one_row_at_a_time(tmp_path):
    conn = sqlite3.connect(tmp_path / "c.sqlite3", isolation_level=None)
    _table(conn)
    cur = conn.cursor(MultiRowCursor)
    cur.executemany(UPSERT, [("a", None, 1), ("b", None, 2)])
    seen = _statements(conn)
    cur.executemany("UPDATE tallies SET up = ? WHERE key = ?", [(5, "a"), (6, "b")])
    assert len(seen) == 2
    assert conn.execute("SELECT up FROM tallies ORDER BY key").fetchall() == [(5,), (6,)]
    with pytest.raises(sqlite3.ProgrammingError):  # never values shifted into the next row
        cur.executemany(UPSERT, [("c", None), ("d", None, 1, 2)])


def test_the_views_write_through_the_multi_row_cursor(tmp_path):
    views = SQLiteViews(tmp_path / "views.sqlite3")
    with views.transaction() as cur:
        assert isinstance(cur, MultiRowCursor)
    views.close()
