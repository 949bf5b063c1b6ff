"""Settings, read once from environment variables prefixed OPENJAM_.

| variable                   | default  | meaning                                              |
|----------------------------|----------|------------------------------------------------------|
| OPENJAM_DATA_DIR           | ./var    | where the embedded SQLite store lives                |
| OPENJAM_DATABASE_URL       | (unset)  | postgresql://user:password@host:port/db; unset: SQLite |
| OPENJAM_DATABASE_SCHEMA    | public   | PostgreSQL schema for the event tables               |
| OPENJAM_SQLITE_SYNCHRONOUS | FULL     | FULL (fsync each commit), NORMAL or EXTRA            |
| OPENJAM_GROUP_COMMIT       | on       | batch concurrent commands into one transaction       |
| OPENJAM_COMMIT_WINDOW_MS   | 1        | the longest a command waits for others to join it    |
| OPENJAM_COMMIT_MAX_BATCH   | 500      | the most commands in one transaction                 |
| OPENJAM_COMMIT_CACHE       | 100000   | aggregates the group committer keeps in memory        |
| OPENJAM_REDIS_URL          | (unset)  | redis://host:port/db for live fan-out between workers |
| OPENJAM_HOST, OPENJAM_PORT | 127.0.0.1, 8000 | where `jam serve` listens                     |
| OPENJAM_READ_WAIT_MS       | 5000     | how long a read with ?after= waits for the read models |
| OPENJAM_FEED_RETENTION     | 100000   | log positions of live-update history kept for reconnects |
| OPENJAM_STREAMS_PER_PARTICIPANT | 8 | live streams one person may hold open per web worker |
| OPENJAM_READ_CACHE_MB      | 64       | memory for encoded idea lists and threads (0: no cache) |
| OPENJAM_SECRET_KEY         | (unset)  | signs session tokens; unset: a key kept in the data dir |
| OPENJAM_SECURE_COOKIES     | false    | true behind HTTPS: Secure cookies and an HSTS header  |
| OPENJAM_WRITES_PER_MINUTE  | 120      | writes allowed per participant per minute             |
| OPENJAM_PROJECTIONS        | inline   | inline (web workers project) or external (a worker) |
| OPENJAM_RANKING            | inline   | inline (a web worker thread) or external (a worker) |
| OPENJAM_TOPIC_REFRESH_S    | 10       | least seconds between two refreshes of a jam's topics |
| OPENJAM_LOG_FORMAT         | text     | text, or json (one object per line)                   |
| OPENJAM_LOG_LEVEL          | INFO     | DEBUG, INFO, WARNING or ERROR                         |
| OPENJAM_METRICS_TOKEN      | (unset)  | token for /metrics; unset: private addresses only     |
| OPENJAM_METRICS_PORT       | (unset)  | where a worker process serves its own /metrics        |
| OPENJAM_METRICS_DIR        | (unset)  | metric files shared by `jam serve --workers N`       |
| OPENJAM_READY_MAX_LAG_S    | 30       | /ready fails when the read models are further behind  |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

import msgspec

PREFIX = "OPENJAM_"
SYNCHRONOUS_MODES = ("FULL", "NORMAL", "EXTRA")
PROJECTION_MODES = ("inline", "external")
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
AGGREGATE_CACHE_SIZE = 20_000
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names it."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    data_dir: Path = Path("var")
    database_url: str | None = None
    database_schema: str = ""
    sqlite_synchronous: str = "FULL"
    group_commit: bool = True
    commit_window_ms: float = 1.0
    commit_max_batch: int = 500
    # Aggregates (people, ideas, comments) the committer decides against from memory; one
    # it lacks is loaded from the store. A jam's active people and ideas should fit.
    commit_cache: int = 100_000
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    read_wait_ms: float = 5000.0
    feed_retention: int = 100_000
    # Live streams one participant may have open at once in each web worker: a few tabs.
    streams_per_participant: int = 8
    read_cache_mb: float = 64.0
    secret_key: str | None = None
    # Behind HTTPS (production): cookies are sent over HTTPS only and responses carry HSTS.
    # Off by default, or the embedded demo at http://127.0.0.1 could not keep a session.
    secure_cookies: bool = False
    writes_per_minute: int = 120
    # The ranking worker (topic clusters, duplicates, the shortlist): "inline" runs it in
    # the web process (the embedded default), "external" leaves it to `jam worker ranking`.
    ranking: str = "inline"
    topic_refresh_s: float = 10.0
    projections: str = "inline"
    log_format: str = "text"
    log_level: str = "INFO"
    metrics_token: str | None = None
    metrics_port: int | None = None
    metrics_dir: Path | None = None
    ready_max_lag_s: float = 30.0

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise SettingsError(f"{PREFIX}PORT must be between 1 and 65535 (got {self.port})")
        if self.sqlite_synchronous.upper() not in SYNCHRONOUS_MODES:
            modes = ", ".join(SYNCHRONOUS_MODES)
            got = self.sqlite_synchronous
            raise SettingsError(f"{PREFIX}SQLITE_SYNCHRONOUS must be one of {modes} (got {got!r})")
        if not 0 <= self.commit_window_ms <= 1000:
            raise SettingsError(f"{PREFIX}COMMIT_WINDOW_MS must be 0 to 1000 milliseconds")
        if self.writes_per_minute < 1:
            raise SettingsError(f"{PREFIX}WRITES_PER_MINUTE must be at least 1")
        if self.feed_retention < 1:
            raise SettingsError(f"{PREFIX}FEED_RETENTION must be at least 1")
        if self.streams_per_participant < 1:
            raise SettingsError(f"{PREFIX}STREAMS_PER_PARTICIPANT must be at least 1")
        if self.read_cache_mb < 0:
            raise SettingsError(f"{PREFIX}READ_CACHE_MB must be 0 (no cache) or more")
        if self.commit_max_batch < 1:
            raise SettingsError(f"{PREFIX}COMMIT_MAX_BATCH must be at least 1")
        if self.commit_cache < 1000:
            raise SettingsError(f"{PREFIX}COMMIT_CACHE must be at least 1000 aggregates")
        _one_of("RANKING", self.ranking, ("inline", "external"))
        if not 0 < self.topic_refresh_s <= 3600:
            raise SettingsError(f"{PREFIX}TOPIC_REFRESH_S must be above 0 and at most 3600")
        if self.database_url is not None:
            postgres_env(self.database_url)
        _one_of("PROJECTIONS", self.projections, PROJECTION_MODES)
        _one_of("LOG_FORMAT", self.log_format, LOG_FORMATS)
        _one_of("LOG_LEVEL", self.log_level.upper(), LOG_LEVELS)
        if self.external_projections and not self.redis_url:
            # The projection worker's live updates reach the web workers only through Redis.
            raise SettingsError(f"{PREFIX}PROJECTIONS=external needs {PREFIX}REDIS_URL")
        if self.metrics_port is not None and not 1 <= self.metrics_port <= 65535:
            raise SettingsError(f"{PREFIX}METRICS_PORT must be between 1 and 65535")
        if self.ready_max_lag_s <= 0:
            raise SettingsError(f"{PREFIX}READY_MAX_LAG_S must be more than 0 seconds")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in msgspec.structs.fields(cls):
            raw = env.get(PREFIX + field.name.upper())
            if raw is not None and raw != "":
                values[field.name] = _parse(field.name, field.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def external_projections(self) -> bool:
        return self.projections == "external"

    @property
    def uses_postgres(self) -> bool:
        return self.database_url is not None

    @property
    def store_name(self) -> str:
        return "postgresql" if self.uses_postgres else "sqlite"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "events.sqlite3"

    def store_env(self) -> dict[str, str]:
        """The eventsourcing library's settings for the chosen store."""
        env = {
            "TRANSCODER_TOPIC": "jam.transcoder:MsgpackTranscoder",
            "AGGREGATE_CACHE_MAXSIZE": str(AGGREGATE_CACHE_SIZE),
            "AGGREGATE_CACHE_FASTFORWARD": "y",
        }
        if self.database_url is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            env.update(
                PERSISTENCE_MODULE="jam.stores.sqlite:Factory",
                SQLITE_DBNAME=str(self.sqlite_path),
                SQLITE_SYNCHRONOUS=self.sqlite_synchronous.upper(),
                SQLITE_LOCK_TIMEOUT="30",
            )
        else:
            env.update(PERSISTENCE_MODULE="jam.stores.postgres:Factory")
            env.update(postgres_env(self.database_url))
            if self.database_schema:
                env["POSTGRES_SCHEMA"] = self.database_schema
        return env


def postgres_env(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SettingsError(f"{PREFIX}DATABASE_URL must start with postgresql:// (got {url!r})")
    dbname = parts.path.lstrip("/")
    if not dbname:
        raise SettingsError(f"{PREFIX}DATABASE_URL names no database: {url!r}")
    try:
        port = parts.port or 5432
    except ValueError:
        raise SettingsError(f"{PREFIX}DATABASE_URL has an invalid port: {url!r}") from None
    return {
        "POSTGRES_DBNAME": unquote(dbname),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(port),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_CONNECT_TIMEOUT": "5",
    }


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise SettingsError(f"{PREFIX}{name} must be one of {', '.join(allowed)} (got {value!r})")


def _parse(name: str, kind: object, raw: str) -> object:
    try:
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError("expected on/off")
        if kind is int or kind == int | None:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is Path or kind == Path | None:
            return Path(raw)
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}{name.upper()}={raw!r} is not valid: {exc}") from None
    return raw
