"""`GET /metrics`, scraped over HTTP from the running app after real traffic.

Two bags run rounds through signed Twilio webhooks (joins, proposals, ballots, the
governors' words); the replies go out to the fakes of Twilio's and the Android gateway's
APIs on loopback, one of them answered 429 first; forged and unsigned webhooks are
refused. The scrape is parsed with prometheus-client's own parser and each figure is
checked against what the fakes received and what the database holds. Ballot secrecy:
while a bag's round is open, no figure names that bag; once the scheduler closes it at its
deadline, its ballots are counted per bag.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.app import Sanal
from bot.web import build_web_app
from storage.db import fetchall, fetchone
from storage.times import from_db
from tests.channels.conftest import SmsWorld
from tests.conftest import ZAG_BAG_1, ZAG_BAG_2, make_settings
from tests.fakes.android_gateway import FakeGateway
from tests.fakes.twilio_api import FakeTwilio
from tests.observe.conftest import GOV_1, GOV_2, scheduler

BAG_1_VOTERS = [f"+9769911{i:04d}" for i in range(4)]
BAG_2_VOTERS = [f"+9769922{i:04d}" for i in range(3)]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(client: TestClient[Any, Any], **headers: str) -> tuple[str, Samples]:
    resp = await client.get("/metrics", headers=headers)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("text/plain")
    text = await resp.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def with_label(samples: Samples, key: str, val: str) -> list[str]:
    return [name for name, labels in samples if (key, val) in labels]


async def run_a_round(w: SmsWorld, governor: str, bag: str, voters: list[str]) -> None:
    """Voters join, two of them propose, the governor accepts and starts voting (until ten
    days from now), each voter votes."""
    for phone in voters:
        await w.text(phone, f"НЭГДЭХ {bag}")
    await w.handle()
    await w.text(governor, "НЭЭХ")
    await w.handle()
    await w.text(voters[0], "САНАЛ Худгийн засвар, 40 өрх")
    await w.text(voters[1], "САНАЛ Гүүр барих, 60 өрх")
    await w.handle()
    await w.text(governor, "ЗӨВ 1 2")
    await w.handle()
    await w.text(governor, f"ХУРААЛТ {(w.clock.now() + timedelta(days=10)).date()}")
    await w.handle()
    for i, phone in enumerate(voters):
        await w.text(phone, "СОНГО 1 2" if i % 2 else "СОНГО 1")
    await w.handle()


async def sent_by_channel(sanal: Sanal) -> dict[str, tuple[int, int]]:
    rows = await fetchall(
        sanal.db.reader,
        "SELECT channel, count(*) AS n, COALESCE(sum(segments), 0) AS segs FROM outbox "
        "WHERE status = 'sent' GROUP BY channel",
    )
    return {str(r["channel"]): (int(r["n"]), int(r["segs"])) for r in rows}


async def test_metrics_after_real_traffic(
    world: SmsWorld, fake_twilio: FakeTwilio, fake_gateway: FakeGateway
) -> None:
    w = world
    await run_a_round(w, GOV_1, ZAG_BAG_1, BAG_1_VOTERS)
    await run_a_round(w, GOV_2, ZAG_BAG_2, BAG_2_VOTERS)
    await w.text(GOV_2, "ХААХ")  # bag 2 closes by hand; bag 1 stays open
    await w.handle()

    # A citizen writes through the Android gateway; its reply goes back that way.
    resp = await w.android_text("+97699330001", f"НЭГДЭХ {ZAG_BAG_2}")
    assert resp.status in (200, 204)
    # Forged and unsigned webhooks on both providers.
    params = {"MessageSid": w.next_sid(), "From": "+97699440001", "To": "+15005550006"}
    assert (await w.twilio_post(params | {"Body": "СОНГО 1"}, sign="forged")).status == 403
    assert (await w.twilio_post(params | {"Body": "СОНГО 2"}, sign=None)).status == 403
    assert (await w.android_post({"event": "sms:received"}, key=None)).status == 403
    # Twilio answers the next send 429: it waits and goes out later.
    fake_twilio.script = ["429"]
    await w.text("+97699440002", f"НЭГДЭХ {ZAG_BAG_2}")
    await w.handle()
    w.clock.advance(timedelta(seconds=10))
    await w.handle()

    text, got = await scrape(w.client)

    # Sends: exactly what the fakes accepted, and what the database marked sent.
    sent = await sent_by_channel(w.sanal)
    assert value(got, "sanal_sends_total", channel="twilio") == len(fake_twilio.messages)
    assert value(got, "sanal_sends_total", channel="twilio") == sent["twilio"][0]
    assert value(got, "sanal_sends_total", channel="android") == len(fake_gateway.messages)
    assert value(got, "sanal_sends_total", channel="android") == sent["android"][0] >= 1
    for channel in ("twilio", "android"):
        segments = value(got, "sanal_sms_segments_sent_total", channel=channel)
        assert segments == sent[channel][1] >= sent[channel][0]
    # The 429: one send error of that reason, one rate limit, nothing else went wrong.
    assert value(got, "sanal_send_errors_total", channel="twilio", reason="rate_limited") == 1
    assert value(got, "sanal_provider_rate_limited_total", channel="twilio") == 1
    assert value(got, "sanal_provider_rate_limited_total", channel="android") == 0
    errors = [k for k in got if k[0] == "sanal_send_errors_total"]
    assert len(errors) == 1
    # Refusals, by channel and reason.
    refused = {k[1]: v for k, v in got.items() if k[0] == "sanal_webhook_refusals_total"}
    assert refused == {
        (("channel", "twilio"), ("reason", "bad_signature")): 1,
        (("channel", "twilio"), ("reason", "unsigned")): 1,
        (("channel", "android"), ("reason", "unsigned")): 1,
    }
    # Inbox and outbox: the database's own counts.
    assert value(got, "sanal_inbox_messages", status="pending") == 0
    assert value(got, "sanal_inbox_messages", status="failed") == 0
    for channel in ("twilio", "android", "sim"):
        for status in ("queued", "sending"):
            row = await fetchone(
                w.sanal.db.reader,
                "SELECT count(*) AS n FROM outbox WHERE channel = ? AND status = ?",
                (channel, status),
            )
            assert row is not None
            assert value(got, "sanal_outbox_backlog", channel=channel, status=status) == row["n"]
    # Rounds and ballots: the total, and per bag only for the closed round.
    assert value(got, "sanal_rounds", status="voting") == 1
    assert value(got, "sanal_rounds", status="closed") == 1
    assert value(got, "sanal_rounds", status="draft") == 0
    assert value(got, "sanal_ballots_cast") == len(BAG_1_VOTERS) + len(BAG_2_VOTERS)
    year = str(w.clock.now().year + 1)
    assert value(got, "sanal_round_ballots_cast", bag=ZAG_BAG_2, year=year) == len(BAG_2_VOTERS)
    assert with_label(got, "bag", ZAG_BAG_1) == []
    assert ZAG_BAG_1 not in text  # not in any label, name or help text
    assert value(got, "sanal_database_readable") == 1
    assert ("sanal_scheduler_last_sweep_timestamp_seconds", ()) in got  # the start's sweep

    # The scheduler closes bag 1 at its deadline: now its count may be shown.
    before = value(got, "sanal_scheduler_sweeps_total", result="ok")
    vote_until = await fetchone(
        w.sanal.db.reader, "SELECT vote_until FROM rounds WHERE bag_code = ?", (ZAG_BAG_1,)
    )
    assert vote_until is not None
    assert value(got, "sanal_round_close_overdue_seconds") == 0  # bag 1 votes for days yet
    w.clock.set(from_db(vote_until["vote_until"]) + timedelta(minutes=1))
    # Past its deadline, not yet swept: the operator sees how late the close is.
    _, late = await scrape(w.client)
    assert value(late, "sanal_round_close_overdue_seconds") == 60
    report = await scheduler(w).tick()
    assert report is not None
    assert len(report.closed) == 1
    _, after = await scrape(w.client)
    assert value(after, "sanal_scheduler_sweeps_total", result="ok") == before + 1
    assert value(after, "sanal_scheduler_actions_total", action="rounds_closed") >= 1
    assert value(after, "sanal_scheduler_last_sweep_timestamp_seconds") == (
        w.clock.now().timestamp()
    )
    assert value(after, "sanal_rounds", status="closed") == 2
    assert value(after, "sanal_round_close_overdue_seconds") == 0
    assert value(after, "sanal_round_ballots_cast", bag=ZAG_BAG_1, year=year) == len(BAG_1_VOTERS)


async def test_a_bearer_token_when_one_is_set(tmp_path: Any) -> None:
    token = "metrics-token-0123456789"
    app = Sanal(make_settings(tmp_path, metrics_token=token))
    await app.open()
    try:
        async with TestClient(TestServer(build_web_app(app))) as client:
            assert (await client.get("/metrics")).status == 401  # loopback is not enough
            wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status == 401
            assert "Bearer" in wrong.headers["WWW-Authenticate"]
            _, got = await scrape(client, Authorization=f"Bearer {token}")
            assert value(got, "sanal_database_readable") == 1
    finally:
        await app.stop()


async def test_local_only_without_a_token(client: TestClient[Any, Any]) -> None:
    """The test server is on loopback: allowed; a proxy naming a public client is not."""
    await scrape(client)
    await scrape(client, **{"X-Forwarded-For": "10.1.2.3, 192.168.0.7"})
    for header, address in (
        ("X-Forwarded-For", "8.8.8.8"),
        ("X-Forwarded-For", "192.168.0.7, 1.1.1.1"),  # a proxy appended the real client
        ("X-Real-IP", "2001:4860:4860::8888"),
        ("Forwarded", 'for="[2001:4860::1]:4711";proto=https'),
        ("X-Forwarded-For", "not-an-address"),
    ):
        resp = await client.get("/metrics", headers={header: address})
        assert resp.status == 403, (header, address)


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.20.30.40", True),
        ("172.31.255.1", True),
        ("192.168.1.20:8080", True),
        ("fd00::5", True),
        ("100.64.0.1", False),  # carrier NAT: the mobile operator's other customers
        ("172.32.0.1", False),
        ("8.8.8.8", False),
        ("unknown", False),
        (None, True),  # a Unix socket
    ],
)
def test_which_addresses_are_local(address: str | None, local: bool) -> None:
    assert metrics.is_local(address) is local


async def test_two_apps_in_one_process_count_apart(tmp_path: Any) -> None:
    """Each app has its own registry: a refusal on one is not counted on the other."""
    one = Sanal(make_settings(tmp_path / "one"))
    two = Sanal(make_settings(tmp_path / "two"))
    await one.open()
    await two.open()
    try:
        metrics.refused(one.db, "twilio", "bad signature")
        async with (
            TestClient(TestServer(build_web_app(one))) as c1,
            TestClient(TestServer(build_web_app(two))) as c2,
        ):
            _, got_one = await scrape(c1)
            _, got_two = await scrape(c2)
        key = ("sanal_webhook_refusals_total", (("channel", "twilio"), ("reason", "bad_signature")))
        assert got_one[key] == 1
        assert key not in got_two
    finally:
        await one.stop()
        await two.stop()


async def test_a_closed_database_is_said_not_hidden(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    await sanal.db.close()
    _, got = await scrape(client)
    assert value(got, "sanal_database_readable") == 0
    assert not [k for k in got if k[0] == "sanal_rounds"]
