"""Session tokens: signed, expiring, and checked with a key every worker shares."""

from __future__ import annotations

import stat
from uuid import uuid4

from jam.settings import Settings
from ui.auth import MAX_AGE_S, issue_token, read_token, secret_key


def test_a_token_names_its_participant_until_it_expires():
    key, who = b"k" * 32, uuid4()
    token = issue_token(key, who, now=1_000_000)
    assert read_token(key, token, now=1_000_000 + 60) == who
    assert read_token(key, token, now=1_000_000 + MAX_AGE_S + 1) is None


def test_a_tampered_or_foreign_token_names_nobody():
    key, who = b"k" * 32, uuid4()
    token = issue_token(key, who, now=1_000_000)
    _, issued, signature = token.split(".")
    assert read_token(key, f"{uuid4().hex}.{issued}.{signature}", now=1_000_000) is None
    assert read_token(b"other" * 8, token, now=1_000_000) is None
    assert read_token(key, "not-a-token", now=1_000_000) is None


def test_without_a_configured_key_one_is_kept_privately_in_the_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path / "var")
    first = secret_key(settings)
    assert secret_key(settings) == first  # the same key after a restart
    path = tmp_path / "var" / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list((tmp_path / "var").iterdir()) == [path]
    configured = Settings(data_dir=tmp_path / "var", secret_key="configured")  # noqa: S106
    assert secret_key(configured) == b"configured"
