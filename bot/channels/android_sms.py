"""An Android phone with a local SIM as the SMS gateway ("SMS Gateway for Android").

Twilio may not offer two-way SMS with Mongolian numbers, so a soum can put a cheap phone
with a local SIM on its Wi-Fi and run the open-source gateway app on it.

* Inbound: the app posts JSON webhooks (``sms:received``, and ``sms:sent``,
  ``sms:delivered``, ``sms:failed`` for our own messages). Each is signed: hex
  HMAC-SHA256 of the raw body followed by the ``X-Timestamp`` value, in ``X-Signature``.
  A bad or stale signature is refused with 403 and nothing is stored.
* The app's ``messageId`` for received SMS is derived from the content and is not unique,
  and the app retries a webhook for up to two days. A message is therefore keyed on the
  sender, the text and the phone's reception time; the same sender and text again within
  ``android_dedupe_seconds`` is also taken as the same message.
* Outbound: through the app's own client (bot/channels/android_gateway.py), ``POST
  /messages`` with our own message id (``sanal-<outbox id>``), so a retry after a timeout
  cannot make the phone send twice: we first ask the gateway for that id, and it refuses a
  second message with an id it already has. The client also registers these webhooks
  (`sanal gateway register`); their signature is checked here, by us.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.channels import json_body
from bot.channels.android_gateway import WEBHOOK_PATH, AndroidTransport
from bot.channels.base import ChannelHost, ConfigError, Transport, WebhookChannel
from bot.channels.refusals import RefusalLog
from bot.core.message import Channel, Inbound
from bot.core.phone import try_normalise
from bot.core.settings import Settings
from storage import inbox, outbox
from storage.ballots import BallotKey

log = logging.getLogger(__name__)

MAX_BODY = 2000
MAX_WEBHOOK_BYTES = 64 * 1024
# Signed webhooks older or newer than this are replays (the gateway's documented advice).
MAX_SKEW = timedelta(minutes=5)
STATUS_EVENTS = {"sms:sent": "sent", "sms:delivered": "delivered", "sms:failed": "failed"}


class AndroidConfigError(ConfigError):
    """The Android gateway is chosen but not configured: raised at start."""


def signature(key: str, body: bytes, timestamp: str) -> str:
    """The gateway's signature: hex HMAC-SHA256 over the raw body, then the timestamp."""
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def message_key(key: BallotKey, phone: str, text: str, received_at: str) -> str:
    """A stable inbox key for one received SMS, whichever retry of the webhook brings it.

    Keyed: the key stays in the inbox after a vote's text is sealed, and a plain hash of
    phone, text and time would give the vote back to anyone trying the few short texts a
    vote can be (ballot secrecy, handlers/secrecy.py)."""
    return f"and-{key.fingerprint('android', phone, text, received_at)}"


