"""Random and malformed webhooks: never a 5xx, never a traceback, nothing stored that
should not be.

Twilio form bodies (signed with the real token or not, random keys and values, huge
values, bytes that are not UTF-8, wrong content types), Twilio status callbacks, and the
Android gateway's JSON events (signed, unsigned, stale, any JSON at all). After each
request: at most one new inbox row, and only for a validly signed message with a sender
and an id; whatever was stored is then handled with exactly one reply and no failure.

`make test` runs 200 examples of each; `make soak` 20,000 (SANAL_SOAK=1).
"""

from __future__ import annotations

import io
import json
import os
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import hypothesis
import pytest
from aiohttp import FormData
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.channels.android_sms import signature as android_signature
from bot.core.phone import try_normalise
from storage.db import fetchall
from tests import suite_backend
from tests.channels.conftest import PUBLIC, SIGNING_KEY, SmsWorld, fake_gateway, fake_twilio, world

SOAK = os.environ.get("SANAL_SOAK") == "1"
FAST = 200
LONG = 20_000 if SOAK else FAST
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

senders = st.one_of(
    st.sampled_from(["+97699112233", "99112233", "+976 8811 2233", "+97695001122"]),
    st.sampled_from(["+15005550006", "1234", "", "+", "tel:", "+976", "0" * 40]),
    st.text(max_size=30),
)
sids = st.one_of(
    st.just(""),
    st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True),
    st.text(max_size=60),
)


class Huge(str):
    """A very long value, shown short in Hypothesis' reports."""

    def __repr__(self) -> str:
        return f"Huge({self[:1]!r} * {len(self)})"


texts = st.one_of(
    st.sampled_from(["НЭГДЭХ 644651", "СОНГО 1 2", "ТУСЛАМЖ", "ХААХ", "НЭЭХ", ""]),
    st.text(max_size=300),
    # Huge: far past the SMS limit, up to the web server's body limit and beyond it.
    st.builds(
        lambda ch, n: Huge(ch * n), st.characters(codec="utf-8"), st.integers(1_000, 400_000)
    ),
)
twilio_keys = st.sampled_from(
    ["MessageSid", "SmsSid", "From", "To", "Body", "AccountSid", "NumMedia", "MessageStatus"]
)
forms = st.builds(
    lambda known, extra: {**extra, **known},
    st.one_of(
        # Shaped like Twilio's (a sender, an id, a text), with any values in them...
        st.fixed_dictionaries({"MessageSid": sids, "From": senders, "Body": texts}),
        # ...or with any of those fields missing.
        st.fixed_dictionaries(
            {}, optional={"MessageSid": sids, "SmsSid": sids, "From": senders, "Body": texts}
        ),
    ),
    st.dictionaries(st.one_of(twilio_keys, st.text(max_size=20)), st.text(max_size=80), max_size=8),
)
# Half the requests validly signed, so that the signed paths get their share.
signing = st.sampled_from(["valid"] * 4 + ["none", "garbage", "other-url", "latin-1"])
# How the body travels: as a form (what Twilio sends), or as something else entirely.
shapes = st.sampled_from(["form", "form", "form", "multipart", "json", "raw", "bad-utf8"])


async def _last_id(world: SmsWorld) -> int:
    rows = await fetchall(world.sanal.db.reader, "SELECT coalesce(max(id), 0) AS n FROM inbox")
    return int(rows[0]["n"])


async def _inbox_after(world: SmsWorld, last: int) -> list[dict[str, Any]]:
    rows = await fetchall(
        world.sanal.db.reader, "SELECT * FROM inbox WHERE id > ? ORDER BY id", (last,)
    )
    return [dict(r) for r in rows]


async def _known(world: SmsWorld, channel: str, external_id: str) -> bool:
    rows = await fetchall(
        world.sanal.db.reader,
        "SELECT 1 FROM inbox WHERE channel = ? AND external_id = ?",
        (channel, external_id),
    )
    return bool(rows)


async def _snapshot(world: SmsWorld) -> list[Any]:
    """Everything a webhook could change, besides the inbox."""
    db = world.sanal.db.reader
    out: list[Any] = []
    for table in ("people", "outbox", "provider_receipts", "proposals", "ballot_choices"):
        out.append([tuple(r) for r in await fetchall(db, f"SELECT * FROM {table} ORDER BY 1")])
    return out


def _no_failure(status: int, body: str) -> None:
    assert status < 500, (status, body[:300])
    assert "Traceback" not in body, body[:300]
    assert 'File "' not in body, body[:300]


async def _handled_once(world: SmsWorld, before: int) -> None:
    """Whatever was stored is handled: one reply each, none failed."""
    await world.handle()
    rows = await fetchall(
        world.sanal.db.reader,
        "SELECT i.id, i.status, (SELECT count(*) FROM outbox o WHERE o.inbox_id = i.id "
        "AND o.kind = 'reply') AS replies FROM inbox i WHERE i.id > ?",
        (before,),
    )
    for r in rows:
        assert r["status"] == "handled", dict(r)
        assert r["replies"] <= 1, dict(r)


