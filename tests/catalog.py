"""Which catalog keys a reply was rendered from, for tests that check what a handler said.

A handler test asserts the key (and the parameters it knows), not a Mongolian fragment:
the wording may change in the catalog without touching the tests of the handlers, and
the test still fails if the handler gives another answer::

    assert_reply(reply, "propose.ok", n=1)        # the whole reply is this text, for №1
    assert_reply(reply, "round.opened", year=2027)  # any `until`: it is not known here
    assert_lines(reply, Text("vote.ok"), Text("vote.changed", {"n": 2}))
    assert_has(reply, "list.header", page=1, pages=3)  # one of its lines
    assert keys_of(reply) == ["list.header", "list.item", "list.item"]

A key becomes a pattern by rendering it with bot.core.texts.render in the reader's
language, the known parameters filled in as the handler would (case endings included,
Latin transliteration included), and every other placeholder turned into a wildcard
over one line. A failure names the reply and, for each line, the keys it could be made
of, most specific first.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from functools import cache

from bot.core.texts import catalog, render
from handlers.context import Text

# A value a test does not know. Made of characters that survive to_latin and take no case
# ending (bot.core.mn_case returns what it cannot read as it is).
_HOLE = "§{}§"
_WILD = "[^\n]*?"

Part = str | Text | tuple[str, Mapping[str, object]]


def pattern(key: str, lang: str = "mn", **params: object) -> str:
    """The regex source for the text of ``key``, ``params`` filled in, the rest wild."""
    known = tuple(sorted((k, _value(v, lang)) for k, v in params.items()))
    try:
        return _pattern(key, lang, known)[0]
    except TypeError:  # a value that cannot be a cache key (a list): not cached
        return _pattern.__wrapped__(key, lang, known)[0]


def _value(value: object, lang: str) -> object:
    # A parameter may itself be a catalog text (a flag's label), as handlers/delivery.py
    # renders it.
    if isinstance(value, Text):
        return render(value.key, lang, **{k: _value(v, lang) for k, v in value.params.items()})
    return value


@cache
def _pattern(key: str, lang: str, known: tuple[tuple[str, object], ...]) -> tuple[str, int]:
    """The regex source, and how many characters of it are fixed text."""
    template = catalog("mn" if lang == "mn_latn" else lang).get(key)
    if template is None:
        raise AssertionError(f"no text {key!r} in the {lang} catalog")
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    given = dict(known)
    unknown = {name: _HOLE.format(i) for i, name in enumerate(sorted(names - set(given)))}
    rendered = render(key, lang, **given, **unknown)
    holes = "|".join(re.escape(h) for h in unknown.values())
    pieces = re.split(holes, rendered) if holes else [rendered]
    return _WILD.join(re.escape(p) for p in pieces), sum(len(p) for p in pieces)


def _part(part: Part, lang: str) -> str:
    if isinstance(part, Text):
        return pattern(part.key, lang, **part.params)
    if isinstance(part, tuple):
        return pattern(part[0], lang, **part[1])
    return pattern(part, lang)


def _name(part: Part) -> str:
    if isinstance(part, Text):
        key, params = part.key, part.params
    elif isinstance(part, tuple):
        key, params = part[0], dict(part[1])
    else:
        key, params = part, {}
    if not params:
        return key
    return f"{key}({', '.join(f'{k}={v!r}' for k, v in params.items())})"


def matches(text: str, *parts: Part, lang: str = "mn") -> bool:
    """Is ``text`` exactly these parts, one after the other on their own lines?"""
    joined = "\n".join(_part(p, lang) for p in parts)
    return re.fullmatch(joined, text) is not None


def assert_reply(text: str, key: str, /, *, lang: str = "mn", **params: object) -> None:
    """The reply is the one text of ``key`` (with ``params`` where the test knows them)."""
    assert_lines(text, Text(key, dict(params)), lang=lang)


def assert_lines(text: str, *parts: Part, lang: str = "mn") -> None:
    """The reply is these texts, in this order, one after the other."""
    if not matches(text, *parts, lang=lang):
        expected = ", ".join(_name(p) for p in parts)
        raise AssertionError(f"expected {expected} ({lang}), got:\n{explain(text, lang)}")


def assert_has(text: str, key: str, /, *, lang: str = "mn", **params: object) -> None:
    """Some line (or run of lines) of the reply is the text of ``key``."""
    body = pattern(key, lang, **params)
    if re.search(f"(?:^|(?<=\n)){body}(?=\n|$)", text) is None:
        expected = _name(Text(key, dict(params)))
        raise AssertionError(f"no line of {expected} ({lang}) in:\n{explain(text, lang)}")


def assert_not_has(text: str, key: str, /, *, lang: str = "mn", **params: object) -> None:
    """No line of the reply is the text of ``key``."""
    body = pattern(key, lang, **params)
    if re.search(f"(?:^|(?<=\n)){body}(?=\n|$)", text) is not None:
        expected = _name(Text(key, dict(params)))
        raise AssertionError(f"unexpected {expected} ({lang}) in:\n{explain(text, lang)}")


def candidates(line: str, lang: str = "mn") -> list[str]:
    """The keys whose text ``line`` could be, the most specific (most fixed text) first."""
    found = [(fixed, key) for key, compiled, fixed in _compiled(lang) if compiled.fullmatch(line)]
    return [key for _, key in sorted(found, key=lambda f: (-f[0], f[1]))]


def keys_of(text: str, lang: str = "mn") -> list[str]:
    """The most specific key of each line of ``text`` ("?" where none fits)."""
    return [(candidates(line, lang) or ["?"])[0] for line in text.split("\n")]


def explain(text: str, lang: str = "mn") -> str:
    """Each line of ``text`` with the keys it could be made of."""
    out = []
    for line in text.split("\n"):
        keys = candidates(line, lang)
        shown = ", ".join(keys[:4]) + (f" (+{len(keys) - 4})" if len(keys) > 4 else "")
        out.append(f"  {line!r}  <- {shown or 'no key'}")
    return "\n".join(out)


@cache
def _compiled(lang: str) -> tuple[tuple[str, re.Pattern[str], int], ...]:
    rows: list[tuple[str, re.Pattern[str], int]] = []
    for key in catalog("mn" if lang == "mn_latn" else lang):
        source, fixed = _pattern(key, lang, ())
        rows.append((key, re.compile(source), fixed))
    return tuple(rows)
