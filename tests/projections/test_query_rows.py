"""Reading many rows from SQLite read models in one step, exactly as they are stored."""

from __future__ import annotations

import random
import sqlite3

import pytest

from projections.queries import _all

TEXTS = ["plain", 'a "quote" and \\ backslash', "line\nbreak\ttab", "émoji 🎉 ünïcode", "", None]


@pytest.fixture
def cur():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, body TEXT, score REAL, n INTEGER)")
    rng = random.Random(3)
    conn.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?)",
        [
            (k, TEXTS[k % len(TEXTS)], rng.random() * 10 ** rng.randint(-5, 8), rng.randint(-9, 9))
            for k in range(500)
        ],
    )
    yield conn.cursor()
    conn.close()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT k, body, score, n FROM t ORDER BY n, score DESC",
        "SELECT k, body, score, n FROM t WHERE n > ? ORDER BY score LIMIT 50 OFFSET 7",
        "SELECT k, body, score, n FROM t WHERE k < 0",
    ],
)
def test_rows_are_those_of_the_query_in_its_order_with_reals_exact(cur, sql):
    params = (2,) if "?" in sql else ()
    plain = cur.execute(sql, params).fetchall()
    rows = _all(cur, sql, params)
    assert [(k, body, float(score), n) for k, body, score, n in rows] == plain
    assert plain or rows == []


def test_all_the_rows_come_in_one_statement_and_one_row(cur):
    sql = "SELECT k, body, score, n FROM t ORDER BY k"
    _all(cur, sql, ())  # a query's first use also asks SQLite for its columns, once
    seen: list[str] = []
    cur.connection.set_trace_callback(seen.append)
    rows = _all(cur, sql, ())
    assert len(rows) == 500
    assert len(seen) == 1
    assert "json_group_array" in seen[0]
