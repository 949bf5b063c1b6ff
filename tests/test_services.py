"""Tests that need a real server skip without it, except under CI=true, where they fail."""

from __future__ import annotations

import pytest

from tests import services


@pytest.fixture
def unreachable(monkeypatch):
    monkeypatch.setattr(services, "POSTGRES_URL", "postgresql://postgres@127.0.0.1:1/nowhere")
    monkeypatch.setattr(services, "REDIS_URL", "redis://127.0.0.1:1/0")


@pytest.mark.parametrize("require", [services.require_postgres, services.require_redis])
def test_a_missing_server_skips_with_its_address(unreachable, monkeypatch, require):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"127\.0\.0\.1:1.*not reachable"):
        require()


@pytest.mark.parametrize("require", [services.require_postgres, services.require_redis])
def test_a_missing_server_fails_the_run_under_ci(unreachable, monkeypatch, require):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true needs the real server"):
        require()


def test_the_real_servers_answer():
    assert services.require_postgres().startswith("postgresql://")
    assert services.require_redis().startswith("redis://")
