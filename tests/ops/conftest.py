"""A deployment for the process tests (a fresh PostgreSQL schema and the real Redis), and
the root logger put back after tests that configure logging."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.services import drop_schema, fresh_schema, require_redis


@pytest.fixture
def deployment() -> Iterator[dict[str, str]]:
    redis_url = require_redis()
    url, schema = fresh_schema()
    try:
        yield {
            "OPENJAM_DATABASE_URL": url,
            "OPENJAM_DATABASE_SCHEMA": schema,
            "OPENJAM_REDIS_URL": redis_url,
            "OPENJAM_PROJECTIONS": "external",
            "OPENJAM_RANKING": "external",
            "OPENJAM_TOPIC_REFRESH_S": "1",
            # A busy machine can take a while to start the ranking worker and refresh.
            "OPENJAM_READ_WAIT_MS": "60000",
            "OPENJAM_LOG_FORMAT": "json",
        }
    finally:
        drop_schema(url, schema)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
