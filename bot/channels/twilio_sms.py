"""Twilio SMS: signed inbound webhooks, status callbacks, outbound through the twilio library.

* Every webhook must carry a valid ``X-Twilio-Signature`` computed over the public URL that
  Twilio called (``SANAL_PUBLIC_URL`` + path), not the URL we see behind a proxy; otherwise
  403 and nothing is stored.
* ``MessageSid`` is the inbox key: Twilio's retries of one webhook are one message.
* Replies never go in the TwiML answer: they go through the outbox (paced, retried, tracked).
* The library's own retries are off: only we decide to resend, and only what was not
  accepted. After a timeout we first ask Twilio whether it has the message (see reconcile).
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import timedelta
from typing import Any

from aiohttp import web
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.base import SendResult, Transport
from bot.message import Channel, Inbound
from bot.phone import try_normalise
from bot.settings import Settings
from bot.sms_segments import count_segments
from storage import outbox, people
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
OPTED_OUT = 21610  # "Attempt to send to unsubscribed recipient"
# Errors that will not get better by trying again (invalid number, not a mobile, blocked...).
PERMANENT = {21211, 21408, 21612, 21614, 30003, 30005, 30006, 30007}
FAILED_STATUSES = {"failed", "undelivered"}
KNOWN_STATUSES = {
    "queued",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "accepted",
    "scheduled",
    "read",
    "canceled",
}
MAX_BODY = 2000


class TwilioConfigError(RuntimeError):
    """Twilio is chosen but not configured: raised at start, not as a 403 per request."""


def _decode_body(body: str) -> str:
    """Twilio sends text; a few relays base64 it. Decode only what is clearly that."""
    candidate = body.strip()
    if len(candidate) >= 8 and len(candidate) % 4 == 0 and " " not in candidate:
        try:
            raw = base64.b64decode(candidate, validate=True)
            text = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return body
        if text.isprintable() and any(ch.isalpha() for ch in text):
            return text
    return body


class TwilioChannel:
    """The Twilio plugin: webhook routes and the outbound transport."""

    def __init__(self, settings: Settings) -> None:
        if settings.twilio_auth_token is None or not settings.twilio_account_sid:
            raise TwilioConfigError(
                "Twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN: without the token no "
                "webhook can be verified"
            )
        if not settings.public_url:
            raise TwilioConfigError("Twilio needs SANAL_PUBLIC_URL: the address Twilio calls")
        if not (settings.twilio_from_number or settings.twilio_messaging_service_sid):
            raise TwilioConfigError(
                "Twilio needs TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID to send"
            )
        self.settings = settings
        self.validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
        self._transport = TwilioTransport(settings)
        self._app: Any = None

    def transport(self) -> Transport:
        return self._transport

    def routes(self, app: Any) -> list[web.RouteDef]:
        self._app = app
        return [
            web.post("/sms/twilio", self.inbound),
            web.post("/sms/twilio/status", self.status),
        ]

    async def start(self, app: Any) -> None:
        self._app = app

    async def stop(self) -> None:
        await self._transport.close()

    async def _verified_form(self, request: web.Request) -> dict[str, str] | None:
        try:
            form = await request.post()
        except Exception:  # a body that is not a form: treated as unsigned
            return None
        params = {k: v for k, v in form.items() if isinstance(v, str)}
        signature = request.headers.get("X-Twilio-Signature", "")
        url = f"{self.settings.public_url}{request.path_qs}"
        if not signature or not self.validator.validate(url, params, signature):
            log.warning("refused a Twilio webhook with a bad or missing signature")
            return None
        return params

    async def inbound(self, request: web.Request) -> web.Response:
        params = await self._verified_form(request)
        if params is None:
            return web.Response(status=403, text="invalid signature")
        sid = params.get("MessageSid") or params.get("SmsSid") or ""
        phone = try_normalise(params.get("From", ""))
        if not sid or phone is None:
            # Signed but not a message we can answer (no sender): acknowledge, store nothing.
            return web.Response(text=EMPTY_TWIML, content_type="text/xml")
        app = self._app
        msg = Inbound(
            channel=Channel.TWILIO,
            external_id=sid,
            address=f"tel:{phone}",
            text=_decode_body(params.get("Body", ""))[:MAX_BODY],
            received_at=app.clock.now(),
            phone=phone,
        )
        await app.intake.receive(msg)
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    async def status(self, request: web.Request) -> web.Response:
        params = await self._verified_form(request)
        if params is None:
            return web.Response(status=403, text="invalid signature")
        sid = params.get("MessageSid", "")
        status = params.get("MessageStatus", "")
        code = params.get("ErrorCode") or None
        if not sid or status not in KNOWN_STATUSES:
            return web.Response(status=204)
        app = self._app
        # Only final states change our row; "sent" after "delivered" must not undo it.
        mapped = {
            "delivered": "delivered",
            "undelivered": "undelivered",
            "failed": "failed",
            "read": "delivered",
        }.get(status)
        if mapped is None:
            return web.Response(status=204)
        async with app.db.write() as conn:
            person_id = await outbox.update_by_provider_id(
                conn, Channel.TWILIO.value, sid, mapped, f"twilio {code}" if code else None
            )
            if code == str(OPTED_OUT) and person_id is not None:
                await people.set_opted_out(conn, person_id, True)
        return web.Response(status=204)


class TwilioTransport:
    name = Channel.TWILIO.value
    per_address_per_second: float | None = None

    def __init__(self, settings: Settings, timeout: float = 15.0) -> None:
        assert settings.twilio_auth_token is not None and settings.twilio_account_sid
        self.settings = settings
        self.rate_per_second = settings.twilio_rate_per_second
        self._http = AsyncTwilioHttpClient(timeout=timeout)  # max_retries off: we retry
        self.client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            http_client=self._http,
        )
        if settings.twilio_api_url:
            self.client.api.base_url = settings.twilio_api_url.rstrip("/")

    async def close(self) -> None:
        if self._http.session is not None:
            await self._http.session.close()

    def _sender(self) -> dict[str, str]:
        if self.settings.twilio_messaging_service_sid:
            return {"messaging_service_sid": self.settings.twilio_messaging_service_sid}
        assert self.settings.twilio_from_number
        return {"from_": self.settings.twilio_from_number}

    async def send(self, message: OutboxRow) -> SendResult:
        to = message.address.removeprefix("tel:")
        if message.error_count:
            found = await self._reconcile(message, to)
            if found is not None:
                return found
        callback = (
            f"{self.settings.public_url}/sms/twilio/status" if self.settings.public_url else None
        )
        try:
            sent = await self.client.messages.create_async(
                to=to, body=message.text, status_callback=callback, **self._sender()
            )
        except TwilioRestException as exc:
            return _classify(exc)
        except TimeoutError as exc:
            return SendResult.retry(f"timeout {type(exc).__name__}")
        except OSError as exc:  # connection refused, reset, DNS: not accepted
            return SendResult.retry(f"network {type(exc).__name__}")
        except Exception as exc:  # aiohttp client errors and the like
            return SendResult.retry(f"error {type(exc).__name__}")
        segments = (
            int(sent.num_segments) if sent.num_segments else count_segments(message.text).segments
        )
        return SendResult.sent(sent.sid, segments)

    async def _reconcile(self, message: OutboxRow, to: str) -> SendResult | None:
        """After an error, ask Twilio whether it accepted the message anyway (a timeout after
        acceptance): if so it is sent, and must not be sent again."""
        try:
            recent = await self.client.messages.list_async(
                to=to, date_sent_after=message.created_at - timedelta(days=1), limit=50
            )
        except Exception as exc:
            return SendResult.retry(f"reconcile {type(exc).__name__}")
        for m in recent:
            if m.body == message.text:
                return SendResult.sent(m.sid, int(m.num_segments or 0) or None)
        return None


def _classify(exc: TwilioRestException) -> SendResult:
    code = exc.code or 0
    if code == OPTED_OUT:
        return SendResult.opted_out(f"twilio {code}")
    if exc.status == 429 or code == 20429:
        return SendResult.retry(f"twilio 429 {code}")
    if exc.status >= 500:
        return SendResult.retry(f"twilio {exc.status} {code}")
    if code in PERMANENT or 400 <= exc.status < 500:
        return SendResult.failed(f"twilio {exc.status} {code}")
    return SendResult.retry(f"twilio {exc.status} {code}")
