"""Session tokens: signed, expiring, and checked with a key every worker shares."""

from __future__ import annotations

import stat
from uuid import uuid4

from jam.settings import Settings
from ui import auth
from ui.auth import MAX_AGE_S, end_session, issue_token, read_token, secret_key


def test_a_token_names_its_participant_until_it_expires():
    key, who = b"k" * 32, uuid4()
    token = issue_token(key, who, now=1_000_000)
    assert read_token(key, token, now=1_000_000 + 60) == who
    assert read_token(key, token, now=1_000_000 + MAX_AGE_S + 1) is None


def test_a_tampered_or_foreign_token_names_nobody():
    key, who = b"k" * 32, uuid4()
    token = issue_token(key, who, now=1_000_000)
    _, issued, session, signature = token.split(".")
    assert read_token(key, f"{uuid4().hex}.{issued}.{session}.{signature}", now=1_000_000) is None
    assert read_token(key, f"{who.hex}.{issued}.{session}x.{signature}", now=1_000_000) is None
    assert read_token(key, f"{who.hex}.{issued}.{signature}", now=1_000_000) is None
    assert read_token(b"other" * 8, token, now=1_000_000) is None
    assert read_token(key, "not-a-token", now=1_000_000) is None


def test_a_valid_token_is_verified_once_and_its_age_still_checked_each_time(monkeypatch):
    signed = []
    sign = auth._sign
    monkeypatch.setattr(auth, "_sign", lambda key, payload: signed.append(1) or sign(key, payload))
    monkeypatch.setattr(auth, "VERIFIED_MAX", 2)
    monkeypatch.setattr(auth, "_verified", {})
    key, who = b"k" * 32, uuid4()
    token = issue_token(key, who, now=1_000_000)
    signed.clear()
    for _ in range(3):
        assert read_token(key, token, now=1_000_000 + 60) == who
    assert read_token(key, token, now=1_000_000 + MAX_AGE_S + 1) is None
    assert len(signed) == 1
    # Junk is checked every time and never kept.
    assert read_token(key, token[:-2] + "xx", now=1_000_000) is None
    assert read_token(key, token[:-2] + "xx", now=1_000_000) is None
    assert len(signed) == 3
    # Full: the remembered tokens are forgotten, not grown past the bound.
    for other in (uuid4(), uuid4()):
        assert read_token(key, issue_token(key, other, now=1_000_000), now=1_000_000) == other
    assert len(auth._verified) <= 2


def test_without_a_configured_key_one_is_kept_privately_in_the_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path / "var")
    first = secret_key(settings)
    assert secret_key(settings) == first  # the same key after a restart
    path = tmp_path / "var" / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list((tmp_path / "var").iterdir()) == [path]
    configured = Settings(data_dir=tmp_path / "var", secret_key="configured")  # noqa: S106
    assert secret_key(configured) == b"configured"


def test_each_sign_in_is_a_session_of_its_own_even_in_the_same_second():
    key, who = b"k" * 32, uuid4()
    first, second = (issue_token(key, who, now=1_000_000) for _ in range(2))
    assert first.split(".")[2] != second.split(".")[2]
    end_session(key, who, first.split(".")[2])
    assert read_token(key, first, now=1_000_000) is None
    assert read_token(key, second, now=1_000_000) == who
    assert read_token(b"j" * 32, issue_token(b"j" * 32, who, now=1_000_000), now=1_000_000) == who


def test_a_token_issued_before_tokens_named_their_session_still_works_and_can_end():
    # Tokens of `<participant>.<issued>.<signature>` stay good for their 14 days: an upgrade
    # signs no one out (without a personal code, no one could come back as themselves).
    key, who = b"k" * 32, uuid4()
    payload = f"{who.hex}.1000000"
    old = f"{payload}.{auth._sign(key, payload)}"
    assert read_token(key, old, now=1_000_060) == who
    assert read_token(key, old[:-2] + "xx", now=1_000_060) is None
    _, _, session = auth.read_session(key, old, now=1_000_060)
    end_session(key, who, session)
    assert read_token(key, old, now=1_000_060) is None


def test_an_ended_session_is_forgotten_once_none_of_its_tokens_can_be_valid(monkeypatch):
    # Every sign-out is remembered by every worker; without forgetting, the set would grow
    # for as long as the worker runs.
    monkeypatch.setattr(auth, "_ended", {})
    key, who = b"k" * 32, uuid4()
    start = 1_000_000
    token = issue_token(key, who, now=start)
    end_session(key, who, token.split(".")[2], now=start + 60)
    late = start + 60 + MAX_AGE_S
    assert read_token(key, token, now=late - 1) is None  # refused while it would be valid
    assert len(auth._ended) == 1
    # Long after, another sign-out finds it forgotten; the new one is kept.
    other = issue_token(key, who, now=late)
    end_session(key, who, other.split(".")[2], now=late + auth.ENDED_SLACK_S + 61)
    assert list(auth._ended.values()) == [late + auth.ENDED_SLACK_S + 61]
    assert read_token(key, other, now=late + 60) is None


def test_a_session_heard_of_long_after_it_ended_is_not_kept(monkeypatch):
    # A worker starting reads every sign-out in the log: only the recent ones matter.
    monkeypatch.setattr(auth, "_ended", {})
    key, who = b"k" * 32, uuid4()
    now = 1_000_000 + MAX_AGE_S + auth.ENDED_SLACK_S
    end_session(key, who, "0123456789abcdef", at=999_999, now=now)
    assert auth._ended == {}
    end_session(key, who, "fedcba9876543210", at=now - MAX_AGE_S, now=now)
    assert len(auth._ended) == 1
