"""Which channels and background services run, from the settings. The simulator always runs.

Each part adds its plugins in its own function so that the parts stay independent:
SMS providers (Twilio, Android gateway), Telegram; and the scheduler, a service.
"""

from __future__ import annotations

from bot.app import ChannelPlugin, Sanal, Service
from bot.core import log_redact
from bot.core.clock import Clock, SystemClock
from bot.core.settings import Settings


def sms_plugins(settings: Settings) -> list[ChannelPlugin]:
    """Twilio and/or the Android gateway, as chosen (both may run at once).

    A chosen provider that is not configured stops the start with a clear error, rather
    than refusing every webhook later."""
    from bot.channels.android_sms import AndroidChannel
    from bot.channels.twilio_sms import TwilioChannel

    chosen = settings.sms_providers()
    plugins: list[ChannelPlugin] = []
    if "twilio" in chosen:
        plugins.append(TwilioChannel(settings))
    if "android" in chosen:
        plugins.append(AndroidChannel(settings))
    return plugins


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
