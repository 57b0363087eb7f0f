"""The simulator page in a real browser: headless Chromium driven by Playwright."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import ManualClock
from tests.channels.conftest import fake_gateway, fake_twilio, sms_settings, sms_world
from tests.conftest import GOVERNOR, ZAG_BAG_1, make_official
from tests.fakes.android_gateway import FakeGateway
from tests.fakes.twilio_api import FakeTwilio

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TRAINING = "training-token-0123456789abcdef"
__all__ = ["fake_gateway", "fake_twilio"]  # fixtures, imported for pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which("chromium") is None,
        reason="needs Debian's chromium: apt-get install chromium (.ci/run does this)",
    ),
]


async def test_a_herder_joins_and_proposes_on_the_page(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    from playwright.async_api import async_playwright

    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    await client.post("/api/sim/messages", json={"phone": GOVERNOR, "text": "НЭЭХ"})
    url = str(client.make_url("/"))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page()
            await page.goto(url)
            await page.fill("#phone", "9911 2233")
            await page.click("#load")
            await page.fill("#text", "НЭГДЭХ 644651")
            await page.click("button[type=submit]")
            await page.wait_for_selector(".msg.out")
            await page.fill("#text", "САНАЛ Багийн төвд худаг, 30 өрх")
            await page.click("button[type=submit]")
            await page.wait_for_function("document.querySelectorAll('.msg.out').length >= 2")
            replies = await page.locator(".msg.out").all_inner_texts()
            sent = await page.locator(".msg.in").all_inner_texts()
            assert "Баянбулаг" in replies[0]
            assert "№1" in replies[1]
            assert sent == ["НЭГДЭХ 644651", "САНАЛ Багийн төвд худаг, 30 өрх"]
            # A bad phone number shows one clear error on the page.
            await page.fill("#phone", "12")
            await page.fill("#text", "hi")
            await page.click("button[type=submit]")
            await page.wait_for_function("document.getElementById('error').textContent.length > 0")
            # In the page's language (issue 12: no English error on a Mongolian page).
            assert "Утасны дугаар буруу байна: 12" in await page.inner_text("#error")
        finally:
            await browser.close()


async def test_the_page_asks_for_the_training_token_beside_real_channels(
    tmp_path: Path, clock: ManualClock, fake_twilio: FakeTwilio, fake_gateway: FakeGateway
) -> None:
    """With Twilio on, the simulator runs only with the operator's training token: the
    page asks for it once, keeps it in the tab and sends it with every request."""
    from playwright.async_api import async_playwright

    settings = sms_settings(tmp_path, fake_twilio, fake_gateway, simulator_token=TRAINING)
    async with sms_world(settings, clock) as world:
        url = str(world.client.make_url("/"))
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = await browser.new_page()
                await page.goto(url)
                await page.wait_for_selector("#token", state="visible")
                assert "Сургалтын түлхүүр" in await page.inner_text("#error")
                await page.fill("#token", TRAINING)
                await page.click("#usetoken")
                await page.fill("#phone", "8800 1122")
                await page.fill("#text", "НЭГДЭХ 644651")
                await page.click("button[type=submit]")
                await page.wait_for_selector(".msg.out")
                assert "Баянбулаг" in (await page.locator(".msg.out").all_inner_texts())[0]
                # The governor's number (an official's) is refused, with one clear line.
                await page.fill("#phone", "99000000")
                await page.fill("#text", "ХААХ")
                await page.click("button[type=submit]")
                await page.wait_for_function(
                    "document.getElementById('error').textContent.includes('хэрэглээгүй дугаар')"
                )
            finally:
                await browser.close()
