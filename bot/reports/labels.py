"""Report labels from the message catalogs (``report.*`` keys), Mongolian Cyrillic first."""

from __future__ import annotations

from bot.texts import render

REPORT_LANGS = ("mn", "en")


def label(key: str, lang: str = "mn", **params: object) -> str:
    """The catalog text ``report.<key>`` in ``lang`` (Mongolian Latin reads the Cyrillic)."""
    return render(f"report.{key}", "mn" if lang == "mn_latn" else lang, **params)


def criterion(name: str, lang: str = "mn") -> str:
    if name in ("importance", "fit", "beneficiaries", "votes"):
        return render(f"soum.criterion.{name}", lang)
    return name


def reason(code: str, lang: str = "mn") -> str:
    return render(f"alloc.reason.{code}", lang) if code else ""


def rule(code: str | None, lang: str = "mn") -> str:
    return render(f"alloc.rule.{code}", lang) if code else "-"


def status(code: str, lang: str = "mn") -> str:
    return render(f"report.state.{code}", lang)
