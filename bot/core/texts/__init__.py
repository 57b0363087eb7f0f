"""Message catalogs: Mongolian Cyrillic first, Mongolian Latin for cheap SMS, English.

``mn/*.toml`` and ``en/*.toml`` hold every text, one file per part of the product (core,
sms, telegram, scheduler...), merged; a key defined twice is an error. Mongolian Latin is
the Cyrillic text transliterated (MNS 5217, GSM-7 only), so the two never drift apart;
``mn_latn/*.toml`` may override a key where a shorter hand-written Latin text is better.

A Mongolian text that needs a case ending after a value asks for it with a format spec,
``"№{n:acc} №{into:dat} нэгтгэлээ"`` (cases in bot/mn_case.py): the ending depends on the
value ("№6-г", "№1-ийг"), so it is never written into the text after ``{n}``. English
texts use plain ``{n}``; a case spec there is ignored.
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from importlib import resources
from typing import Any

from bot.core.mn_case import CASES, inflect
from bot.core.translit import to_latin

LANGS = ("mn", "mn_latn", "en")


class MissingText(KeyError):
    pass


@cache
def catalog(lang: str) -> dict[str, str]:
    if lang not in LANGS:
        raise MissingText(lang)
    merged: dict[str, str] = {}
    folder = resources.files("bot.core.texts").joinpath(lang)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        for key, text in _flatten(tomllib.loads(entry.read_text("utf-8"))).items():
            if key in merged:
                raise ValueError(f"text {lang}:{key} defined twice (in {entry.name})")
            merged[key] = text
    return merged


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{full}."))
        else:
            out[full] = str(value).strip("\n")
    return out


class _Formatter(string.Formatter):
    """``str.format`` with the case specs of bot/mn_case (``{bag:dat}``)."""

    def __init__(self, *, cases: bool, latin: bool = False) -> None:
        self.cases = cases
        self.latin = latin  # a hand-written Latin text: values are transliterated

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec in CASES:
            text = inflect(value, format_spec) if self.cases else str(value)
        else:
            text = super().format_field(value, format_spec)
        return to_latin(text) if self.latin and isinstance(value, str | int) else text


_MN = _Formatter(cases=True)
_LATIN = _Formatter(cases=True, latin=True)
_PLAIN = _Formatter(cases=False)


def render(key: str, lang: str, **params: object) -> str:
    """The text for ``key`` in ``lang`` with ``{params}`` filled in."""
    if lang == "mn_latn":
        override = catalog("mn_latn").get(key)
        if override is not None:
            return _LATIN.format(override, **params)
        return to_latin(_fill(_template("mn", key), params))
    return _fill(_template(lang, key), params, cases=lang == "mn")


def _fill(template: str, params: dict[str, object], *, cases: bool = True) -> str:
    # str.format is ten times faster than a Formatter, and paging renders a lot: only a
    # text that asks for a case goes through the Formatter.
    if not _asks_case(template):
        return template.format(**params)
    return (_MN if cases else _PLAIN).format(template, **params)


@cache
def _asks_case(template: str) -> bool:
    return any(spec in CASES for _, _, spec, _ in string.Formatter().parse(template))


def _template(lang: str, key: str) -> str:
    try:
        return catalog(lang)[key]
    except KeyError:
        raise MissingText(f"{lang}:{key}") from None


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}
