"""A fresh, empty store for one simulation: a temporary data directory, and with
--database-url a new schema in that PostgreSQL database (dropped afterwards)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.write_path import postgres_store


@contextmanager
def fresh_store(
    database_url: str | None, parent: str | None = None, *, keep: bool = False
) -> Iterator[dict[str, str]]:
    """Yield the OPENJAM_ settings of a new empty store."""
    folder = Path(tempfile.mkdtemp(prefix="openjam-sim-", dir=parent))
    env = {"OPENJAM_DATA_DIR": str(folder)}
    try:
        with ExitStack() as stack:
            if database_url:
                pg = stack.enter_context(postgres_store(database_url))
                env["OPENJAM_DATABASE_URL"] = pg["database_url"]
                env["OPENJAM_DATABASE_SCHEMA"] = pg["database_schema"]
            yield env
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
