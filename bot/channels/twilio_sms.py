"""Twilio SMS: signed inbound webhooks, status callbacks, outbound through the twilio library.

* Every webhook must carry a valid ``X-Twilio-Signature`` computed over the public URL that
  Twilio called (``SANAL_PUBLIC_URL`` + path), not the URL we see behind a proxy; otherwise
  403 and nothing is stored.
* ``MessageSid`` is the inbox key: Twilio's retries of one webhook are one message.
* Replies never go in the TwiML answer: they go through the outbox (paced, retried, tracked).
* The library's own retries are off: only we decide to resend, and only what was not
  accepted. After a timeout (or a crash mid-send) we first ask Twilio whether it has the
  message (see reconcile); after a 429 or a refused connection it certainly has not, and
  the message is sent again without asking. When asking fails, the sender asks again a
  few times and then settles the message (bot/core/backoff.py, CHECK_BACKOFF).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.base import ChannelHost, ConfigError, SendResult, Transport, WebhookChannel
from bot.channels.refusals import RefusalLog
from bot.core.message import Channel, Inbound
from bot.core.phone import try_normalise
from bot.core.settings import Settings
from bot.core.sms_segments import count_segments
from storage import outbox, people
from storage.db import Database
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
# Clock difference we tolerate between Twilio's timestamps and ours when reconciling.
SKEW = timedelta(minutes=2)
# How many of a number's messages since the day before a row was queued are looked at when
# reconciling it. Many: a governor gets a notice for every proposal, and a row of theirs
# left mid-send by a crash must be found among hundreds of newer ones, or it is sent again
# (tests/faults/test_kill9.py sends 300 proposals).
RECONCILE_LIMIT = 5000


class TwilioConfigError(ConfigError):
    """Twilio is chosen but not configured: raised at start, not as a 403 per request."""


def _decode_body(body: str) -> str:
    """Twilio sends text; a few relays base64 it. Decode only what is clearly that."""
    candidate = body.strip()
    if len(candidate) >= 8 and len(candidate) % 4 == 0 and " " not in candidate:
        try:
            raw = base64.b64decode(candidate, validate=True)
            text = raw.decode("utf-8")
        except (binascii.Error, ValueError):  # not base64, not ASCII, not UTF-8
            return body
        if text.isprintable() and any(ch.isalpha() for ch in text):
            return text
    return body


class TwilioChannel(WebhookChannel):
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
        self._token = settings.twilio_auth_token.get_secret_value().encode()
        self.validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
        self._transport = TwilioTransport(settings, timeout=settings.sms_timeout_seconds)
        self.refusals = RefusalLog(Channel.TWILIO.value)

    def transport(self) -> Transport:
        return self._transport

    def routes(self, app: ChannelHost) -> list[web.RouteDef]:
        self._attach(app)
        return [
            web.post("/sms/twilio", self.inbound),
            web.post("/sms/twilio/status", self.status),
        ]

    async def start(self, app: ChannelHost) -> None:
        self._attach(app)
        self._transport.db = app.db

    async def stop(self) -> None:
        await self._transport.close()

    async def _verified_form(self, request: web.Request) -> dict[str, str] | None:
        try:
            form = await request.post()
        except Exception:  # a body that is not a form: treated as unsigned
            await self._refused(request, "unreadable body")
            return None
        params = {k: v for k, v in form.items() if isinstance(v, str)}
        signature = request.headers.get("X-Twilio-Signature", "")
        url = f"{self.settings.public_url}{request.path_qs}"
        # A signature is base64, ASCII: header bytes that are not UTF-8 reach us as
        # surrogates, which made str.encode in _signed raise (a 500 with a traceback).
        if not signature or not signature.isascii() or not self._signed(url, params, signature):
            log.warning("refused a Twilio webhook with a bad or missing signature")
            await self._refused(request, "bad signature" if signature else "unsigned")
            return None
        return params

    def _signed(self, url: str, params: dict[str, str], signature: str) -> bool:
        """Twilio's signature over exactly the public URL; else the library's full check.

        The scheme (Twilio's "webhooks security" page): HMAC-SHA1, keyed with the auth token,
        of the URL followed by each parameter's name and value in name order, in base64.
        ``RequestValidator.validate`` computes it twice per webhook (the URL with and without
        a port) in general-purpose code, an eighth of a webhook's CPU at peak; the exact URL
        is what Twilio signs when SANAL_PUBLIC_URL is the one in its console, so that is
        checked first, here, and the library's check runs only when it fails. Tests sign
        with the library, so the two cannot drift apart unnoticed.
        """
        payload = url + "".join(name + params[name] for name in sorted(params))
        digest = hmac.new(self._token, payload.encode(), hashlib.sha1).digest()
        if hmac.compare_digest(base64.b64encode(digest), signature.encode()):
            return True
        return bool(self.validator.validate(url, params, signature))

    async def _refused(self, request: web.Request, reason: str) -> None:
        app = self.host
        await self.refusals.refused(app.db, app.clock.now(), reason, request.remote)

    async def inbound(self, request: web.Request) -> web.Response:
        params = await self._verified_form(request)
        if params is None:
            return web.Response(status=403, text="invalid signature")
        sid = params.get("MessageSid") or params.get("SmsSid") or ""
        phone = try_normalise(params.get("From", ""))
        if not sid or phone is None:
            # Signed but not a message we can answer (no sender): acknowledge, store nothing.
            return web.Response(text=EMPTY_TWIML, content_type="text/xml")
        app = self.host
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
        app = self.host
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
            if code == str(OPTED_OUT):
                # The receipt may come before we recorded the sid: find the person by number.
                to = try_normalise(params.get("To", ""))
                who = await people.by_phone(conn, to) if to else None
                target = person_id if person_id is not None else (who.id if who else None)
                if target is not None:
                    await people.set_opted_out(conn, target, True)
        return web.Response(status=204)


@dataclass(frozen=True, slots=True)
class _Create:
    """What every "create a message" request of this transport shares, made once from the
    twilio Client exactly as its ``messages.create_async`` makes it for each call: the
    URL, the headers, the credentials, the sender and status callback fields."""

    version: Any  # twilio.base.version.Version: checks the answer, raises its errors
    uri: str  # relative, as the library names it in its errors
    url: str
    headers: dict[str, str]
    auth: tuple[str, str]
    fields: dict[str, str]


class TwilioTransport:
    name = Channel.TWILIO.value
    concurrency = 4  # sends in flight: a messaging service allows more than one a second
    per_address_per_second: float | None = None

    def __init__(self, settings: Settings, timeout: float = 15.0) -> None:
        assert settings.twilio_auth_token is not None
        assert settings.twilio_account_sid
        self.settings = settings
        self.timeout = timeout
        self.rate_per_second = settings.twilio_rate_per_second
        self.db: Database | None = None  # set at start: reconciling skips known messages
        self._client: Client | None = None
        self._create: _Create | None = None

    @property
    def client(self) -> Client:
        """The twilio Client, made on first use (its HTTP session needs a running loop).

        The library's own retries stay off (no max_retries): only we decide to resend."""
        if self._client is None:
            token = self.settings.twilio_auth_token
            assert token is not None
            assert self.settings.twilio_account_sid
            http = AsyncTwilioHttpClient(timeout=self.timeout)
            self._client = Client(
                self.settings.twilio_account_sid, token.get_secret_value(), http_client=http
            )
            if self.settings.twilio_api_url:
                self._client.api.base_url = self.settings.twilio_api_url.rstrip("/")
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            http = self._client.http_client
            if isinstance(http, AsyncTwilioHttpClient) and http.session is not None:
                await http.session.close()

    def _request(self) -> _Create:
        """The shared part of a send, from the library's own pieces (its MessageList's
        URI and Version, its Client's headers, credentials and hostname), made once: the
        library's ``create_async`` rebuilds all of it for every message, through five
        layers of calls, about a fifth of a send's CPU at a peak."""
        if self._create is None:
            client = self.client
            messages = client.messages
            version = messages._version
            uri: str = messages._uri
            fields = {}
            if self.settings.public_url:
                fields["StatusCallback"] = f"{self.settings.public_url}/sms/twilio/status"
            if self.settings.twilio_messaging_service_sid:
                fields["MessagingServiceSid"] = self.settings.twilio_messaging_service_sid
            else:
                assert self.settings.twilio_from_number
                fields["From"] = self.settings.twilio_from_number
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            self._create = _Create(
                version=version,
                uri=uri,
                url=client.get_hostname(version.absolute_url(uri)),
                headers=client.get_headers("POST", headers),
                auth=client.get_auth(None),
                fields=fields,
            )
        return self._create

    async def _post(self, create: _Create, to: str, body: str) -> dict[str, Any]:
        """Create the message at Twilio: the library's HTTP client sends the request and
        its Version reads the answer (a refusal raises TwilioRestException as
        ``messages.create_async`` would). Returns the message's JSON."""
        response = await self.client.http_client.request(
            "POST",
            create.url,
            data={"To": to, "Body": body, **create.fields},
            headers=create.headers,
            auth=create.auth,
        )
        payload: dict[str, Any] = create.version._parse_create("POST", create.uri, response)
        return payload

    async def send(self, message: OutboxRow) -> SendResult:
        to = message.address.removeprefix("tel:")
        if message.maybe_accepted:
            found = await self._reconcile(message, to)
            if found is not None:
                return found
        # Made before the clock runs: the first one imports the library's REST modules.
        create = self._request()
        try:
            # The library's async client ignores its own timeout: we keep our own.
            async with asyncio.timeout(self.timeout):
                sent = await self._post(create, to, message.text)
        except TwilioRestException as exc:
            return _classify(exc)
        except TimeoutError as exc:  # Twilio may have it: asked before the next attempt
            return SendResult.retry(f"timeout {type(exc).__name__}")
        except aiohttp.ClientConnectorError as exc:  # refused, DNS, no route: never sent
            return SendResult.retry(f"network {type(exc).__name__}", in_doubt=False)
        except OSError as exc:  # reset or cut mid-request: Twilio may have it
            return SendResult.retry(f"network {type(exc).__name__}")
        except Exception as exc:  # other aiohttp client errors and the like
            log.warning("twilio send failed: %r", exc)
            return SendResult.retry(f"error {type(exc).__name__}")
        sid, counted = sent.get("sid"), sent.get("num_segments")
        segments = int(counted) if counted else count_segments(message.text).segments
        return SendResult.sent(str(sid) if sid is not None else None, segments)

    async def _reconcile(self, message: OutboxRow, to: str) -> SendResult | None:
        """After an error or a crash, ask Twilio whether it accepted the message anyway (a
        timeout after acceptance): if so it is sent, and must not be sent again.

        A match is a message to the same number with the same text, created after our row,
        that no other row of ours already claims (two identical replies stay two)."""
        # Twilio filters by date only; the exact bound is checked below.
        since = message.created_at - timedelta(days=1)
        try:
            async with asyncio.timeout(self.timeout):
                recent = await self.client.messages.list_async(
                    to=to, date_sent_after=since, limit=RECONCILE_LIMIT, page_size=1000
                )
        except Exception as exc:
            return SendResult.unchecked(f"twilio check {_check_error(exc)}")
        candidates = [
            m
            for m in recent
            if m.body == message.text
            and m.sid
            and (m.date_created is None or m.date_created >= message.created_at - SKEW)
        ]
        if not candidates:
            return None
        known: set[str] = set()
        if self.db is not None:
            known = await outbox.known_provider_ids(
                self.db.reader, self.name, [str(m.sid) for m in candidates]
            )
        for m in candidates:
            if m.sid not in known:
                return SendResult.sent(m.sid, int(m.num_segments or 0) or None)
        return None


def _check_error(exc: Exception) -> str:
    """What went wrong asking Twilio, in a few words without the number asked about (the
    library's messages quote the URL)."""
    if isinstance(exc, TwilioRestException):
        return f"{exc.status} {exc.code or ''}".strip()
    # A failed page of a list: TwilioException("Unable to fetch page", response).
    response = exc.args[1] if len(exc.args) > 1 else None
    status = getattr(response, "status_code", None)
    return f"{status}" if isinstance(status, int) else type(exc).__name__


def _classify(exc: TwilioRestException) -> SendResult:
    code = exc.code or 0
    if code == OPTED_OUT:
        return SendResult.opted_out(f"twilio {code}")
    if exc.status == 429 or code == 20429:  # throttled: Twilio certainly did not take it
        return SendResult.retry(f"twilio 429 {code}", in_doubt=False)
    if exc.status >= 500:
        return SendResult.retry(f"twilio {exc.status} {code}")
    if code in PERMANENT or 400 <= exc.status < 500:
        return SendResult.failed(f"twilio {exc.status} {code}")
    return SendResult.retry(f"twilio {exc.status} {code}")
