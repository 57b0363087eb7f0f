"""Sending to Telegram through the outbox: flood waits, blocked bots, long texts, network
errors, and the bot token kept out of the logs."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from bot.channels.telegram import TelegramChannel, TelegramConfigError
from bot.channels.telegram_redact import REDACTED
from bot.channels.telegram_transport import MAX_TEXT, split_text, utf16_len
from bot.core.clock import ManualClock
from bot.wiring import build
from storage import outbox, people
from tests.conftest import GOVERNOR, ZAG_BAG_1, make_official
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.conftest import (
    TG_PERSON,
    TOKEN,
    TgUser,
    TgWorld,
    telegram_plugin,
    tg_settings,
)


async def linked(world: TgWorld, user_id: int, phone: str) -> TgUser:
    user = world.user(user_id)
    await user.link(phone)
    return user


async def queue_text(world: TgWorld, user: TgUser, key: str, text: str, **extra: object) -> None:
    async with world.sanal.db.write() as conn:
        person = await people.by_identity(conn, "telegram", str(user.id))
        await outbox.enqueue(
            conn,
            dedupe_key=key,
            channel="telegram",
            address=f"telegram:{user.id}",
            text=text,
            now=world.clock.now(),
            person_id=person.id if person else None,
            kind="notice",
            extra=dict(extra),
        )


async def status_of(world: TgWorld, key: str) -> dict[str, object]:
    [row] = await world.rows("SELECT * FROM outbox WHERE dedupe_key = ?", key)
    return row


def sent_texts(fake: FakeTelegram, chat_id: int) -> list[str]:
    return [m.text for m in fake.chat(chat_id) if m.document is None]


async def test_a_429_pauses_every_chat_for_retry_after(
    world: TgWorld, fake_tg: FakeTelegram, clock: ManualClock
) -> None:
    bat = await linked(world, 3001, "+97699113001")
    dulam = await linked(world, 3002, "+97699113002")
    fake_tg.flood(retry_after=60)
    await queue_text(world, bat, "n1", "Хурал маргааш 14:00")
    await queue_text(world, dulam, "n2", "Хурал маргааш 14:00")
    await world.sanal.drain_outbox()
    first = await status_of(world, "n1")
    assert first["status"] == "queued"
    assert "429" in str(first["last_error"])
    # Nothing else went out: the pause holds every chat, not only the refused one.
    assert (await status_of(world, "n2"))["status"] == "queued"
    before = len(fake_tg.calls_of("sendMessage"))
    clock.advance(timedelta(seconds=59))
    await world.sanal.drain_outbox()
    assert len(fake_tg.calls_of("sendMessage")) == before  # still waiting
    clock.advance(timedelta(seconds=2))
    await world.sanal.drain_outbox()
    assert sent_texts(fake_tg, bat.id).count("Хурал маргааш 14:00") == 1
    assert sent_texts(fake_tg, dulam.id).count("Хурал маргааш 14:00") == 1
    assert (await status_of(world, "n1"))["status"] == "sent"


async def test_blocked_by_the_user_marks_the_person_and_sms_takes_over(
    world: TgWorld, fake_tg: FakeTelegram
) -> None:
    await make_official(world.sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov = await linked(world, 3010, GOVERNOR)
    await gov.say("/open")
    bat = await linked(world, 3011, "+97699113011")
    await bat.say(f"/join {ZAG_BAG_1}")
    await bat.say("/propose Малын худаг")
    fake_tg.block(bat.id)
    await queue_text(world, bat, "n1", "Санал хураалт эхэллээ")
    await world.sanal.drain_outbox()
    row = await status_of(world, "n1")
    assert row["status"] == "failed"
    assert "blocked" in str(row["last_error"])
    [person] = await world.rows(f"{TG_PERSON} WHERE i.address = ?", str(bat.id))
    assert person["telegram_blocked"] == 1
    # The governor accepts the proposal: its author hears of it by SMS now.
    await gov.say("/accept 1")
    [notice] = await world.rows(
        "SELECT channel, address FROM outbox WHERE person_id = ? AND kind = 'notice' "
        "AND dedupe_key LIKE 'notice:%'",
        person["id"],
    )
    assert notice == {"channel": "twilio", "address": "tel:+97699113011"}
    # Writing to the bot again means they unblocked it.
    fake_tg._blocked.clear()
    await bat.say("/help")
    [person] = await world.rows(f"{TG_PERSON} WHERE i.address = ?", str(bat.id))
    assert person["telegram_blocked"] == 0


def test_long_texts_are_split_at_line_ends_within_the_limit() -> None:
    lines = [f"{i}. Малын худаг гаргах, 40 өрх 🐑" for i in range(400)]
    text = "\n".join(lines)
    parts = split_text(text)
    assert len(parts) == 4
    assert all(utf16_len(p) <= MAX_TEXT for p in parts)
    assert "\n".join(parts) == text  # cut only where a line ended
    one_line = "я" * 9000
    assert "".join(split_text(one_line)) == one_line
    assert split_text("short") == ["short"]


async def test_a_long_message_is_sent_in_parts_each_once(
    world: TgWorld, fake_tg: FakeTelegram, clock: ManualClock
) -> None:
    bat = await linked(world, 3020, "+97699113020")
    text = "\n".join(f"{i}. Малын худаг гаргах, 40 өрх" for i in range(400))
    buttons = [[{"label": "Санал өгөх", "data": "tg:b:1"}]]
    # The second part fails (a Telegram 500); the first must not be sent again.
    fake_tg.fail("sendMessage", 500, "Internal Server Error", after=1)
    await queue_text(world, bat, "long", text, buttons=buttons)
    before = len(fake_tg.chat(bat.id))
    await world.sanal.drain_outbox()
    row = await status_of(world, "long")
    assert row["status"] == "queued"
    assert row["error_count"] == 1
    assert len(fake_tg.chat(bat.id)) == before + 1
    clock.advance(timedelta(minutes=1))
    await world.sanal.drain_outbox()
    assert (await status_of(world, "long"))["status"] == "sent"
    parts = fake_tg.chat(bat.id)[before:]
    assert "\n".join(m.text for m in parts) == text  # every part once, in order
    assert len(parts) == len(split_text(text)) == 4
    assert [bool(m.buttons()) for m in parts] == [False, False, False, True]  # buttons last


async def test_network_errors_are_retried(
    world: TgWorld, fake_tg: FakeTelegram, clock: ManualClock, tmp_path: Path
) -> None:
    bat = await linked(world, 3030, "+97699113030")
    plugin = telegram_plugin(world.sanal)
    real = plugin.bot._base_url  # the client pointed at a closed port
    plugin.bot._base_url = "http://127.0.0.1:9/bot" + TOKEN
    await queue_text(world, bat, "n1", "Сайн байна уу")
    await world.sanal.drain_outbox()
    row = await status_of(world, "n1")
    assert row["status"] == "queued"
    assert "network" in str(row["last_error"])
    assert TOKEN not in str(row["last_error"])
    plugin.bot._base_url = real
    clock.advance(timedelta(seconds=10))
    await world.sanal.drain_outbox()
    assert sent_texts(fake_tg, bat.id).count("Сайн байна уу") == 1


async def test_the_token_never_reaches_the_logs(
    world: TgWorld, fake_tg: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bat = world.user(3040)
    await bat.say("/start")  # httpx logs each request URL, which holds the token
    assert REDACTED in caplog.text
    logging.getLogger("test").exception("failed calling %s", f"https://x/bot{TOKEN}/getMe")
    try:
        raise RuntimeError(f"url https://api.telegram.org/bot{TOKEN}/sendMessage")
    except RuntimeError:
        logging.getLogger("test").exception("boom")
    assert TOKEN not in caplog.text
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in (record.exc_text or "")
    formatted = "\n".join(logging.Formatter().format(r) for r in caplog.records)
    assert TOKEN not in formatted
    assert "Traceback" in formatted


async def test_a_refused_token_stops_the_start_without_showing_it(
    tmp_path: Path, clock: ManualClock, fake_tg: FakeTelegram
) -> None:
    settings = tg_settings(tmp_path, fake_tg, telegram_bot_token="7000000001:wrong-token-abcdef")
    sanal = build(settings, clock)
    await sanal.open()
    with pytest.raises(TelegramConfigError) as raised:
        await telegram_plugin(sanal).start(sanal)
    assert "wrong-token" not in str(raised.value)
    assert raised.value.__suppress_context__
    await sanal.stop()


def test_telegram_runs_only_with_a_token_and_paces_as_telegram_asks(
    tmp_path: Path, fake_tg: FakeTelegram
) -> None:
    assert not [
        p
        for p in build(tg_settings(tmp_path, fake_tg, telegram_bot_token=None)).plugins
        if isinstance(p, TelegramChannel)
    ]
    defaults = tg_settings(tmp_path, fake_tg)
    defaults = defaults.model_copy(
        update={"telegram_rate_per_second": 25.0, "telegram_per_chat_per_second": 1.0}
    )
    transport = TelegramChannel(defaults).transport()
    assert transport.name == "telegram"
    assert transport.rate_per_second == 25
    assert transport.per_address_per_second == 1
    with pytest.raises(TelegramConfigError):
        TelegramChannel(defaults.model_copy(update={"telegram_mode": "webhook"}))
