"""The flood limit is for citizens: officials get every reply, a limited citizen is told once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.texts import render
from storage import audit
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_official

ZAG_SOUM = "6446"


@pytest.mark.parametrize(
    ("role", "unit", "word"),
    [
        ("governor", ZAG_BAG_1, "ШИНЭ"),
        ("chair", ZAG_BAG_1, "ТУСЛАМЖ"),
        ("soum", ZAG_SOUM, "ТУСЛАМЖ"),
        ("operator", ZAG_BAG_1, "ШИНЭ"),
    ],
)
async def test_an_official_is_never_silenced(
    sanal: Sanal, client: TestClient[Any, Any], role: str, unit: str, word: str
) -> None:
    """A governor on the khural day sends a word every few seconds: every one is answered."""
    await make_official(sanal, GOVERNOR, role, unit)
    official = Phone(client, GOVERNOR)
    count = sanal.settings.flood_threshold + 5
    replies = [await official.say(word) for _ in range(count)]
    assert all(replies), replies.index("")
    assert render("flood.limited", "mn") not in replies
    async with sanal.db.write() as conn:
        assert await audit.entries(conn, "refused.flood") == []


async def test_a_limited_citizen_is_told_once(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    herder = Phone(client, "99112233")
    await herder.say(f"НЭГДЭХ {ZAG_BAG_1}")
    threshold = sanal.settings.flood_threshold
    replies = [await herder.say("ЖАГСААЛТ") for _ in range(threshold + 10)]
    limited = render("flood.limited", "mn")
    # Answered up to the threshold, then one notice (not silence), then silence.
    assert all(r and r != limited for r in replies[: threshold - 1])
    assert replies[threshold - 1] == limited
    assert replies[threshold:] == [""] * 10
    # The next minute the citizen is answered again; a second burst within the hour is
    # limited without a second notice (a bot answering us hears it once).
    clock.advance(timedelta(seconds=61))
    again = [await herder.say("ЖАГСААЛТ") for _ in range(threshold + 5)]
    assert again[0]
    assert limited not in again
    async with sanal.db.write() as conn:
        assert len(await audit.entries(conn, "refused.flood")) == 1
    clock.advance(timedelta(hours=1, seconds=1))
    burst = [await herder.say("ЖАГСААЛТ") for _ in range(threshold + 2)]
    assert burst.count(limited) == 1
