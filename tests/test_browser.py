"""The simulator page in a real browser: headless Chromium driven by Playwright."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Sanal
from tests.conftest import GOVERNOR, ZAG_BAG_1, make_official

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

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
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
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
            assert "not a valid number" in await page.inner_text("#error")
        finally:
            await browser.close()
