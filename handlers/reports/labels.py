"""Report labels from the message catalogs (``report.*`` keys), Mongolian Cyrillic first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.texts import render

if TYPE_CHECKING:
    from handlers.reports.data import RoundReport

REPORT_LANGS = ("mn", "en")


def label(key: str, lang: str = "mn", **params: object) -> str:
    """The catalog text ``report.<key>`` in ``lang`` (Mongolian Latin reads the Cyrillic)."""
    return render(f"report.{key}", "mn" if lang == "mn_latn" else lang, **params)


def criterion_key(name: str) -> tuple[str, dict[str, object]]:
    """The catalog key naming a soum criterion, and its parameters: a criterion the
    working group added has no text of its own and is shown by its name."""
    if name in ("importance", "fit", "beneficiaries", "votes"):
        return f"soum.criterion.{name}", {}
    return "soum.criterion.other", {"name": name}


def criterion(name: str, lang: str = "mn") -> str:
    key, params = criterion_key(name)
    return render(key, lang, **params)


def reason(code: str, lang: str = "mn") -> str:
    return render(f"alloc.reason.{code}", lang) if code else ""


def rule(code: str | None, lang: str = "mn") -> str:
    return render(f"alloc.rule.{code}", lang) if code else "-"


def rule_in_force(code: str | None, lang: str = "mn") -> str:
    """The rule in force by its name, or "not chosen" (a working group yet to choose)."""
    return rule(code, lang) if code else label("alloc.not_chosen", lang)


def explain(code: str, lang: str = "mn") -> str:
    """A rule in two plain sentences (catalog ``alloc.explain.<rule>``)."""
    return render(f"alloc.explain.{code}", lang)


def round_rule(rep: RoundReport) -> str | None:
    """The soum rule a bag round's "funded" marks follow (None: no rule chosen yet)."""
    return rep.rule_in_force


def status(code: str, lang: str = "mn") -> str:
    return render(f"report.state.{code}", lang)
