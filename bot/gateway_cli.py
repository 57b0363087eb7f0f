"""`sanal gateway register` and `sanal gateway list`: the Android gateway's webhooks, set
through the app's own client instead of a hand-typed curl (bot/channels/android_gateway.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import click

from bot.channels.android_gateway import GatewayError, register, registered
from bot.cli_options import settings_for
from bot.core.settings import Settings, public_url_refusal

T = TypeVar("T")


@click.group(name="gateway")
def gateway_group() -> None:
    """The Android SMS gateway phone (SMS Gateway for Android)."""


@gateway_group.command(name="register")
@click.option(
    "--url",
    "public_url",
    default=None,
    help="The address the phone posts to (default SANAL_PUBLIC_URL); /sms/android is added.",
)
def register_cmd(public_url: str | None) -> None:
    """Point the phone's webhooks (received, sent, delivered, failed) at Sanal.

    Safe to run again, and after moving Sanal: it replaces its own webhooks."""
    settings = _gateway_settings()
    url = (public_url or settings.public_url or "").rstrip("/")
    if not url:
        raise click.ClickException(
            "set SANAL_PUBLIC_URL (or --url): the https address the phone posts to"
        )
    if public_url is not None and (why := public_url_refusal(url)) is not None:
        raise click.ClickException(f"--url {public_url}: {why}")
    done = _run(register(settings, url))
    click.echo(f"the gateway posts {', '.join(done.events)} to {done.url}")
    if done.removed:
        click.echo(f"removed copies of these under other ids: {'; '.join(done.removed)}")
    for other in done.others:
        click.echo(f"also registered on the phone, left as it is: {other}")
    if settings.android_signing_key is None:
        click.echo(
            "SANAL_ANDROID_SIGNING_KEY is not set: copy the app's Settings > Webhooks > "
            "Signing Key to it, or Sanal refuses to start with the gateway"
        )


@gateway_group.command(name="list")
def list_cmd() -> None:
    """The webhooks the phone has."""
    hooks = _run(registered(_gateway_settings()))
    for hook in hooks:
        click.echo(f"{hook.event.value:14} {hook.url}  ({hook.id})")
    if not hooks:
        click.echo("no webhooks on the gateway")


def _gateway_settings() -> Settings:
    settings = settings_for()
    missing = [
        name
        for name, value in (
            ("SANAL_ANDROID_GATEWAY_URL", settings.android_gateway_url),
            ("SANAL_ANDROID_GATEWAY_USER", settings.android_gateway_user),
            ("SANAL_ANDROID_GATEWAY_PASSWORD", settings.android_gateway_password),
        )
        if not value
    ]
    if missing:
        raise click.ClickException(
            f"set {' and '.join(missing)} (the app's Home tab: its server's address, "
            "user and password)"
        )
    return settings


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except GatewayError as exc:
        raise click.ClickException(str(exc)) from None
