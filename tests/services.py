"""Access to the real PostgreSQL and Redis servers the integration tests need.

A test that needs a server asks for it through `require_postgres()` or
`require_redis()`: without the server the test skips with the reason, except
under CI=true, where a missing server fails the run.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

POSTGRES_URL = os.environ.get(
    "OPENJAM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/openjam_test"
)
REDIS_URL = os.environ.get("OPENJAM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _missing(what: str, why: object) -> None:
    reason = f"{what} is not reachable ({why}); see DEVELOPERS.md"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true needs the real server: {reason}", pytrace=False)
    pytest.skip(reason)


def _admin_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres"))


def require_postgres() -> str:
    """Ensure the test database exists; return its URL."""
    try:
        import psycopg

        dbname = urlsplit(POSTGRES_URL).path.lstrip("/")
        with psycopg.connect(_admin_url(POSTGRES_URL), autocommit=True, connect_timeout=3) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname=%s", (dbname,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{dbname}"')
    except Exception as exc:  # any failure to reach the server means "absent"
        _missing(f"PostgreSQL at {POSTGRES_URL}", exc)
    return POSTGRES_URL


def fresh_schema() -> tuple[str, str]:
    """A new empty schema in the test database: (url, schema)."""
    import psycopg

    url = require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return url, schema


def drop_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def require_redis() -> str:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        _missing(f"Redis at {REDIS_URL}", exc)
    return REDIS_URL
