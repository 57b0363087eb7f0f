"""Who is writing: /start asks for the phone contact, only one's own card counts, and the
account becomes the person who texts from that number."""

from __future__ import annotations

from bot.core.texts import render
from storage import people, roles
from tests.conftest import GOVERNOR, ZAG_BAG_1, make_official
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.conftest import TG_PERSON, TgWorld

HERDER = "+97699112233"


async def test_start_asks_for_the_phone_contact(world: TgWorld, fake_tg: FakeTelegram) -> None:
    bat = world.user(1001)
    reply = await bat.say("/start")
    assert "утасны дугаараа хуваалцана уу" in reply
    asked = fake_tg.last(bat.id)
    assert asked.asks_contact  # a reply keyboard with a contact button
    assert asked.reply_markup is not None
    assert asked.reply_markup["one_time_keyboard"]
    # Until the contact is shared, words are not acted on: they ask for it again.
    assert "хуваалцана уу" in await bat.say(f"/join {ZAG_BAG_1}")
    [person] = await world.rows(f"{TG_PERSON} WHERE i.address = ?", str(bat.id))
    assert person["phone"] is None
    assert person["bag_code"] is None


async def test_own_contact_links_the_phone(world: TgWorld) -> None:
    bat = world.user(1002)
    await bat.say("/start")
    reply = await bat.share_contact("97699112233")  # Telegram's form: digits, no plus
    assert f"Таны дугаар {HERDER} холбогдлоо" in reply
    assert "Аймаг, хотоо сонгоно уу" in reply  # the next step: choosing the bag
    async with world.sanal.db.write() as conn:
        person = await people.by_identity(conn, "telegram", str(bat.id))
    assert person is not None
    assert person.phone == HERDER
    # Sharing it again changes nothing and says so.
    assert "холбогдлоо" in await bat.share_contact(HERDER)
    assert len(await world.rows("SELECT id FROM people WHERE phone = ?", HERDER)) == 1


async def test_someone_elses_contact_is_refused(world: TgWorld) -> None:
    bat = world.user(1003)
    await bat.say("/start")
    reply = await bat.share_contact(HERDER, owner_id=4242)  # a friend's card
    assert "Зөвхөн өөрийнхөө дугаарыг" in reply
    assert world.fake.last(bat.id).asks_contact
    # A card of someone not on Telegram has no user id: refused as well.
    update = world.fake.contact_update(bat.id, HERDER, owner_id=None)
    world.fake.queue(update)
    await world.step()
    assert "Зөвхөн өөрийнхөө" in world.fake.last(bat.id).text
    assert await world.rows("SELECT id FROM people WHERE phone = ?", HERDER) == []
    refused = await world.rows(
        "SELECT actor FROM audit_log WHERE action = 'telegram.contact_refused'"
    )
    assert [r["actor"] for r in refused] == [f"telegram:{bat.id}"] * 2


async def test_the_account_becomes_the_person_who_texts(world: TgWorld) -> None:
    # Registered by SMS first, in Latin letters.
    sms = world.sms(HERDER)
    assert "Bayanbulag" in await sms.say(f"join {ZAG_BAG_1}")
    bat = world.user(1004)
    await bat.say("/start")
    reply = await bat.share_contact(HERDER)
    assert "holbogdloo" in reply  # in the language this person chose by SMS
    assert "Aimag" not in reply  # registered already: no bag to choose
    [owner] = await world.rows(f"{TG_PERSON} WHERE p.phone = ?", HERDER)
    assert owner["telegram_id"] == bat.id
    assert owner["channel"] == "telegram"
    assert owner["bag_code"] == ZAG_BAG_1
    # The account's first record, made by /start, no longer answers to the account.
    assert len(await world.rows(f"{TG_PERSON} WHERE i.address = ?", str(bat.id))) == 1
    # In Telegram they are registered already.
    assert "Bayanbulag" in await bat.say(f"/join {ZAG_BAG_1}")


async def test_an_official_linked_in_telegram_keeps_the_role(world: TgWorld) -> None:
    await make_official(world.sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov = world.user(1005)
    await gov.say("/start")
    await gov.share_contact(GOVERNOR)
    assert "эхэллээ" in await gov.say("/open")
    async with world.sanal.db.write() as conn:
        person = await people.by_identity(conn, "telegram", str(gov.id))
        assert person is not None
        assert [r.role for r in await roles.of_person(conn, person.id)] == ["governor"]


async def test_replies_follow_the_telegram_apps_language(world: TgWorld) -> None:
    anna = world.user(1006, lang="en")
    assert "share your phone number" in await anna.say("/start")
    assert "Share my phone number" in str(world.fake.last(anna.id).reply_markup)
    assert "Your number +97699112244 is linked" in await anna.share_contact("+97699112244")
    # The language word works before and after linking.
    mongol = world.user(1007, lang="en")
    assert "Монгол" in await mongol.say("/lang mn")
    assert "хуваалцана уу" in await mongol.say("/start")


async def test_group_chats_are_not_for_ballots(world: TgWorld) -> None:
    group = {"id": -100123, "type": "group", "title": "Баянбулаг"}
    world.fake.queue(world.fake.message_update(1008, "/vote 1", chat=group))
    await world.step()
    assert await world.rows("SELECT id FROM inbox") == []
    assert world.fake.calls_of("sendMessage") == []
    assert world.fake.pending_updates() == []  # acknowledged all the same


async def test_stop_and_start_again(world: TgWorld) -> None:
    bat = world.user(1009)
    await bat.link("+97699112255")
    assert render("stop.ok", "mn") in await bat.say("/stop")
    [person] = await world.rows(f"{TG_PERSON} WHERE i.address = ?", str(bat.id))
    assert person["opted_out"] == 1
    assert render("start.ok", "mn") in await bat.say("/start")  # Telegram's Start button
    [person] = await world.rows(f"{TG_PERSON} WHERE i.address = ?", str(bat.id))
    assert person["opted_out"] == 0


def _chat_menus(fake: FakeTelegram, chat_id: int) -> list[list[str]]:
    return [
        [c["command"] for c in call["commands"]]
        for call in fake.calls_of("setMyCommands")
        if (call.get("scope") or {}).get("chat_id") == chat_id
    ]


async def test_a_governor_gets_their_words_in_the_menu(world: TgWorld) -> None:
    await make_official(world.sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov, herder = world.user(1008), world.user(1009)
    await gov.link(GOVERNOR)
    await herder.link("+97699112255")
    menus = _chat_menus(world.fake, gov.id)
    assert len(menus) == 1  # set once, when their phone was linked
    assert menus[0][:2] == ["start", "join"]
    assert {"pending", "close", "results", "cost"} <= set(menus[0])
    scoped = [c for c in world.fake.calls_of("setMyCommands") if c.get("scope")]
    assert [c["scope"] for c in scoped] == [{"type": "chat", "chat_id": gov.id}]
    assert scoped[0]["commands"][-3]["description"] == "Засаг дарга: дүн"
    assert _chat_menus(world.fake, herder.id) == []  # a citizen keeps the default menu
    # What the menu sends is a governor word, answered as one (not refused as a citizen's).
    answer = await gov.say("/pending")
    assert answer
    assert render("governor.not_allowed", "mn") not in answer
    assert render("governor.not_allowed", "mn") in await herder.say("/pending")
    # Every start sets it again for each governor linked in Telegram (menus can be reset).
    await world.plugin.setup()
    assert len(_chat_menus(world.fake, gov.id)) == 2
    assert _chat_menus(world.fake, herder.id) == []
