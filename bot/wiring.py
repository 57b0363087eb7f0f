"""Which channels run, from the settings. The simulator always runs."""

from __future__ import annotations

from bot.app import ChannelPlugin, Sanal
from bot.clock import Clock, SystemClock
from bot.settings import Settings


def build(settings: Settings, clock: Clock | None = None) -> Sanal:
    plugins: list[ChannelPlugin] = []
    return Sanal(settings, clock or SystemClock(), plugins)