async def _post_twilio(
    world: SmsWorld, path: str, form: dict[str, str], sign: str, shape: str
) -> tuple[int, str]:
    headers: dict[str, str] = {}
    url = PUBLIC + path
    if sign == "valid":
        headers["X-Twilio-Signature"] = world.validator.compute_signature(url, form)
    elif sign == "other-url":
        headers["X-Twilio-Signature"] = world.validator.compute_signature(url + "x", form)
    elif sign == "garbage":
        headers["X-Twilio-Signature"] = "bm90IGEgc2lnbmF0dXJl"
    elif sign == "latin-1":  # a header value that is not ASCII
        headers["X-Twilio-Signature"] = "sïgnätüré=="
    data: Any
    # aiohttp's client writes multipart fields only with printable ASCII names, and warns
    # about large ones (a test failure here): those go as a plain form instead.
    plain_keys = all(k.isascii() and k.isprintable() and '"' not in k for k in form)
    multipart_ok = plain_keys and sum(len(k) + len(v) for k, v in form.items()) < 50_000
    if shape == "form" or (shape == "multipart" and not multipart_ok):
        # Encoded here: aiohttp's client refuses field names with control characters.
        data = io.BytesIO(urlencode(form).encode())
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif shape == "multipart":
        data = FormData(default_to_multipart=True)
        for k, v in form.items():
            data.add_field(k, str(v))  # a plain str: aiohttp refuses subclasses
    elif shape == "json":
        data = io.BytesIO(json.dumps(form).encode())
        headers["Content-Type"] = "application/json"
    elif shape == "raw":
        data = io.BytesIO(urlencode(form).encode())
        headers["Content-Type"] = "text/plain; charset=utf-8"
    else:  # a form whose bytes are not UTF-8
        data = io.BytesIO(urlencode(form).encode() + b"&Body=\xff\xfe\xc3\x28")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    resp = await world.client.post(path, data=data, headers=headers)
    return resp.status, await resp.text()


def _empty(form: dict[str, str]) -> bool:
    """Signs like no fields at all (Twilio's signature is the URL then each key and value)."""
    return "".join(k + v for k, v in form.items()) == ""


def _expected_sid(form: dict[str, str]) -> str:
    return form.get("MessageSid") or form.get("SmsSid") or ""


async def twilio_inbound_case(world: SmsWorld, form: dict[str, str], sign: str, shape: str) -> None:
    last = await _last_id(world)
    status, body = await _post_twilio(world, "/sms/twilio", form, sign, shape)
    _no_failure(status, body)
    new = await _inbox_after(world, last)
    assert len(new) <= 1
    sid, phone = _expected_sid(form), try_normalise(form.get("From", ""))
    # The signature covers the form's fields: a body the server does not read as a form
    # (JSON, plain text) has none: it is signed only if the form added nothing to the signature.
    signed = sign == "valid" and (shape in ("form", "multipart") or _empty(form))
    small = len(urlencode(form)) < 512 * 1024  # well under the server's 1 MB in any shape
    hypothesis.event("twilio: stored" if new else f"twilio: {status}")
    if new:
        # Stored: it was signed, and carried an id and a sender we can answer.
        assert signed, (sign, shape, form.keys())
        assert sid, (sign, shape, form.keys())
        assert phone is not None, (sign, shape, form.keys())
        assert new[0]["external_id"] == suite_backend.stored_text(sid)
        assert new[0]["address"] == f"tel:{phone}"
    elif signed and small and sid and phone is not None:
        # Not stored only because we have it already (the same MessageSid: Twilio's retry).
        assert await _known(world, "twilio", sid)
    if not signed:
        assert status == 403
    await _handled_once(world, last)


@given(form=forms, sign=signing, shape=shapes)
# A NUL in a signed id: PostgreSQL stores it as U+FFFD (found by this test on that pass).
@example(
    form={"MessageSid": "SM\x00a", "From": "+97699112233", "Body": "НЭГДЭХ 644651"},
    sign="valid",
    shape="form",
)
@settings(FUZZ, max_examples=FAST)
async def test_twilio_webhooks_never_fail_or_store_the_unsigned(
    world: SmsWorld, form: dict[str, str], sign: str, shape: str
) -> None:
    await twilio_inbound_case(world, form, sign, shape)


@pytest.mark.soak
@given(form=forms, sign=signing, shape=shapes)
@settings(FUZZ, max_examples=LONG)
async def test_twilio_webhooks_soak(
    world: SmsWorld, form: dict[str, str], sign: str, shape: str
) -> None:
    await twilio_inbound_case(world, form, sign, shape)


statuses = st.one_of(
    st.sampled_from(["queued", "sent", "delivered", "undelivered", "failed", "read"]),
    st.text(max_size=20),
)
callbacks = st.builds(
    lambda known, extra: {**extra, **known},
    st.fixed_dictionaries(
        {},
        optional={
            "MessageSid": sids,
            "MessageStatus": statuses,
            "ErrorCode": st.one_of(st.sampled_from(["21610", "30003", ""]), st.text(max_size=8)),
            "To": senders,
        },
    ),
    st.dictionaries(st.text(max_size=20), st.text(max_size=80), max_size=5),
)


