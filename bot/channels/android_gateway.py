"""The Android gateway's REST API through the app's own Python client (`android-sms-gateway`).

The client (AsyncAPIClient on our aiohttp session) builds the requests and reads the
answers: ``POST /messages`` to send, ``GET /messages/{id}`` to ask about a message,
``GET``/``POST /webhooks`` and ``DELETE /webhooks/{id}`` to register where the phone posts
what it receives. The same paths serve the app's local server (app 1.28 or newer) and its
cloud or private server (``.../3rdparty/v1``), so ``SANAL_ANDROID_GATEWAY_URL`` may be
either. What stays ours: the outbox's rules (our own message id, so that a retry after a
timeout cannot send twice; which failures are retried and which are in doubt) and the
signature check of incoming webhooks (bot/channels/android_sms.py).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from android_sms_gateway import AsyncAPIClient, Message, TextMessage, Webhook, WebhookEvent
from android_sms_gateway.ahttp import AiohttpAsyncHttpClient
from android_sms_gateway.errors import APIError

from bot.channels.base import SendResult
from bot.core.message import Channel
from bot.core.settings import Settings
from bot.core.sms_segments import count_segments
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)

# Message states the gateway reports for a message it has and has not given up on.
LIVE_STATES = {"Pending", "Processed", "Sent", "Delivered"}
# The events Sanal takes: what people text in, and what became of our own messages.
WEBHOOK_EVENTS = ("sms:received", "sms:sent", "sms:delivered", "sms:failed")
WEBHOOK_PATH = "/sms/android"


def webhook_id(event: str) -> str:
    """Our own id per event: registering again replaces it (the gateway upserts by id)."""
    return "sanal-" + event.replace(":", "-")


class GatewayAPI:
    """The app's client on one aiohttp session with Sanal's timeout."""

    def __init__(self, settings: Settings) -> None:
        if not settings.android_gateway_url or settings.android_gateway_password is None:
            raise ValueError("the Android gateway needs its URL and password")
        self.base = settings.android_gateway_url.rstrip("/")
        self._login = settings.android_gateway_user or ""
        self._password = settings.android_gateway_password.get_secret_value()
        self._timeout = aiohttp.ClientTimeout(total=settings.sms_timeout_seconds)
        self._session: aiohttp.ClientSession | None = None
        self._client: Any = None

    def client(self) -> Any:
        """The AsyncAPIClient (untyped library), made on first use and after a close."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._client = AsyncAPIClient(
                self._login,
                self._password,
                base_url=self.base,
                http_client=AiohttpAsyncHttpClient(self._session),
            )
        return self._client

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class AndroidTransport:
    name = Channel.ANDROID.value
    per_address_per_second: float | None = None

    def __init__(self, settings: Settings) -> None:
        self.api = GatewayAPI(settings)
        self.base = self.api.base
        self.rate_per_second = settings.android_rate_per_second

    async def close(self) -> None:
        await self.api.close()

    async def send(self, message: OutboxRow) -> SendResult:
        message_id = f"sanal-{message.id}"
        segments = count_segments(message.text).segments
        if message.maybe_accepted:
            known = await self._known(message_id)
            if known is None:
                return SendResult.unchecked("android reconcile failed")
            if known:
                return SendResult.sent(message_id, segments)
        sms = Message(
            id=message_id,
            phone_numbers=[message.address.removeprefix("tel:")],
            text_message=TextMessage(message.text),
            with_delivery_report=True,
        )
        try:
            await self.api.client().send(sms)
        except TimeoutError:
            return SendResult.retry("android timeout")
        except aiohttp.ClientConnectorError as exc:  # refused, no route: never sent
            return SendResult.retry(f"android network {type(exc).__name__}", in_doubt=False)
        except aiohttp.ClientError as exc:
            return SendResult.retry(f"android network {type(exc).__name__}")
        except APIError as exc:
            return self._refused(exc, message_id, segments)
        except (KeyError, TypeError, ValueError):
            # A 2xx whose body the client cannot read: the gateway took the message.
            log.warning("the Android gateway accepted a message with an unreadable answer")
        return SendResult.sent(message_id, segments)

    def _refused(self, exc: APIError, message_id: str, segments: int) -> SendResult:
        status = exc.status_code or 0
        if status == 409:  # the gateway already has this id: it was accepted before
            return SendResult.sent(message_id, segments)
        if status == 429:
            return SendResult.retry(f"android {status}", in_doubt=False)
        if status >= 500:
            return SendResult.retry(f"android {status}")
        if status in (401, 403):  # wrong user or password: retry, an operator must fix it
            log.error("the Android gateway refused our credentials (%s)", status)
            return SendResult.retry(f"android {status} credentials", in_doubt=False)
        if status == 404:  # no /messages there: a wrong URL or an app older than 1.28
            log.error(
                "the Android gateway at %s has no /messages: check SANAL_ANDROID_GATEWAY_URL "
                "(the app 1.28 or newer)",
                self.base,
            )
            return SendResult.retry(f"android {status} wrong URL", in_doubt=False)
        return SendResult.failed(f"android {status} {_detail(exc)}"[:200])

    async def _known(self, message_id: str) -> bool | None:
        """Does the gateway have this message (and not failed it)? None: cannot tell."""
        try:
            state = await self.api.client().get_state(message_id)
        except APIError as exc:
            return False if exc.status_code == 404 else None
        except (TimeoutError, aiohttp.ClientError, json.JSONDecodeError, KeyError, ValueError):
            return None
        return bool(state.state.value in LIVE_STATES)


