"""A herder and a governor talking to the real router over a real database.

``say`` sends words as an SMS through the simulator's API. ``means`` sends the same words
with the intent already attached, as a Telegram button does (bot.grammar.structured): the
handlers of issue 12 are tested through the router whatever the parser makes of the
words, and the same tests hold once it reads those words as that intent.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.message import Channel, Inbound
from bot.core.phone import normalise
from handlers.context import Text
from handlers.delivery import compose
from storage import outbox, people, rounds
from storage.people import Person
from storage.rounds import Round
from tests.catalog import assert_reply
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_official

_IDS = itertools.count(1)
TYPING = timedelta(seconds=7)  # between two messages of one person: under the flood limit


def mn(key: str, **params: object) -> str:
    """A catalog text in Mongolian Cyrillic, as a reply renders it."""
    return compose([Text(key, params)], "mn")


def mn_lines(*parts: Text) -> str:
    return compose(list(parts), "mn")


class Talker:
    def __init__(self, sanal: Sanal, client: TestClient[Any, Any], number: str) -> None:
        self.sanal = sanal
        self.phone = Phone(client, number)
        self.e164 = normalise(number)

    def _typing(self) -> None:
        clock = self.sanal.clock
        assert isinstance(clock, ManualClock)
        clock.advance(TYPING)

    async def say(self, text: str) -> str:
        self._typing()
        return await self.phone.say(text)

    async def means(self, words: str, kind: str, **args: object) -> str:
        """``words`` sent with the intent ``kind`` and its arguments attached."""
        self._typing()
        extra = {"intent": kind, **{k: str(v) for k, v in args.items()}}
        msg = Inbound(
            channel=Channel.SIMULATOR,
            external_id=f"structured-{next(_IDS)}",
            address=f"tel:{self.e164}",
            text=words,
            received_at=self.sanal.clock.now(),
            phone=self.e164,
            extra=extra,
        )
        inbox_id = await self.sanal.intake.receive_and_wait(msg)
        rows = await outbox.for_inbox(self.sanal.db.reader, inbox_id)
        replies = [r.text for r in rows if r.kind == "reply"]
        assert len(replies) == 1, replies
        return replies[0]

    async def person(self) -> Person:
        async with self.sanal.db.write() as conn:
            found = await people.by_phone(conn, self.e164)
        assert found is not None
        return found


async def governor(sanal: Sanal, client: TestClient[Any, Any], bag: str = ZAG_BAG_1) -> Talker:
    await make_official(sanal, GOVERNOR, "governor", bag)
    return Talker(sanal, client, GOVERNOR)


async def citizen(
    sanal: Sanal, client: TestClient[Any, Any], number: str = "99112233", bag: str = ZAG_BAG_1
) -> Talker:
    herder = Talker(sanal, client, number)
    assert_reply(await herder.say(f"НЭГДЭХ {bag}"), "join.ok")
    return herder


async def current_round(sanal: Sanal, bag: str = ZAG_BAG_1) -> Round:
    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, bag)
    assert rnd is not None
    return rnd
