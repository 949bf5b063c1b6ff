from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from jam.application import JamApplication
from jam.settings import Settings
from tests.private_servers import PrivatePostgres, PrivateRedis, private_postgres, private_redis
from tests.services import drop_schema, fresh_schema

# How long Redis or PostgreSQL stays down. The default keeps the suite short;
# OPENJAM_OUTAGE_S=30 runs the outages docs/reliability.md reports.
DEFAULT_OUTAGE_S = 5.0


@pytest.fixture
def outage_s() -> float:
    return float(os.environ.get("OPENJAM_OUTAGE_S", DEFAULT_OUTAGE_S))


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A Redis of our own, which the test may stop: never the shared one."""
    with private_redis(tmp_path) as server:
        yield server


@pytest.fixture
def postgres_server() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of our own, which the test may stop: never the shared one."""
    with private_postgres() as server:
        yield server


@pytest.fixture
def shared_store() -> Iterator[tuple[str, str]]:
    """A fresh schema on the shared PostgreSQL, for tests that stop no server."""
    url, schema = fresh_schema()
    try:
        yield url, schema
    finally:
        drop_schema(url, schema)


@pytest.fixture
def writer_app(shared_store: tuple[str, str]) -> Iterator[JamApplication]:
    url, schema = shared_store
    app = JamApplication(Settings(database_url=url, database_schema=schema))
    try:
        yield app
    finally:
        app.close()
