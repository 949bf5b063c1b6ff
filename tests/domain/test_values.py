"""Values: a forum's address name made from its title."""

from __future__ import annotations

from domain.values import slug_for


def test_a_forums_address_name_comes_from_its_title_or_is_numbered() -> None:
    assert slug_for("Health & care", set()) == "health-care"
    assert slug_for("Santé", set()) == "sante"  # accents dropped
    # Letters no accent makes: "Ørsted" was "rsted", "Ünïcødé Förum" "unicde-forum".
    assert slug_for("Ørsted Straße", set()) == "orsted-strasse"
    assert slug_for("Ünïcødé Förum", set()) == "unicode-forum"
    assert slug_for("Łódź · Æsir", set()) == "lodz-aesir"
    # A title in another script has no letter to make one of: the first number free.
    assert slug_for("日本", set()) == "forum-1"
    assert slug_for("صحة", {"forum-1", "health"}) == "forum-2"
    assert slug_for("!!!", {"forum-2"}) == "forum-1"
