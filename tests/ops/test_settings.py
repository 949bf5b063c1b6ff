"""The operations settings: parsed from the environment, refused with the variable's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from jam.settings import Settings, SettingsError
from ui.server import _fresh_metrics_dir


def test_the_defaults_suit_the_embedded_demo():
    settings = Settings.from_env({})
    assert (settings.projections, settings.log_format, settings.log_level) == (
        "inline",
        "text",
        "INFO",
    )
    assert (settings.metrics_token, settings.metrics_port, settings.metrics_dir) == (None,) * 3
    assert settings.ready_max_lag_s == 30
    assert not settings.secure_cookies  # the demo is served over http://127.0.0.1


def test_production_values_are_read_from_the_environment():
    settings = Settings.from_env(
        {
            "OPENJAM_PROJECTIONS": "external",
            "OPENJAM_REDIS_URL": "redis://127.0.0.1:6379/0",
            "OPENJAM_LOG_FORMAT": "json",
            "OPENJAM_LOG_LEVEL": "warning",
            "OPENJAM_METRICS_TOKEN": "t",
            "OPENJAM_METRICS_PORT": "9100",
            "OPENJAM_METRICS_DIR": "/run/metrics",
            "OPENJAM_READY_MAX_LAG_S": "5.5",
            "OPENJAM_SECURE_COOKIES": "true",
        }
    )
    assert settings.external_projections
    assert (settings.log_format, settings.log_level) == ("json", "warning")
    assert (settings.metrics_token, settings.metrics_port) == ("t", 9100)
    assert settings.metrics_dir == Path("/run/metrics")
    assert settings.ready_max_lag_s == 5.5
    assert settings.secure_cookies


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"OPENJAM_PROJECTIONS": "sometimes"},
            "OPENJAM_PROJECTIONS must be one of inline, external",
        ),
        ({"OPENJAM_PROJECTIONS": "external"}, "PROJECTIONS=external needs OPENJAM_REDIS_URL"),
        ({"OPENJAM_LOG_FORMAT": "xml"}, "OPENJAM_LOG_FORMAT must be one of text, json"),
        ({"OPENJAM_LOG_LEVEL": "loud"}, "OPENJAM_LOG_LEVEL must be one of DEBUG"),
        ({"OPENJAM_METRICS_PORT": "70000"}, "OPENJAM_METRICS_PORT must be between 1 and 65535"),
        ({"OPENJAM_METRICS_PORT": "ninety"}, "OPENJAM_METRICS_PORT='ninety' is not valid"),
        ({"OPENJAM_READY_MAX_LAG_S": "0"}, "OPENJAM_READY_MAX_LAG_S must be more than 0"),
        ({"OPENJAM_SECURE_COOKIES": "https"}, "OPENJAM_SECURE_COOKIES='https' is not valid"),
    ],
)
def test_unusable_values_are_refused_naming_the_variable(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_a_configured_metrics_dir_is_emptied_of_old_counts(tmp_path):
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("kept")
    assert _fresh_metrics_dir(tmp_path) == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_without_a_metrics_dir_each_server_gets_a_new_one():
    first, second = _fresh_metrics_dir(None), _fresh_metrics_dir(None)
    try:
        assert first != second
        assert list(first.iterdir()) == []
    finally:
        first.rmdir()
        second.rmdir()
