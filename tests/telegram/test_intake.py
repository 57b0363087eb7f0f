"""Updates in: stored before acknowledged, one effect per update however often it comes,
nothing lost across a crash; the webhook's secret; what is registered at start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Sanal
from bot.channels.telegram import SECRET_HEADER, WEBHOOK_PATH, webhook_secret
from bot.core.clock import ManualClock
from bot.core.texts import render
from bot.web import build_web_app
from bot.wiring import build
from storage.db import fetchall
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.conftest import PUBLIC, TOKEN, TgWorld, telegram_plugin, tg_settings

USER = 4001


async def started(tmp_path: Path, clock: ManualClock, fake: FakeTelegram, **kw: Any) -> Sanal:
    """A process of the app on the shared database file (as `serve` would start it)."""
    sanal = build(tg_settings(tmp_path, fake, **kw), clock)
    telegram_plugin(sanal).background = False
    await sanal.open()
    for plugin in sanal.plugins:
        await plugin.start(sanal)
    return sanal


async def count(sanal: Sanal, sql: str) -> int:
    rows = await fetchall(sanal.db.reader, sql)
    return int(rows[0][0])


def replies_to(fake: FakeTelegram, chat_id: int) -> list[str]:
    return [str(c["text"]) for c in fake.calls_of("sendMessage") if c["chat_id"] == chat_id]


async def test_start_registers_the_commands_and_deletes_any_webhook(
    world: TgWorld, fake_tg: FakeTelegram
) -> None:
    methods = [c.method for c in fake_tg.calls]
    assert methods[:2] == ["getMe", "deleteWebhook"]  # polling: no webhook may stand in the way
    menus = {c.get("language_code"): c["commands"] for c in fake_tg.calls_of("setMyCommands")}
    assert set(menus) == {None, "mn", "en"}
    assert [c["command"] for c in menus["mn"]] == [
        "start", "join", "propose", "list", "vote", "my", "help", "lang", "stop"
    ]  # fmt: skip
    assert menus["mn"][1]["description"] == render("telegram.cmd.join", "mn") == "Багт бүртгүүлэх"
    assert menus["en"][1]["description"] == "Register in your bag"
    assert menus[None] == menus["mn"]  # Mongolian for every other app language


async def test_the_same_update_delivered_twice_has_one_effect(
    world: TgWorld, fake_tg: FakeTelegram
) -> None:
    update = fake_tg.message_update(USER, "/start")
    fake_tg.queue(update)
    fake_tg.queue(dict(update))  # Telegram sends it again (our answer was lost)
    await world.step()
    fake_tg.queue(dict(update))  # and once more, after it was handled
    await world.step()
    assert await count(world.sanal, "SELECT count(*) FROM inbox") == 1
    assert len(replies_to(fake_tg, USER)) == 1
    # A pressed button delivered twice is one press (the spinner is answered once too).
    bat = world.user(USER)
    await bat.share_contact("+97699114001")
    press = fake_tg.callback_update(USER, "tg:u:64", bat.keyboard())
    fake_tg.queue(press)
    fake_tg.queue(dict(press))
    await world.step()
    assert await count(world.sanal, "SELECT count(*) FROM inbox") == 3
    assert len(fake_tg.calls_of("editMessageText")) == 1
    assert len(fake_tg.calls_of("answerCallbackQuery")) == 1


async def test_a_crash_after_fetching_loses_nothing(
    tmp_path: Path, clock: ManualClock, fake_tg: FakeTelegram
) -> None:
    first = await started(tmp_path, clock, fake_tg)
    fake_tg.queue(fake_tg.message_update(USER, "/start"))
    fetched = await telegram_plugin(first).fetch()
    assert [u.update_id for u in fetched] == fake_tg.pending_updates()
    await first.stop()  # the process dies before storing it

    second = await started(tmp_path, clock, fake_tg)
    await telegram_plugin(second).poll_once()
    await second.intake.drain()
    await second.drain_outbox()
    await telegram_plugin(second).poll_once()  # confirms it to Telegram
    assert fake_tg.pending_updates() == []
    assert await count(second, "SELECT count(*) FROM inbox WHERE status = 'handled'") == 1
    assert len(replies_to(fake_tg, USER)) == 1
    await second.stop()


@pytest.mark.parametrize("died", ["after storing", "after handling", "after replying"])
async def test_a_crash_before_acknowledging_is_handled_once(
    tmp_path: Path, clock: ManualClock, fake_tg: FakeTelegram, died: str
) -> None:
    first = await started(tmp_path, clock, fake_tg)
    fake_tg.queue(fake_tg.message_update(USER, "/start"))
    assert await telegram_plugin(first).poll_once() == 1
    if died != "after storing":
        await first.intake.drain()
    if died == "after replying":
        await first.drain_outbox()
    await first.stop()  # Telegram was never told: the update comes again
    assert len(fake_tg.pending_updates()) == 1

    second = await started(tmp_path, clock, fake_tg)
    await telegram_plugin(second).poll_once()
    await second.intake.drain()
    await second.drain_outbox()
    assert await count(second, "SELECT count(*) FROM inbox") == 1
    assert await count(second, "SELECT count(*) FROM outbox") == 1
    assert len(replies_to(fake_tg, USER)) == 1
    await second.stop()


async def test_polling_in_the_background(
    tmp_path: Path, clock: ManualClock, fake_tg: FakeTelegram
) -> None:
    """As under `sanal serve`: long polling, the intake worker and the sender running."""
    sanal = build(tg_settings(tmp_path, fake_tg, telegram_poll_timeout=5), clock)
    await sanal.open()
    await sanal.start()
    try:
        fake_tg.queue(fake_tg.message_update(USER, "/start"))
        async with asyncio.timeout(10):
            await fake_tg.until(lambda: bool(replies_to(fake_tg, USER)))
        assert "хуваалцана уу" in replies_to(fake_tg, USER)[0]
        # The next long poll confirms the update to Telegram.
        async with asyncio.timeout(10):
            await fake_tg.until(lambda: not fake_tg.pending_updates())
        assert await count(sanal, "SELECT count(*) FROM inbox WHERE status = 'handled'") == 1
    finally:
        await sanal.stop()
    assert len(replies_to(fake_tg, USER)) == 1


@pytest.fixture
async def hooked(
    tmp_path: Path, clock: ManualClock, fake_tg: FakeTelegram
) -> AsyncIterator[tuple[Sanal, TestClient[Any, Any]]]:
    sanal = await started(tmp_path, clock, fake_tg, public_url=PUBLIC)
    async with TestClient(TestServer(build_web_app(sanal))) as client:
        yield sanal, client
    await sanal.stop()


async def test_webhook_is_registered_with_a_secret(
    hooked: tuple[Sanal, TestClient[Any, Any]], fake_tg: FakeTelegram
) -> None:
    assert fake_tg.webhook_url == PUBLIC + WEBHOOK_PATH
    assert fake_tg.webhook_secret == webhook_secret(TOKEN)
    assert fake_tg.calls_of("deleteWebhook") == []
    [hook] = fake_tg.calls_of("setWebhook")
    assert hook["allowed_updates"] == ["message", "callback_query"]


@pytest.mark.parametrize("secret", [None, "", "wrong", webhook_secret("another:token")])
async def test_webhook_without_the_right_secret_is_refused_and_stores_nothing(
    hooked: tuple[Sanal, TestClient[Any, Any]], fake_tg: FakeTelegram, secret: str | None
) -> None:
    sanal, client = hooked
    headers = {} if secret is None else {SECRET_HEADER: secret}
    update = fake_tg.message_update(USER, "/start")
    resp = await client.post(WEBHOOK_PATH, json=update, headers=headers)
    assert resp.status == 403
    assert "Traceback" not in await resp.text()
    assert await count(sanal, "SELECT count(*) FROM inbox") == 0


@pytest.mark.parametrize("deliveries", [2, 5])
async def test_webhook_with_the_secret_is_stored_once_and_answered(
    hooked: tuple[Sanal, TestClient[Any, Any]], fake_tg: FakeTelegram, deliveries: int
) -> None:
    sanal, client = hooked
    headers = {SECRET_HEADER: webhook_secret(TOKEN)}
    update = fake_tg.message_update(USER, "/start")
    for _ in range(deliveries):  # Telegram retries when our answer is slow
        resp = await client.post(WEBHOOK_PATH, json=update, headers=headers)
        assert resp.status == 200
    assert await count(sanal, "SELECT count(*) FROM inbox") == 1
    await sanal.intake.drain()
    await sanal.drain_outbox()
    assert len(replies_to(fake_tg, USER)) == 1
    bad = await client.post(WEBHOOK_PATH, data=b"not json", headers=headers)
    assert bad.status == 400
    assert await count(sanal, "SELECT count(*) FROM inbox") == 1


async def test_polling_again_deletes_the_webhook(
    tmp_path: Path, clock: ManualClock, fake_tg: FakeTelegram
) -> None:
    hooked = await started(tmp_path, clock, fake_tg, public_url=PUBLIC)
    assert fake_tg.webhook_url
    await hooked.stop()
    polling = await started(tmp_path, clock, fake_tg, public_url=PUBLIC, telegram_mode="polling")
    assert fake_tg.webhook_url == ""
    assert len(fake_tg.calls_of("deleteWebhook")) == 1
    await polling.stop()
