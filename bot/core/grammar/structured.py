"""An intent a channel sends directly (a pressed button), instead of words to parse.

The inbox row keeps it in its extra (``"intent"`` and the arguments as strings), so a
handler that must read an earlier message again (the yes to "store this as a proposal?")
reads it exactly as the router did: :func:`intent_of`.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.grammar.intents import Intent, Kind
from bot.core.grammar.parser import parse


def structured(extra: Mapping[str, str], parsed: Intent) -> Intent:
    """The structured intent of ``extra``; the parser's result is kept when the structured
    one is not understood."""
    try:
        kind = Kind(extra["intent"])
    except (KeyError, ValueError):
        return parsed
    numbers = tuple(int(n) for n in extra.get("numbers", "").split() if n.isdigit())
    return Intent(
        kind=kind,
        numbers=numbers,
        text=extra.get("text", ""),
        beneficiaries=_count(extra.get("beneficiaries")),
        cost_mnt=_count(extra.get("cost_mnt")),
        error=extra.get("error") or None,
        script=parsed.script,
        page=_count(extra.get("page")) or 1,
    )


def intent_of(text: str, extra: Mapping[str, str]) -> Intent:
    """What a stored message means, as the router reads it."""
    parsed = parse(text)
    return structured(extra, parsed) if extra.get("intent") else parsed


def _count(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