def _detail(exc: APIError) -> str:
    body = exc.response if isinstance(exc.response, dict) else {}
    return str(body.get("message") or exc)


# --- Registering the webhooks (`sanal gateway register`) ---------------------------------


class GatewayError(Exception):
    """The gateway could not be reached or refused: the message is the operator's line."""


@dataclass
class Registration:
    url: str
    events: list[str]
    removed: list[str] = field(default_factory=list)  # duplicates of ours, by other ids
    others: list[str] = field(default_factory=list)  # other webhooks, left alone


async def registered(settings: Settings) -> list[Any]:
    """The webhooks the gateway has (the client's Webhook objects)."""
    api = GatewayAPI(settings)
    try:
        return list(await _call(api, api.client().get_webhooks()))
    finally:
        await api.close()


async def register(settings: Settings, public_url: str) -> Registration:
    """Point the gateway's webhooks at ``public_url`` + /sms/android, one per event under
    our own ids (so running it again, or from a new address, replaces them), and remove
    copies of them under other ids (a hand-made registration would deliver twice)."""
    url = public_url.rstrip("/") + WEBHOOK_PATH
    done = Registration(url, list(WEBHOOK_EVENTS))
    api = GatewayAPI(settings)
    try:
        client = api.client()
        ours = {webhook_id(e) for e in WEBHOOK_EVENTS}
        for hook in await _call(api, client.get_webhooks()):
            if hook.id in ours:
                continue
            if hook.url == url and hook.event.value in WEBHOOK_EVENTS:
                await _call(api, client.delete_webhook(hook.id))
                done.removed.append(f"{hook.event.value} {hook.id}")
            else:
                done.others.append(f"{hook.event.value} {hook.url}")
        for event in WEBHOOK_EVENTS:
            await _call(
                api,
                client.create_webhook(
                    Webhook(id=webhook_id(event), url=url, event=WebhookEvent(event))
                ),
            )
    finally:
        await api.close()
    return done


async def _call(api: GatewayAPI, request: Any) -> Any:
    """One request to the gateway; its failures as the one line an operator reads."""
    try:
        return await request
    except TimeoutError:
        raise GatewayError(f"no answer from the Android gateway at {api.base}") from None
    except aiohttp.ClientConnectorError as exc:
        raise GatewayError(
            f"cannot reach the Android gateway at {api.base} ({exc.os_error.strerror or exc}): "
            "is the app's server on, and SANAL_ANDROID_GATEWAY_URL its address?"
        ) from None
    except aiohttp.ClientError as exc:
        raise GatewayError(f"the Android gateway at {api.base}: {type(exc).__name__}") from None
    except APIError as exc:
        status = exc.status_code
        if status in (401, 403):
            raise GatewayError(
                f"the Android gateway refused SANAL_ANDROID_GATEWAY_USER and _PASSWORD "
                f"({status}): copy them again from the app's Home tab"
            ) from None
        if status == 404:
            raise GatewayError(
                f"the Android gateway at {api.base} has no /webhooks: check "
                "SANAL_ANDROID_GATEWAY_URL (the app 1.28 or newer)"
            ) from None
        raise GatewayError(f"the Android gateway refused ({status}): {_detail(exc)}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise GatewayError(f"the Android gateway's answer was not understood ({exc})") from None
