"""Text rules: what people type is stored normalised and checked against limits."""

from __future__ import annotations

import unicodedata

import pytest

from domain.errors import InvalidText
from domain.text import BODY_MAX, TITLE_MAX, require_text


def title(value: str) -> str:
    return require_text("title", value, max_len=TITLE_MAX)


def body(value: str) -> str:
    return require_text("body", value, max_len=BODY_MAX, multiline=True)


def test_the_limits_are_120_characters_for_a_title_and_5000_for_a_body() -> None:
    assert (TITLE_MAX, BODY_MAX) == (120, 5_000)


def test_a_title_of_exactly_120_characters_is_accepted() -> None:
    assert title("t" * 120) == "t" * 120


def test_a_title_of_121_characters_is_refused() -> None:
    with pytest.raises(InvalidText, match="at most 120"):
        title("t" * 121)


def test_a_body_of_exactly_5000_characters_is_accepted() -> None:
    assert body("b" * 5_000) == "b" * 5_000


def test_a_body_of_5001_characters_is_refused() -> None:
    with pytest.raises(InvalidText, match="at most 5,000"):
        body("b" * 5_001)


def test_limits_are_counted_after_trimming() -> None:
    assert title("   " + "t" * 120 + " \t ") == "t" * 120
    assert body("\n\n" + "b" * 5_000 + "  \n") == "b" * 5_000


@pytest.mark.parametrize("blank", ["", " ", "   \t  ", "\n\n", "\u00a0\u2003", "\x00\x07"])
def test_text_that_is_empty_after_trimming_is_refused(blank: str) -> None:
    with pytest.raises(InvalidText, match="must not be empty"):
        title(blank)
    with pytest.raises(InvalidText, match="must not be empty"):
        body(blank)
    # Something was typed, only it shows nothing: said, so the message is not a puzzle.
    said = "must not be empty (spaces alone do not count)"
    with pytest.raises(InvalidText, match=r"\(spaces alone" if blank else r"empty$") as caught:
        title(blank)
    assert str(caught.value).endswith(said) == bool(blank)


def test_a_refusal_names_the_field() -> None:
    with pytest.raises(InvalidText) as refused:
        title("")
    assert refused.value.field == "title"


def test_only_text_is_accepted() -> None:
    with pytest.raises(InvalidText, match="must be text"):
        title(42)  # type: ignore[arg-type]


def test_text_is_stored_in_nfc() -> None:
    assert title("Cafe\u0301") == "Caf\u00e9"
    assert body("Cafe\u0301") == "Caf\u00e9"


def test_a_combining_sequence_counts_as_one_character() -> None:
    exactly_full = "t" * 119 + "e\u0301"
    assert len(title(exactly_full)) == 120


@pytest.mark.parametrize(
    "control",
    ["\x00", "\x07", "\x1b", "\x7f", "\u202e", "\u202a", "\u2066", "\u2069"],
    ids=["nul", "bell", "escape", "delete", "rtl-override", "ltr-embedding", "isolate", "pop"],
)
def test_control_characters_are_removed(control: str) -> None:
    assert title(f"Four{control}-day week") == "Four-day week"
    assert body(f"Four{control}-day week") == "Four-day week"


def test_newlines_survive_in_a_body_and_are_unified() -> None:
    assert body("First line\r\nsecond line\rthird\n\nlast") == (
        "First line\nsecond line\nthird\n\nlast"
    )


def test_a_run_of_empty_lines_in_a_body_keeps_one() -> None:
    # Sixteen empty lines made a comment 500 pixels tall for every reader of the thread.
    assert body("top" + "\n" * 17 + "bottom") == "top\n\nbottom"
    assert body("top\n \n\t\n\r\n  \nbottom\n\nend") == "top\n\nbottom\n\nend"
    assert body("a\n  indented\n\n  b") == "a\n  indented\n\n  b"  # as typed
    assert body("a\n\n\n\n    indented") == "a\n\n    indented"  # a run, then as typed
    # Lines that show nothing count as empty: zero-width spaces, Hangul fillers, blank Braille.
    for blank in ("\u200b", "\u3164", "\u2800 "):
        assert body("top" + f"\n{blank}" * 16 + "\nbottom") == "top\n\nbottom", repr(blank)


def test_runs_of_spaces_fold_to_one_in_a_title() -> None:
    assert title("  Four   day \u00a0 week  ") == "Four day week"


def test_a_newline_or_tab_in_a_title_folds_to_a_space() -> None:
    assert title("Four-day\nweek") == "Four-day week"
    assert title("Four-day\tweek") == "Four-day week"


@pytest.mark.parametrize("hidden", ["\x00", "\u202e"], ids=["nul", "rtl-override"])
def test_removing_a_control_character_still_leaves_nfc_text(hidden: str) -> None:
    cleaned = title(f"Cafe{hidden}\u0301")
    assert unicodedata.is_normalized("NFC", cleaned)
    assert cleaned == "Caf\u00e9"


@pytest.mark.parametrize(
    "invisible",
    ["\u200b\u200b", "\u200d", "\ufeff \u2060", "\u3164", "\u2800\u2800", "\u0301\u0308"],
)
def test_text_that_shows_nothing_is_empty(invisible: str) -> None:
    # Zero-width characters, joiners, Hangul fillers, blank Braille, lone accents: a title
    # of these would be an idea with nothing to click on.
    with pytest.raises(InvalidText, match="must not be empty"):
        title(invisible)
    assert require_text("reason", invisible, max_len=500, min_len=0) == ""


def test_invisible_characters_inside_visible_text_stay() -> None:
    # Joiners shape emoji and some scripts (the Persian half-space is a zero-width non-joiner).
    assert title("family \U0001f468\u200d\U0001f469") == "family \U0001f468\u200d\U0001f469"
    assert title("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645") == (
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    )
