from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jam.application import JamApplication
from jam.clock import ManualClock
from jam.settings import Settings
from tests.services import drop_schema, fresh_schema

# A fixed start: tests never depend on when they run.
T0 = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a fresh, empty store: every store-facing test runs on both."""
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path / "var")
        return
    url, schema = fresh_schema()
    try:
        yield Settings(database_url=url, database_schema=schema)
    finally:
        drop_schema(url, schema)


@pytest.fixture
def app(settings: Settings, clock: ManualClock) -> Iterator[JamApplication]:
    application = JamApplication(settings, clock=clock)
    try:
        yield application
    finally:
        application.close()
