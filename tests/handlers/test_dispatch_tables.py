"""The officials' words: the grammar says whose they are, dispatch who handles them."""

from __future__ import annotations

from bot.core.grammar.intents import GOVERNOR_KINDS, SOUM_KINDS, Kind
from handlers.dispatch import CITIZEN, GOVERNOR, SOUM


def test_every_word_has_one_handler_of_its_officials() -> None:
    assert set(GOVERNOR) == GOVERNOR_KINDS
    assert set(SOUM) == SOUM_KINDS
    assert not (set(CITIZEN) & (GOVERNOR_KINDS | SOUM_KINDS))
    # Every word is handled by someone (UNKNOWN is the fallback's).
    assert set(CITIZEN) | GOVERNOR_KINDS | SOUM_KINDS == set(Kind)
