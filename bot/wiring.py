"""Which channels and background services run, from the settings. The simulator always runs.

Each part adds its plugins in its own function so that the parts stay independent:
SMS providers (Twilio, Android gateway), Telegram; and the scheduler, a service.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from bot.app import ChannelPlugin, Sanal, Service
from bot.channels.base import ConfigError
from bot.core import log_redact
from bot.core.channels import capabilities
from bot.core.clock import Clock, SystemClock
from bot.core.settings import Settings

# The SMS providers that can run: the SANAL_SMS_PROVIDER name (a channel registered in
# bot.core.channels) and where its plugin is, imported only when chosen. A new provider
# is its module and one line here.
SMS_PROVIDERS: dict[str, str] = {
    "twilio": "bot.channels.twilio_sms:TwilioChannel",
    "android": "bot.channels.android_sms:AndroidChannel",
}


def sms_plugins(settings: Settings) -> list[ChannelPlugin]:
    """The SMS providers chosen (several may run at once; the simulator always runs).

    A chosen provider that is not configured stops the start with a clear error, rather
    than refusing every webhook later."""
    chosen = settings.sms_providers()
    plugins: list[ChannelPlugin] = []
    for name, where in SMS_PROVIDERS.items():
        if name in chosen:
            plugins.append(_plugin(where, settings))
    unwired = [n for n in chosen if n not in SMS_PROVIDERS and not capabilities(n).training]
    if unwired:
        raise ConfigError(f"no plugin is wired for SMS provider {', '.join(unwired)}")
    return plugins


def _plugin(where: str, settings: Settings) -> ChannelPlugin:
    module, name = where.split(":")
    factory: Callable[[Settings], ChannelPlugin] = getattr(import_module(module), name)
    return factory(settings)


def telegram_plugins(settings: Settings) -> list[ChannelPlugin]:
    """The Telegram bot, when TELEGRAM_BOT_TOKEN is set."""
    token = settings.telegram_bot_token
    if token is None or not token.get_secret_value().strip():
        return []
    from bot.channels.telegram import TelegramChannel

    return [TelegramChannel(settings)]


def services(settings: Settings, clock: Clock) -> list[Service]:
    """The scheduler: rounds open and close on their own, reminders, outbox sweeps."""
    if not settings.scheduler_enabled:
        return []
    from scheduler.service import SchedulerService

    return [SchedulerService(settings, clock)]


def build(settings: Settings, clock: Clock | None = None) -> Sanal:
    log_redact.install()  # whoever runs the app (`sanal`, tests): no numbers in the logs
    clock = clock or SystemClock()
    plugins: list[ChannelPlugin] = [*sms_plugins(settings), *telegram_plugins(settings)]
    return Sanal(settings, clock, plugins, services(settings, clock))
