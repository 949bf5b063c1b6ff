"""Settings: read once from OPENJAM_* variables, turned into the library's store settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from eventsourcing.utils import resolve_topic

from jam import commands as c
from jam.application import JamApplication
from jam.invites import new_invite_code
from jam.settings import Settings, SettingsError
from jam.transcoder import MsgpackTranscoder


def test_each_setting_is_read_from_its_openjam_variable():
    settings = Settings.from_env(
        environ={
            "OPENJAM_DATA_DIR": "/srv/jam",
            "OPENJAM_DATABASE_URL": "postgresql://jam@db/ideas",
            "OPENJAM_DATABASE_SCHEMA": "jam",
            "OPENJAM_SQLITE_SYNCHRONOUS": "NORMAL",
            "OPENJAM_GROUP_COMMIT": "off",
            "OPENJAM_COMMIT_WINDOW_MS": "0.5",
            "OPENJAM_COMMIT_MAX_BATCH": "50",
            "OPENJAM_COMMIT_CACHE": "250000",
            "OPENJAM_REDIS_URL": "redis://cache:6379/1",
            "OPENJAM_HOST": "10.0.0.5",
            "OPENJAM_PORT": "9000",
            "DATABASE_URL": "postgresql://not-ours/other",  # no prefix: not ours
        }
    )
    assert settings == Settings(
        data_dir=Path("/srv/jam"),
        database_url="postgresql://jam@db/ideas",
        database_schema="jam",
        sqlite_synchronous="NORMAL",
        group_commit=False,
        commit_window_ms=0.5,
        commit_max_batch=50,
        commit_cache=250_000,
        redis_url="redis://cache:6379/1",
        host="10.0.0.5",
        port=9000,
    )


def test_unset_and_empty_variables_keep_the_defaults():
    assert Settings.from_env(environ={}) == Settings()
    assert Settings.from_env(environ={"OPENJAM_PORT": "", "OPENJAM_DATA_DIR": ""}) == Settings()
    assert Settings().data_dir == Path("var")
    assert Settings().port == 8000


def test_command_line_overrides_win_but_absent_ones_do_not():
    environ = {"OPENJAM_PORT": "9000", "OPENJAM_HOST": "10.0.0.5"}
    assert Settings.from_env(environ=environ, port=7000).port == 7000
    kept = Settings.from_env(environ=environ, host=None, port=None)
    assert (kept.host, kept.port) == ("10.0.0.5", 9000)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("off", False),
        ("0", False),
        ("no", False),
        ("FALSE", False),
        ("on", True),
        ("1", True),
        ("yes", True),
        (" True ", True),
    ],
)
def test_group_commit_understands_the_usual_ways_to_say_on_and_off(raw, expected):
    assert Settings.from_env(environ={"OPENJAM_GROUP_COMMIT": raw}).group_commit is expected


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("OPENJAM_PORT", "abc"),
        ("OPENJAM_GROUP_COMMIT", "maybe"),
        ("OPENJAM_COMMIT_WINDOW_MS", "soon"),
        ("OPENJAM_COMMIT_MAX_BATCH", "1.5"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(variable, raw):
    with pytest.raises(SettingsError, match=f"{variable}='{raw}'"):
        Settings.from_env(environ={variable: raw})


def test_the_committers_cache_is_sized_by_its_setting_and_not_too_small(tmp_path):
    app = JamApplication(Settings(data_dir=tmp_path, commit_cache=250_000))
    try:
        assert app.committer is not None
        assert app.committer.cache._maxsize == 250_000
    finally:
        app.close()
    with pytest.raises(SettingsError, match="OPENJAM_COMMIT_CACHE"):
        Settings.from_env(environ={"OPENJAM_COMMIT_CACHE": "10"})


def test_a_port_beyond_65535_is_refused():
    with pytest.raises(SettingsError, match="OPENJAM_PORT"):
        Settings.from_env(environ={"OPENJAM_PORT": "99999"})


@pytest.mark.parametrize(
    ("variable", "raw"),
    [("OPENJAM_RANKING", "sometimes"), ("OPENJAM_TOPIC_REFRESH_S", "0")],
)
def test_ranking_settings_are_checked_naming_their_variable(variable, raw):
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(environ={variable: raw})
    ok = Settings.from_env(environ={"OPENJAM_RANKING": "external", "OPENJAM_TOPIC_REFRESH_S": "2"})
    assert (ok.ranking, ok.topic_refresh_s) == ("external", 2.0)


def test_an_unknown_sqlite_sync_level_is_refused_naming_its_variable():
    with pytest.raises(SettingsError, match="OPENJAM_SQLITE_SYNCHRONOUS"):
        Settings.from_env(environ={"OPENJAM_SQLITE_SYNCHRONOUS": "sometimes"})


def test_by_default_events_go_to_a_durable_sqlite_file_under_the_data_dir(tmp_path):
    data_dir = tmp_path / "var"
    env = Settings(data_dir=data_dir).store_env()
    assert env["PERSISTENCE_MODULE"] == "jam.stores.sqlite:Factory"
    assert env["SQLITE_DBNAME"] == str(data_dir / "events.sqlite3")
    assert env["SQLITE_SYNCHRONOUS"] == "FULL"
    assert resolve_topic(env["TRANSCODER_TOPIC"]) is MsgpackTranscoder
    assert not any(key.startswith("POSTGRES_") for key in env)
    assert data_dir.is_dir()


def test_a_database_url_chooses_postgresql_and_is_percent_decoded(tmp_path):
    settings = Settings(
        data_dir=tmp_path / "unused",
        database_url="postgresql://jam%40ops:p%2Fw%3Ard@db.example:5433/ideas%20jam",
        database_schema="jam",
    )
    env = settings.store_env()
    assert env["PERSISTENCE_MODULE"] == "jam.stores.postgres:Factory"
    assert resolve_topic(env["TRANSCODER_TOPIC"]) is MsgpackTranscoder
    assert {k: v for k, v in env.items() if k.startswith("POSTGRES_")} == {
        "POSTGRES_DBNAME": "ideas jam",
        "POSTGRES_HOST": "db.example",
        "POSTGRES_PORT": "5433",
        "POSTGRES_USER": "jam@ops",
        "POSTGRES_PASSWORD": "p/w:rd",
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_SCHEMA": "jam",
    }
    assert not any(key.startswith("SQLITE_") for key in env)
    assert not (tmp_path / "unused").exists()


def test_a_short_postgres_url_gets_the_usual_defaults():
    env = Settings(database_url="postgres://db/ideas").store_env()
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"]) == ("db", "5432")
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("postgres", "")
    assert "POSTGRES_SCHEMA" not in env


@pytest.mark.parametrize(
    "url", ["mysql://jam@db/ideas", "sqlite:///var/events.sqlite3", "postgresql://db/"]
)
def test_a_database_url_that_is_not_a_postgres_database_is_refused(url):
    with pytest.raises(SettingsError, match="OPENJAM_DATABASE_URL"):
        Settings(database_url=url).store_env()


def test_a_database_url_with_a_bad_port_is_refused_naming_the_variable():
    with pytest.raises(SettingsError, match="OPENJAM_DATABASE_URL"):
        Settings(database_url="postgresql://jam@db:fivefour/ideas").store_env()


def test_the_application_ignores_stray_library_variables_in_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSISTENCE_MODULE", "eventsourcing.popo")
    monkeypatch.setenv("OPENJAM_PERSISTENCE_MODULE", "eventsourcing.popo")
    monkeypatch.setenv("SQLITE_DBNAME", str(tmp_path / "elsewhere.sqlite3"))
    monkeypatch.setenv("TRANSCODER_TOPIC", "no.such.module:Transcoder")
    settings = Settings(data_dir=tmp_path)
    with JamApplication(settings) as app:
        done = app.handle(c.IssueInvite(code=new_invite_code(), role="organizer"))
        assert isinstance(app.mapper.transcoder, MsgpackTranscoder)
    assert (tmp_path / "events.sqlite3").is_file()
    assert not (tmp_path / "elsewhere.sqlite3").exists()
    with JamApplication(settings) as again:  # written to disk, not to memory
        assert again.position() == done.position == 1


@pytest.mark.parametrize(("level", "pragma"), [("FULL", 2), ("NORMAL", 1), ("EXTRA", 3)])
def test_the_sqlite_store_runs_in_wal_mode_with_the_chosen_sync_level(tmp_path, level, pragma):
    with JamApplication(Settings(data_dir=tmp_path, sqlite_synchronous=level)) as app:
        app.handle(c.IssueInvite(code=new_invite_code(), role="organizer"))
        with app.recorder.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
            cursor.execute("PRAGMA synchronous")
            synchronous = cursor.fetchone()[0]
            cursor.execute("PRAGMA journal_mode")
            journal_mode = cursor.fetchone()[0]
    assert (synchronous, journal_mode) == (pragma, "wal")
