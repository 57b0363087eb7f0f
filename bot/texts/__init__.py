"""Message catalogs: Mongolian Cyrillic first, Mongolian Latin for cheap SMS, English.

``mn/*.toml`` and ``en/*.toml`` hold every text, one file per part of the product (core,
sms, telegram, scheduler...), merged; a key defined twice is an error. Mongolian Latin is
the Cyrillic text transliterated (MNS 5217, GSM-7 only), so the two never drift apart;
``mn_latn/*.toml`` may override a key where a shorter hand-written Latin text is better.
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from importlib import resources
from typing import Any

from bot.translit import to_latin

LANGS = ("mn", "mn_latn", "en")


class MissingText(KeyError):
    pass


@cache
def catalog(lang: str) -> dict[str, str]:
    if lang not in LANGS:
        raise MissingText(lang)
    merged: dict[str, str] = {}
    folder = resources.files("bot.texts").joinpath(lang)
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


def render(key: str, lang: str, **params: object) -> str:
    """The text for ``key`` in ``lang`` with ``{params}`` filled in."""
    if lang == "mn_latn":
        override = catalog("mn_latn").get(key)
        if override is not None:
            return override.format(**{k: _latin(v) for k, v in params.items()})
        return to_latin(_template("mn", key).format(**params))
    return _template(lang, key).format(**params)


def _latin(value: object) -> object:
    return to_latin(value) if isinstance(value, str) else value


def _template(lang: str, key: str) -> str:
    try:
        return catalog(lang)[key]
    except KeyError:
        raise MissingText(f"{lang}:{key}") from None


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}