@given(form=callbacks, sign=signing, shape=shapes)
@settings(FUZZ, max_examples=FAST)
async def test_twilio_status_callbacks_never_fail_or_change_anything_unsigned(
    world: SmsWorld, form: dict[str, str], sign: str, shape: str
) -> None:
    before = await _snapshot(world)
    status, body = await _post_twilio(world, "/sms/twilio/status", form, sign, shape)
    _no_failure(status, body)
    if sign != "valid" or not (shape in ("form", "multipart") or _empty(form)):
        assert status == 403
        assert await _snapshot(world) == before


# Any JSON at all, and events shaped like the gateway's with wrong types inside.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=8,
)
payloads = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "message": st.one_of(texts, json_values),
            "phoneNumber": st.one_of(senders, json_values),
            "receivedAt": st.one_of(st.text(max_size=30), json_values),
            "messageId": st.one_of(st.text(max_size=30), json_values),
            "reason": json_values,
        },
    ),
    json_values,
)
events = st.one_of(
    # A received SMS as the gateway sends it, with any text from any sender.
    st.builds(
        lambda text, number, extra: {
            "event": "sms:received",
            "payload": {"message": text, "phoneNumber": number, **extra},
        },
        texts,
        senders,
        st.fixed_dictionaries({}, optional={"receivedAt": st.text(max_size=30)}),
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "event": st.one_of(
                st.sampled_from(
                    ["sms:received", "sms:sent", "sms:delivered", "sms:failed", "system:ping"]
                ),
                json_values,
            ),
            "payload": payloads,
            "id": json_values,
            "deviceId": json_values,
        },
    ),
    json_values,
)
stamps = st.sampled_from(["now"] * 6 + ["stale", "future", "missing", "garbage", "unicode", "long"])
keys = st.sampled_from(["valid"] * 3 + ["none", "wrong", "latin-1"])


async def android_case(
    world: SmsWorld, event: Any, key: str, stamp: str, raw: bytes | None
) -> None:
    # Past the gateway dedupe window: the same sender and text again is a new message.
    world.clock.advance(timedelta(seconds=world.sanal.settings.android_dedupe_seconds + 1))
    body = raw if raw is not None else json.dumps(event, ensure_ascii=False).encode()
    now = int(world.clock.now().timestamp())
    ts = {
        "now": str(now),
        "stale": str(now - 3600),
        "future": str(now + 3600),
        "missing": "",
        "garbage": "yesterday",
        "unicode": "١٧٠٠٠٠٠٠٠٠",  # digits, but not ASCII ones
        "long": "9" * 5000,
    }[stamp]
    headers = {"Content-Type": "application/json"}
    if ts:
        headers["X-Timestamp"] = ts
    if key == "valid":
        headers["X-Signature"] = android_signature(SIGNING_KEY, body, ts)
    elif key == "wrong":
        headers["X-Signature"] = android_signature("not-the-key", body, ts)
    elif key == "latin-1":
        headers["X-Signature"] = "é" * 64
    last = await _last_id(world)
    resp = await world.client.post("/sms/android", data=io.BytesIO(body), headers=headers)
    text = await resp.text()
    _no_failure(resp.status, text)
    new = await _inbox_after(world, last)
    assert len(new) <= 1
    hypothesis.event("android: stored" if new else f"android: {resp.status}")
    fresh = key == "valid" and stamp == "now" and len(body) <= 64 * 1024
    if new:
        payload = event.get("payload") if isinstance(event, dict) else None
        assert fresh
        assert raw is None
        assert event.get("event") == "sms:received"
        assert isinstance(payload, dict)
        assert isinstance(payload.get("message"), str)
        phone = try_normalise(payload.get("phoneNumber"))  # type: ignore[arg-type]
        assert phone is not None
        assert new[0]["address"] == f"tel:{phone}"
    if not fresh and len(body) <= 64 * 1024:
        assert resp.status == 403
    await _handled_once(world, last)


raws = st.one_of(
    st.none(),
    st.none(),
    st.none(),
    st.none(),
    st.binary(max_size=200),
    st.builds(lambda n: b"[" * n, st.integers(1, 100_000)),  # deep nesting, or too large
)


@given(event=events, key=keys, stamp=stamps, raw=raws)
@settings(FUZZ, max_examples=FAST)
async def test_android_webhooks_never_fail_or_store_the_unsigned(
    world: SmsWorld, event: Any, key: str, stamp: str, raw: bytes | None
) -> None:
    await android_case(world, event, key, stamp, raw)


@pytest.mark.soak
@given(event=events, key=keys, stamp=stamps, raw=raws)
@settings(FUZZ, max_examples=LONG)
async def test_android_webhooks_soak(
    world: SmsWorld, event: Any, key: str, stamp: str, raw: bytes | None
) -> None:
    await android_case(world, event, key, stamp, raw)


__all__ = ["fake_gateway", "fake_twilio", "world"]
