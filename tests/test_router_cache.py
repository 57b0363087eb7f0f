"""The router's cache of texts read before (bot/router.py): a repeated "ТУСЛАМЖ" is not
parsed again, and no ballot is ever kept in it, so the process holds no voter's choice
beyond the handling of their message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot import router
from bot.core.channels import Channel
from bot.core.grammar import parse
from bot.core.grammar.intents import Kind
from bot.core.message import Inbound


def message(text: str, **extra: str) -> Inbound:
    return Inbound(
        Channel.TWILIO, f"SM{hash(text)}", "tel:+97699112233", text, datetime.now(UTC), extra=extra
    )


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    router._read.clear()


def test_a_text_read_before_is_not_parsed_again() -> None:
    first = router._meaning(message("тусламж"))
    assert first.kind is Kind.HELP
    assert "тусламж" in router._read
    assert router._meaning(message("тусламж")) is first  # the same reading, not a new parse
    assert first == parse("тусламж")


@pytest.mark.parametrize("text", ["СОНГО 1 3", "1 3", "сонго 2", "МИНИЙ", "/vote 1 2"])
def test_a_ballot_is_never_kept(text: str) -> None:
    meaning = router._meaning(message(text))
    assert meaning.kind in (Kind.VOTE, Kind.MY)
    assert router._read == {}


def test_a_long_text_or_a_button_is_not_kept() -> None:
    router._meaning(message("Манай багт худаг хэрэгтэй байна. " * 10))
    assert router._read == {}
    pressed = message("ok", intent="help")
    router._meaning(pressed)
    assert router._read == {}


def test_the_cache_starts_over_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(router, "READ_CACHE", 3)
    for text in ("тусламж", "жагсаалт", "дүн"):
        router._meaning(message(text))
    assert len(router._read) == 3
    router._meaning(message("help"))
    assert list(router._read) == ["help"]
