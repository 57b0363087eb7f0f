"""The tolerant message grammar: one parser for every channel."""

from bot.core.grammar.intents import Intent, Kind
from bot.core.grammar.parser import parse

__all__ = ["Intent", "Kind", "parse"]
