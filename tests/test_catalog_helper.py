"""tests/catalog.py: a reply is read back as the keys it was made of, and only as those."""

from __future__ import annotations

import string

import pytest

from bot.core.texts import LANGS, catalog, render
from handlers.context import Text
from handlers.delivery import compose
from tests.catalog import assert_has, assert_lines, assert_not_has, assert_reply, keys_of


@pytest.mark.parametrize("lang", LANGS)
def test_every_text_is_read_back_as_its_own_key(lang: str) -> None:
    for key, template in catalog("mn" if lang == "mn_latn" else lang).items():
        names = {n for _, n, _, _ in string.Formatter().parse(template) if n}
        # A name for a place, a number for the rest: both take case endings.
        params = {n: ("Баян-Овоо" if n in ("bag", "soum", "aimag") else 16) for n in names}
        text = render(key, lang, **params)
        assert_reply(text, key, lang=lang)
        assert_reply(text, key, lang=lang, **params)


def test_known_parameters_are_checked_with_their_case_endings() -> None:
    reply = render("propose.ok", "mn", n=6)
    assert_reply(reply, "propose.ok", n=6)
    with pytest.raises(AssertionError, match=r"expected propose\.ok\(n=1\)"):
        assert_reply(reply, "propose.ok", n=1)
    with pytest.raises(AssertionError, match=r"<- propose\.ok"):  # the keys that did match
        assert_reply(reply, "propose.closed")


def test_a_reply_of_several_lines() -> None:
    parts = [Text("round.opened", {"year": 2027, "until": "2027-04-01"}), Text("help.new")]
    reply = compose(parts, "mn")
    assert keys_of(reply) == ["round.opened", "help.new"]
    assert_lines(reply, "round.opened", "help.new")
    assert_lines(reply, *parts)
    assert_has(reply, "help.new")
    assert_has(reply, "round.opened", year=2027)
    assert_not_has(reply, "round.opened", year=2028)
    with pytest.raises(AssertionError):
        assert_lines(reply, "round.opened")  # a line left over
    with pytest.raises(AssertionError):
        assert_lines(reply, "help.new", "round.opened")  # not in this order
    with pytest.raises(AssertionError, match=r"no line of stop\.ok"):
        assert_has(reply, "stop.ok")


def test_latin_and_english() -> None:
    assert_reply(
        render("join.ok", "mn_latn", soum="Заг", bag="Баянбулаг"),
        "join.ok",
        lang="mn_latn",
        soum="Заг",
    )
    assert_reply(render("propose.ok", "en", n=3), "propose.ok", lang="en", n=3)
    assert keys_of(render("stop.ok", "en"), "en") == ["stop.ok"]
