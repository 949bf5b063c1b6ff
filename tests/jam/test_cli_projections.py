"""`jam projections rebuild` and `status`."""

from __future__ import annotations

import os

import pytest

from jam.application import JamApplication
from jam.cli import main
from jam.settings import Settings
from projections import db, queries
from projections.db import SQLiteViews
from projections.projector import Projector
from projections.runner import ProjectionRunner
from tests.projections.busy import play
from tests.projections.locks import Reader
from tests.services import drop_schema, fresh_schema
from tests.stories import open_jam


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("OPENJAM_")]:
        monkeypatch.delenv(key)
    return tmp_path


def test_rebuild_projects_the_whole_log_with_a_progress_bar(workdir, clock, capsys):
    app = JamApplication(Settings(data_dir=workdir / "var"), clock=clock)
    busy = play(open_jam(app, clock))
    end = app.position()
    app.close()

    assert main(["projections", "status"]) == 0
    assert "read models at 0" in capsys.readouterr().out

    assert main(["projections", "rebuild"]) == 0
    out, err = capsys.readouterr()
    assert f"Rebuilt the read models from {end:,} events" in out
    assert "100.0%" in err
    assert "#" * 30 in err

    views = SQLiteViews(workdir / "var" / "views.sqlite3")
    with views.reading() as cur:
        assert queries.position(cur) == end
        assert queries.thread(cur, str(busy.ideas["week"])).idea.title == "Four-day week"
    views.close()

    assert main(["projections", "status"]) == 0
    assert f"read models at {end:,} (0 behind)" in capsys.readouterr().out


class _Interrupted(BaseException):
    """A rebuild stopped halfway (as by kill -9)."""


def test_status_says_when_an_interrupted_rebuild_must_be_run_again(workdir, clock, capsys):
    settings = Settings(data_dir=workdir / "var")
    app = JamApplication(settings, clock=clock)
    play(open_jam(app, clock))
    views = SQLiteViews(workdir / "var" / "views.sqlite3")
    runner = ProjectionRunner(app.recorder, views, Projector(app.mapper.transcoder.views_decoder))

    def killed(done: int, total: int) -> None:
        raise _Interrupted

    with pytest.raises(_Interrupted):
        runner.rebuild(progress=killed)
    views.close()
    end = app.position()
    app.close()

    assert main(["projections", "status"]) == 0
    out = capsys.readouterr().out
    assert "behind" in out
    assert "marked as being rebuilt" in out
    assert "interrupted: run it again" in out

    assert main(["projections", "rebuild"]) == 0
    capsys.readouterr()
    assert main(["projections", "status"]) == 0
    out = capsys.readouterr().out
    assert f"read models at {end:,} (0 behind)" in out
    assert "rebuilt" not in out


@pytest.fixture
def postgres_workdir(workdir, monkeypatch):
    url, schema = fresh_schema()
    monkeypatch.setenv("OPENJAM_DATABASE_URL", url)
    monkeypatch.setenv("OPENJAM_DATABASE_SCHEMA", schema)
    try:
        yield url, schema
    finally:
        drop_schema(url, schema)


def test_a_rebuild_refused_by_the_database_says_so_in_one_line_and_a_rerun_completes_it(
    postgres_workdir, clock, capsys, monkeypatch
):
    # A web reader holding rm_comments asks for rm_ideas while the rebuild takes its locks:
    # the rebuild used to lock rm_ideas, wait for rm_comments and die of the deadlock with
    # a traceback. It now gives way to the reader; told to give up at once, it says why.
    monkeypatch.setattr(db, "LOCK_GIVE_UP_S", 0, raising=False)  # (older code had none)
    url, schema = postgres_workdir
    settings = Settings(database_url=url, database_schema=schema)
    app = JamApplication(settings, clock=clock)
    play(open_jam(app, clock))
    end = app.position()
    app.close()
    assert main(["projections", "status"]) == 0  # creates the read models
    assert main(["projections", "rebuild"]) == 0
    capsys.readouterr()

    reader = Reader(url, schema, first="rm_comments", then="rm_ideas")
    reader.start()
    assert main(["projections", "rebuild"]) == 2
    reader.join()
    err = capsys.readouterr().err
    [message] = err.strip().splitlines()  # one line, no traceback
    assert message.startswith("jam: the rebuild stopped: LockNotAvailable: ")
    assert message.endswith("run `jam projections rebuild` again")
    assert reader.error is None  # the reader was served
    assert main(["projections", "status"]) == 0
    assert "rebuilt" not in capsys.readouterr().out  # nothing was changed

    assert main(["projections", "rebuild"]) == 0
    assert f"from {end:,} events" in capsys.readouterr().out
