"""The tolerant message grammar: one parser for every channel."""

from bot.grammar.intents import Intent, Kind
from bot.grammar.parser import parse

__all__ = ["Intent", "Kind", "parse"]
