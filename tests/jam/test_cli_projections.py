"""`jam projections rebuild` and `status`."""

from __future__ import annotations

import os

import pytest

from jam.application import JamApplication
from jam.cli import main
from jam.settings import Settings
from projections import queries
from projections.db import SQLiteViews
from tests.projections.busy import play
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
