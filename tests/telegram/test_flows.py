"""A bag round in Telegram: joining through the keyboards, proposing, the button ballot,
the governor's buttons, and one person voting by Telegram and by SMS counted once."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.core.texts import render
from storage import ballots, people, proposals, rounds
from tests.conftest import GOVERNOR, ZAG_BAG_1, make_official
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.conftest import TgUser, TgWorld

HERDERS = [f"+9769911{i:04d}" for i in range(1, 6)]


async def linked(world: TgWorld, user_id: int, phone: str) -> TgUser:
    user = world.user(user_id)
    await user.link(phone)
    return user


async def governor(world: TgWorld) -> TgUser:
    await make_official(world.sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov = await linked(world, 900, GOVERNOR)
    assert "эхэллээ" in await gov.say("/open")
    return gov


async def join_by_keyboard(user: TgUser) -> str:
    await user.press("Баянхонгор")
    await user.press("Заг")
    return await user.press("1-р баг")


async def current_round(world: TgWorld) -> rounds.Round:
    async with world.sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
    assert rnd is not None
    return rnd


def all_button_data(fake: FakeTelegram) -> list[str]:
    data = [d for chat in fake.messages.values() for m in chat for _, d in m.buttons()]
    data += [
        b.get("callback_data", "")
        for c in fake.calls
        if c.method in ("sendMessage", "editMessageText")
        for row in (c.params.get("reply_markup") or {}).get("inline_keyboard", [])
        for b in row
    ]
    return data


async def test_joining_through_the_keyboards(world: TgWorld, fake_tg: FakeTelegram) -> None:
    bat = await linked(world, 2001, HERDERS[0])
    keyboard = bat.keyboard()
    assert len(bat.buttons()) == 22  # every aimag and the capital
    assert "Баянхонгор: сумаа сонгоно уу" in await bat.press("Баянхонгор")
    # Back goes up a level; the same message changes in place.
    assert "Аймаг, хотоо сонгоно уу" in await bat.press("Буцах")
    assert "Заг: багаа сонгоно уу" in (await bat.press("Баянхонгор") and await bat.press("Заг"))
    assert ("1-р баг, Баянбулаг", f"JOIN {ZAG_BAG_1}") in bat.buttons()
    assert "Бүртгэгдлээ: Заг сум, 1-р баг, Баянбулаг" in await bat.press("1-р баг")
    assert fake_tg.last(bat.id).message_id == keyboard.message_id
    assert keyboard.edits == 5
    assert keyboard.buttons() == []
    async with world.sanal.db.write() as conn:
        person = await people.by_identity(conn, "telegram", str(bat.id))
    assert person is not None
    assert person.bag_code == ZAG_BAG_1
    assert person.status == "approved"
    # /join without a bag opens the keyboard again; /join with a code works as by SMS.
    assert "Аймаг, хотоо" in await bat.say("/join")
    assert "Бүртгэлтэй байна: Заг сум, 1-р баг, Баянбулаг" in await bat.say(f"/join {ZAG_BAG_1}")
    assert all(len(d.encode()) <= 64 for d in all_button_data(fake_tg))


async def test_proposing_by_command_and_by_free_text(world: TgWorld, fake_tg: FakeTelegram) -> None:
    gov = await governor(world)
    bat = await linked(world, 2002, HERDERS[1])
    await join_by_keyboard(bat)
    assert "№1" in await bat.say("/propose Малын худаг гаргах, 40 өрх, 25 сая")
    assert "№2" in await bat.say("САНАЛ Сургуулийн дотуур байрны засвар")
    assert "№3" in await bat.say("sanal gudamjnii gerel 80 urh")
    # The governor hears of each in Telegram, the channel they last wrote from.
    told = [m.text for m in fake_tg.chat(gov.id)]
    assert sum("Малын худаг" in t for t in told) == 1
    rnd = await current_round(world)
    async with world.sanal.db.write() as conn:
        found = await proposals.of_round(conn, rnd.id)
    assert [(p.number, p.beneficiaries) for p in found] == [(1, 40), (2, None), (3, 80)]
    assert found[0].cost_mnt == 25_000_000


async def test_governor_accepts_rejects_and_merges_with_buttons(
    world: TgWorld, fake_tg: FakeTelegram
) -> None:
    gov = await governor(world)
    authors = [await linked(world, 2100 + i, HERDERS[i]) for i in range(4)]
    texts = ["Малын худаг", "Худаг шинээр гаргах", "Сумын наадам", "Гудамжны гэрэл"]
    for author, text in zip(authors, texts, strict=True):
        await join_by_keyboard(author)
        await author.say(f"/propose {text}")

    listing = await gov.say("/pending")
    assert "Хянах санал: 4" in listing
    data = [d for _, d in gov.buttons()]
    assert data[:3] == ["ACCEPT 1", "REJECT 1", "tg:m:1"]
    assert data[-1] == "VOTING"

    reply = await gov.press("✔ 1")
    assert "Зөвшөөрлөө: 1" in reply
    assert "Хянах санал: 3" in reply
    assert "✔ 1" not in str(gov.buttons())
    assert "№3 саналаас татгалзлаа" in await gov.press("✖ 3")
    assert "татгалзлаа: шалтгаан бичээгүй" in fake_tg.last(authors[2].id).text  # and told so
    assert "аль саналтай нэгтгэх" in await gov.press("⇄ 2")
    assert ("→ 1. Малын худаг", "MERGE 2 1") in gov.buttons()
    reply = await gov.press("→ 1.")
    assert "№2-ыг №1-д нэгтгэлээ" in reply
    assert "Хянах санал: 1" in reply
    assert "нэгтгэгдлээ" in fake_tg.last(authors[1].id).text

    rnd = await current_round(world)
    async with world.sanal.db.write() as conn:
        status = {p.number: p.status for p in await proposals.of_round(conn, rnd.id)}
    assert status == {1: "accepted", 2: "merged", 3: "rejected", 4: "pending"}

    # Out of turn (the round is collecting), the close button says so in words.
    early = await gov.press_data("tg:close")
    assert "Одоо болохгүй: санал авч байна" in early
    assert "collecting" not in early

    # A citizen pressing a governor's button (forged data) is refused; nothing changes.
    citizen = authors[3]
    assert "зөвхөн багийн Засаг дарга" in await citizen.press_data("ACCEPT 4")
    assert "зөвхөн багийн Засаг дарга" in await citizen.press_data("tg:m:4")
    assert "зөвхөн багийн Засаг дарга" in await citizen.press_data("tg:close")
    async with world.sanal.db.write() as conn:
        fourth = await proposals.by_number(conn, rnd.id, 4)
    assert fourth is not None
    assert fourth.status == "pending"
    refused = await world.rows("SELECT id FROM audit_log WHERE action = 'refused.governor_word'")
    assert len(refused) == 3
    assert all(len(d.encode()) <= 64 for d in all_button_data(fake_tg))


async def voting_round(world: TgWorld, count: int = 4) -> TgUser:
    """A round in voting with ``count`` accepted proposals (made by SMS)."""
    gov = await governor(world)
    for i in range(count):
        phone = world.sms(f"+9768800{i:04d}")
        await phone.say(f"НЭГДЭХ {ZAG_BAG_1}")
        await phone.say(f"САНАЛ Төсөл {i + 1}: худаг, засвар, гэрэл")
    await gov.say("/accept " + " ".join(str(n) for n in range(1, count + 1)))
    assert "Санал хураалт эхэллээ" in await gov.press("Санал хураалт эхлүүлэх")
    return gov


async def ballot_of(world: TgWorld, user: TgUser) -> list[int]:
    rnd = await current_round(world)
    async with world.sanal.db.write() as conn:
        person = await people.by_identity(conn, "telegram", str(user.id))
        assert person is not None
        ids = await ballots.choices_of(conn, world.sanal.router.key, rnd.id, person.id)
        numbers = {p.id: p.number for p in await proposals.of_round(conn, rnd.id)}
    return sorted(numbers[i] for i in ids)


async def test_voting_with_the_button_ballot(
    world: TgWorld, fake_tg: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    await voting_round(world)
    caplog.set_level(logging.DEBUG)
    voter = await linked(world, 2201, HERDERS[0])
    await join_by_keyboard(voter)

    ballot = await voter.say("/vote")
    assert "Ихдээ 3 санал сонгоод" in ballot
    assert "Сонгосон: 0" in ballot
    labels = [t for t, _ in voter.buttons()]
    assert labels[0].startswith("⬜ 1. Төсөл 1")
    assert labels[-1] == "Илгээх (0)"
    await voter.press("1. Төсөл")
    await voter.press("3. Төсөл")
    assert "Сонгосон: 3" in await voter.press("4. Төсөл")
    # A fourth is refused: the ballot stays at three, and says why.
    over = await voter.press("2. Төсөл")
    assert "Ихдээ 3 сонгоно" in over
    assert "Сонгосон: 3" in over
    assert [t[0] for t, _ in voter.buttons()[:4]] == ["✅", "⬜", "✅", "✅"]
    # Unticking works; submitting records the ballot; the ballot message becomes the answer.
    await voter.press("3. Төсөл")
    await voter.press("3. Төсөл")
    assert render("vote.ok", "mn", numbers="1 3 4") in await voter.press("Илгээх (3)")
    assert await ballot_of(world, voter) == [1, 3, 4]
    assert render("my.ballot", "mn", numbers="1 3 4") in await voter.say("/my")

    # Changing it: the ballot opens with the current choice ticked.
    assert "Сонгосон: 3" in await voter.say("/vote")
    await voter.press("3. Төсөл")
    await voter.press("2. Төсөл")
    assert render("vote.changed", "mn", numbers="1 2 4") in await voter.press("Илгээх (3)")
    assert await ballot_of(world, voter) == [1, 2, 4]
    # Typed, going over k is refused and changes nothing.
    assert "Ихдээ 3 санал сонгоно, та 4 сонголоо" in await voter.say("/vote 1 2 3 4")
    assert await ballot_of(world, voter) == [1, 2, 4]
    # The list offers the ballot too.
    assert "1. Төсөл 1" in await voter.say("/list")
    assert "Сонгосон: 3" in await voter.press("Санал өгөх")
    rnd = await current_round(world)
    async with world.sanal.db.write() as conn:
        assert await ballots.count_ballots(conn, rnd.id) == 1
    # An empty ballot is not sent; a ballot of another round is out of date.
    await voter.say("/vote")
    for n in (1, 2, 4):
        await voter.press(f"{n}. Төсөл")
    assert "Дор хаяж нэг санал" in await voter.press("Илгээх (0)")
    assert "хуучирсан" in await voter.press_data(f"tg:s:{rnd.id + 1}:2")
    assert await ballot_of(world, voter) == [1, 2, 4]
    assert all(len(d.encode()) <= 64 for d in all_button_data(fake_tg))
    # Even at DEBUG, no log line holds a ballot: not the answer, not a pressed button.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "httpx" in {r.name for r in caplog.records}  # the client did log, at DEBUG
    assert "сонголт" not in logged
    assert "tg:s:" not in logged
    assert "tg:v:" not in logged


async def test_one_person_voting_by_telegram_and_by_sms_is_counted_once(
    world: TgWorld, fake_tg: FakeTelegram
) -> None:
    gov = await voting_round(world)
    sms = world.sms(HERDERS[2])
    assert "Баянбулаг" in await sms.say(f"НЭГДЭХ {ZAG_BAG_1}")
    bat = await linked(world, 2301, HERDERS[2])  # the same number, now in Telegram

    await bat.say("/vote")
    await bat.press("1. Төсөл")
    assert "Баярлалаа" in await bat.press("Илгээх (1)")
    # By SMS the same person changes the same ballot; it is not a second one.
    assert render("vote.changed", "mn", numbers="2 3") in await sms.say("СОНГО 2 3")
    assert await ballot_of(world, bat) == [2, 3]
    assert render("my.ballot", "mn", numbers="2 3") in await bat.say("/my")
    rnd = await current_round(world)
    async with world.sanal.db.write() as conn:
        assert await ballots.count_ballots(conn, rnd.id) == 1
        assert await ballots.turnout_by_channel(conn, rnd.id) == {"telegram": 1}

    # The governor closes with a confirmation button; results count one voter.
    assert "Хаасны дараа" in await gov.press_data("tg:close")
    closing = await gov.press("Тийм, одоо хаах")
    assert "Оролцоо 1/" in closing
    # One ballot: its counts would be the ballot, so neither the reply nor a chart has them.
    assert "Цөөн хүн санал өгсөн (1; дор хаяж 3)" in closing
    assert "№1" not in closing
    assert fake_tg.calls_of("sendDocument") == []
    # Afterwards the governor's help offers the results.
    await gov.say("/help")
    assert "Оролцоо 1/" in await gov.press("Дүн")


async def test_ticking_a_ballot_quickly_is_not_taken_for_a_flood(
    world: TgWorld, fake_tg: FakeTelegram
) -> None:
    """A person pressing buttons sends many updates a minute; each still gets its answer
    (SMS keeps the tighter limit that stops two bots answering each other)."""
    await voting_round(world)
    voter = await linked(world, 2301, HERDERS[2])
    await join_by_keyboard(voter)
    await voter.say("/vote")
    presses = world.sanal.settings.flood_threshold + 5
    for _ in range(presses):
        message = voter.keyboard()
        [data] = [d for t, d in message.buttons() if "1. Төсөл" in t]
        before = len(fake_tg.calls)
        fake_tg.queue(fake_tg.callback_update(voter.id, data, message, lang="mn"))
        world.clock.advance(timedelta(seconds=2))  # 15 presses in half a minute
        await world.step()
        answers = [
            c
            for c in fake_tg.calls[before:]
            if c.method in ("sendMessage", "editMessageText")
            and c.params.get("chat_id") == voter.id
        ]
        assert answers, "a press went unanswered"
