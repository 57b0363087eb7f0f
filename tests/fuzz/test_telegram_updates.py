"""Random and malformed Telegram updates through the webhook: never a 5xx, never a
traceback; stored only with the right secret, at most once per update, then handled
without a failure. Wrong secrets are refused, stored nowhere, and counted in the audit log.

`make test` runs 200 examples; `make soak` 5,000 (SANAL_SOAK=1).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from bot.app import Sanal
from bot.channels.telegram import SECRET_HEADER, WEBHOOK_PATH, webhook_secret
from bot.core.clock import ManualClock
from bot.web import build_web_app
from storage.db import fetchall
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.conftest import PUBLIC, TOKEN, fake_tg
from tests.telegram.test_intake import started

SOAK = os.environ.get("SANAL_SOAK") == "1"
EXAMPLES = 5_000 if SOAK else 200
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    st.text(max_size=50),
)
anything = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
ids = st.one_of(st.integers(min_value=-5, max_value=2**40), st.text(max_size=5), st.none())
users = st.fixed_dictionaries(
    {"id": ids, "is_bot": st.one_of(st.booleans(), anything), "first_name": anything},
    optional={"language_code": anything, "username": anything},
)
chats = st.fixed_dictionaries({"id": ids, "type": st.sampled_from(["private", "group", "x"])})
messages = st.fixed_dictionaries(
    {"message_id": ids, "date": ids, "chat": st.one_of(chats, anything)},
    optional={
        "from": st.one_of(users, anything),
        "text": st.one_of(st.text(max_size=300), anything),
        "contact": st.one_of(
            st.fixed_dictionaries(
                {"phone_number": st.text(max_size=20), "first_name": st.text(max_size=5)},
                optional={"user_id": ids},
            ),
            anything,
        ),
    },
)
callbacks = st.fixed_dictionaries(
    {"id": st.text(max_size=10), "from": st.one_of(users, anything), "chat_instance": anything},
    optional={"data": st.one_of(st.text(max_size=80), anything), "message": messages},
)
# Well-formed updates from a real-looking person with any text: the ones that get stored.
person_ids = st.integers(min_value=1, max_value=2**40)
plausible = person_ids.flatmap(
    lambda uid: st.fixed_dictionaries(
        {
            "update_id": st.integers(min_value=1, max_value=2**31),
            "message": st.fixed_dictionaries(
                {
                    "message_id": st.integers(min_value=1, max_value=2**31),
                    "date": st.integers(min_value=0, max_value=2**31),
                    "chat": st.just({"id": uid, "type": "private"}),
                    "from": st.just({"id": uid, "is_bot": False, "first_name": "Бат"}),
                },
                optional={
                    "text": st.text(max_size=300),
                    "contact": st.fixed_dictionaries(
                        {"phone_number": st.text(max_size=20), "first_name": st.just("Бат")},
                        optional={"user_id": st.one_of(st.just(uid), person_ids)},
                    ),
                },
            ),
        }
    )
)
updates = st.one_of(
    plausible,
    anything,
    st.fixed_dictionaries(
        {"update_id": ids},
        optional={
            "message": st.one_of(messages, anything),
            "callback_query": st.one_of(callbacks, anything),
            "edited_message": messages,
        },
    ),
)


@pytest.fixture
async def hooked(
    tmp_path: Path, clock: ManualClock, fake_tg: FakeTelegram
) -> AsyncIterator[tuple[Sanal, TestClient[Any, Any]]]:
    sanal = await started(tmp_path, clock, fake_tg, public_url=PUBLIC)
    async with TestClient(TestServer(build_web_app(sanal))) as client:
        yield sanal, client
    await sanal.stop()


async def _count(sanal: Sanal, sql: str) -> int:
    return int((await fetchall(sanal.db.reader, sql))[0][0])


# Found by this test: a button press whose message has no chat, and a message without one.
NO_CHAT_BUTTON = {
    "update_id": 0,
    "callback_query": {
        "id": "",
        "from": {"id": 0, "is_bot": False, "first_name": None},
        "chat_instance": None,
        "message": {"message_id": 0, "date": 0, "chat": None},
    },
}
NO_CHAT_MESSAGE = {
    "update_id": 1,
    "message": {"message_id": 1, "date": 0, "from": {"id": 5, "is_bot": False}, "text": "hi"},
}


@FUZZ
@given(update=updates, secret=st.sampled_from(["right", "wrong", "none"]))
@example(update=NO_CHAT_BUTTON, secret="right")
@example(update=NO_CHAT_MESSAGE, secret="right")
async def test_any_update_json_is_answered_without_a_5xx(
    hooked: tuple[Sanal, TestClient[Any, Any]], update: Any, secret: str
) -> None:
    sanal, client = hooked
    headers = {}
    if secret == "right":
        headers[SECRET_HEADER] = webhook_secret(TOKEN)
    elif secret == "wrong":
        headers[SECRET_HEADER] = "wrong-secret"
    before = await _count(sanal, "SELECT count(*) FROM inbox")
    resp = await client.post(WEBHOOK_PATH, json=update, headers=headers)
    body = await resp.text()
    assert resp.status < 500, body
    assert "Traceback" not in body
    after = await _count(sanal, "SELECT count(*) FROM inbox")
    if secret != "right":
        assert resp.status == 403
        assert after == before
    assert after - before <= 1
    event("stored" if after > before else f"not stored ({resp.status})")
    # Whatever was stored is handled, and nothing fails on the way.
    await sanal.intake.drain()
    assert await _count(sanal, "SELECT count(*) FROM inbox WHERE status != 'handled'") == 0


@pytest.mark.soak
async def test_soak_marker_runs_the_long_version() -> None:
    """`make soak` selects by marker: this keeps the file in it (with SANAL_SOAK=1 the test
    above runs its long version there too)."""
    assert (5_000 if SOAK else 200) == EXAMPLES


async def test_refused_webhooks_reach_the_audit_log_once_a_minute(
    hooked: tuple[Sanal, TestClient[Any, Any]], fake_tg: FakeTelegram, clock: ManualClock
) -> None:
    sanal, client = hooked
    update = fake_tg.message_update(4001, "/start")
    for _ in range(5):
        resp = await client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: "x"})
        assert resp.status == 403
    rows = await fetchall(
        sanal.db.reader, "SELECT channel FROM audit_log WHERE action = 'refused.webhook'"
    )
    assert len(rows) == 1
    assert rows[0]["channel"] == "telegram"
    assert await _count(sanal, "SELECT count(*) FROM inbox") == 0


__all__ = ["fake_tg"]
