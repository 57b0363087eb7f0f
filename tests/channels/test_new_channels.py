"""A new channel is its module, declared capabilities and its wiring; no core edit.

A chat channel defined entirely in the tests (tests/channels/viber.py, identity kind
"viber-test") carries a person from their first message to a registered proposer who gets
replies and notices on it; a second SMS provider (tests/channels/fake_sms.py) runs from
its module and one line of wiring, and its refusal for good means what SMS means.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import wiring
from bot.app import Sanal
from bot.core import channels
from bot.core.clock import ManualClock
from bot.web import build_web_app
from handlers.delivery import route_for
from storage import identities, outbox, people
from storage.db import fetchall
from tests.channels.fake_sms import FAKESMS, WIRING, FakeSmsChannel
from tests.channels.viber import VIBER, ViberChannel
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_official, make_settings

USER = "vb-4242"


@pytest.fixture
async def viber_world(
    tmp_path: Path, clock: ManualClock
) -> AsyncIterator[tuple[Sanal, ViberChannel, TestClient[Any, Any]]]:
    viber = ViberChannel()
    sanal = Sanal(make_settings(tmp_path, scheduler_enabled=False), clock, [viber])
    await sanal.open()
    await viber.start(sanal)
    async with TestClient(TestServer(build_web_app(sanal))) as client:
        yield sanal, viber, client
    await sanal.stop()


async def say(sanal: Sanal, viber: ViberChannel, text: str) -> str:
    """What the Viber user gets back for one message."""
    before = len(viber.texts_to(USER))
    await viber.receive(USER, text)
    await sanal.intake.drain()
    await sanal.drain_outbox()
    replies = viber.texts_to(USER)[before:]
    assert len(replies) == 1, replies
    return replies[0]


async def test_a_chat_channel_defined_in_a_test_carries_a_person_through(
    viber_world: tuple[Sanal, ViberChannel, TestClient[Any, Any]],
) -> None:
    sanal, viber, client = viber_world
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov = Phone(client, GOVERNOR)
    assert "эхэллээ" in await gov.say("НЭЭХ 2027-03-20 2027-04-01")

    # The first message makes a person known by their Viber account, nothing else.
    assert "Баянбулаг" in await say(sanal, viber, f"НЭГДЭХ {ZAG_BAG_1}")
    async with sanal.db.write() as conn:
        person = await people.by_identity(conn, VIBER.caps.identity, USER)
        assert person is not None
        assert person.registered
        assert person.phone is None
        assert await identities.of_person(conn, person.id) == [
            identities.Identity("viber-test", USER)
        ]
    assert "№1" in await say(sanal, viber, "САНАЛ Малын худаг гаргах, 40 өрх")

    # A notice we start (the governor accepts the proposal) goes where they wrote from.
    await gov.say("ЗӨВ 1")
    await sanal.drain_outbox()
    rows = await fetchall(
        sanal.db.reader,
        "SELECT channel, address, kind FROM outbox WHERE person_id = ? AND kind = 'notice'",
        (person.id,),
    )
    assert [tuple(r) for r in rows] == [("viber-test", "viber-test:vb-4242", "notice")]
    assert len(viber.texts_to(USER)) == 3  # two replies and the notice, all on Viber

    # Blocked on Viber: unreachable there, and with no other address, unreachable.
    viber.transport().blocked.add(VIBER.caps.address_of(USER))
    async with sanal.db.write() as conn:
        await outbox.enqueue(
            conn,
            dedupe_key="n2",
            channel=VIBER.value,
            address=VIBER.caps.address_of(USER),
            text="hello",
            now=sanal.clock.now(),
            person_id=person.id,
            kind="notice",
        )
    await sanal.drain_outbox()
    async with sanal.db.write() as conn:
        blocked = await people.get(conn, person.id)
    assert blocked is not None
    assert not blocked.opted_out
    identity = blocked.identity("viber-test")
    assert identity is not None
    assert identity.blocked
    # Labels in results come from the record too.
    assert channels.label(VIBER.value) == "Viber"


async def test_a_second_sms_provider_is_its_module_and_one_line_of_wiring(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(wiring.SMS_PROVIDERS, FAKESMS.value, WIRING)  # the one line
    settings = make_settings(tmp_path, sms_provider="fakesms", scheduler_enabled=False)
    sanal = wiring.build(settings, clock)
    [plugin] = [p for p in sanal.plugins if isinstance(p, FakeSmsChannel)]
    await sanal.open()
    await plugin.start(sanal)
    try:
        phone = "+97699112299"
        await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
        await plugin.receive(phone, f"НЭГДЭХ {ZAG_BAG_1}")
        await sanal.intake.drain()
        await sanal.drain_outbox()
        [reply] = plugin.texts_to(phone)
        assert "Баянбулаг" in reply
        async with sanal.db.write() as conn:
            person = await people.by_phone(conn, phone)
            assert person is not None
            assert person.registered
            assert person.channel == "fakesms"
            # Someone who never wrote is reached by the first real SMS provider: this one.
            governor = await people.by_phone(conn, GOVERNOR)
            assert governor is not None
        assert route_for(governor, settings) == ("fakesms", f"tel:{GOVERNOR}")
        # Its segments are priced like any SMS provider's.
        [cost] = await outbox.sms_cost(sanal.db.reader)
        assert (cost.channel, cost.messages) == ("fakesms", 1)
        # A refusal for good means what it means on SMS: the person opted out.
        plugin.transport().stopped.add(f"tel:{phone}")
        await plugin.receive(phone, "ТУСЛАМЖ")
        await sanal.intake.drain()
        await sanal.drain_outbox()
        async with sanal.db.write() as conn:
            stopped = await people.by_phone(conn, phone)
        assert stopped is not None
        assert stopped.opted_out
    finally:
        await sanal.stop()