class AndroidChannel(WebhookChannel):
    """The Android gateway plugin: its webhook and its outbound transport."""

    def __init__(self, settings: Settings) -> None:
        if not settings.android_gateway_url:
            raise AndroidConfigError("the Android gateway needs SANAL_ANDROID_GATEWAY_URL")
        if not settings.android_gateway_user or settings.android_gateway_password is None:
            raise AndroidConfigError(
                "the Android gateway needs SANAL_ANDROID_GATEWAY_USER and _PASSWORD "
                "(shown on the app's Home tab)"
            )
        if settings.android_signing_key is None and not settings.android_allow_unsigned:
            raise AndroidConfigError(
                "set SANAL_ANDROID_SIGNING_KEY (the app's Settings > Webhooks > Signing Key): "
                "without it anyone could post messages as any phone. "
                "SANAL_ANDROID_ALLOW_UNSIGNED=true accepts that risk on a closed network."
            )
        self.settings = settings
        self.key = (
            settings.android_signing_key.get_secret_value()
            if settings.android_signing_key is not None
            else None
        )
        self._transport = AndroidTransport(settings)
        self.refusals = RefusalLog(Channel.ANDROID.value)

    def transport(self) -> Transport:
        return self._transport

    def routes(self, app: ChannelHost) -> list[web.RouteDef]:
        self._attach(app)
        return [web.post(WEBHOOK_PATH, self.webhook)]

    async def start(self, app: ChannelHost) -> None:
        self._attach(app)

    async def stop(self) -> None:
        await self._transport.close()

    def _refusal(self, body: bytes, headers: Any) -> str | None:
        """Why a webhook is refused, or None when it is signed and fresh."""
        if self.key is None:
            return None
        sig = headers.get("X-Signature", "")
        stamp = headers.get("X-Timestamp", "")
        if not sig or not stamp:
            return "unsigned"
        # ASCII only, and a sane length: compare_digest raises on non-ASCII text, and int()
        # on "²" or on 5,000 digits, which would make a forged header a 500, not a 403.
        if not sig.isascii() or not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
            return "bad signature"
        if not hmac.compare_digest(signature(self.key, body, stamp), sig.lower()):
            return "bad signature"
        now: float = self.host.clock.now().timestamp()
        if abs(now - int(stamp)) > MAX_SKEW.total_seconds():
            return "stale timestamp"  # a replay of a genuine webhook
        return None

    async def webhook(self, request: web.Request) -> web.Response:
        app = self.host
        try:
            # Read to the end: one read() returned only what had arrived, and a long body
            # in several packets then failed its signature.
            body = await json_body.read_bytes(request, MAX_WEBHOOK_BYTES)
        except json_body.BadBody as bad:
            await self.refusals.refused(app.db, app.clock.now(), bad.reason, request.remote)
            return web.Response(status=bad.status, text="too large")
        refusal = self._refusal(body, request.headers)
        if refusal is not None:
            log.warning("refused an Android gateway webhook: %s", refusal)
            await self.refusals.refused(app.db, app.clock.now(), refusal, request.remote)
            return web.Response(status=403, text="invalid signature")
        try:
            event = json_body.parse_object(body)
        except json_body.BadBody as bad:  # not UTF-8, not JSON, nested too deep
            await self.refusals.refused(app.db, app.clock.now(), bad.reason, request.remote)
            return web.Response(status=400, text=f"body must be a JSON object ({bad.reason})")
        if not isinstance(event.get("payload"), dict):
            return web.Response(status=400, text="an event with a payload is expected")
        name, payload = event.get("event"), event["payload"]
        if name == "sms:received":
            return await self._received(payload)
        # (a list or dict as the event name is unhashable: a lookup would be a 500)
        if isinstance(name, str) and name in STATUS_EVENTS:
            return await self._status(STATUS_EVENTS[name], payload)
        return web.Response(status=204)  # system:ping and events we do not use

    async def _received(self, payload: dict[str, Any]) -> web.Response:
        text, number = payload.get("message"), payload.get("phoneNumber")
        if not isinstance(text, str) or not isinstance(number, str):
            return web.Response(status=400, text="message and phoneNumber are expected")
        phone = try_normalise(number)
        if phone is None:  # a short code or an operator's service message: nobody to answer
            return web.Response(status=204)
        app = self.host
        now = app.clock.now()
        text = text[:MAX_BODY]
        address = f"tel:{phone}"
        window = timedelta(seconds=self.settings.android_dedupe_seconds)
        key: BallotKey = app.ballot_key
        # A sealed vote is recognised by the fingerprint the router kept (Router._seal).
        fingerprint = key.fingerprint(Channel.ANDROID.value, address, text)
        if window and await inbox.seen_recently(
            app.db.reader, Channel.ANDROID.value, address, text, now - window, fingerprint
        ):
            return web.Response(status=204)
        received = payload.get("receivedAt")
        msg = Inbound(
            channel=Channel.ANDROID,
            external_id=message_key(key, phone, text, str(received or now.isoformat())),
            address=address,
            text=text,
            received_at=now,
            phone=phone,
        )
        await app.intake.receive(msg)
        return web.Response(status=204)

    async def _status(self, status: str, payload: dict[str, Any]) -> web.Response:
        message_id = payload.get("messageId")
        if not isinstance(message_id, str) or not message_id:
            return web.Response(status=204)
        reason = payload.get("reason")
        async with self.host.db.write() as conn:
            await outbox.update_by_provider_id(
                conn,
                Channel.ANDROID.value,
                message_id,
                status,
                f"android {reason}"[:200] if status == "failed" and reason else None,
            )
        return web.Response(status=204)
