"""The understood rate of the corpus, by family and script: every line through the parser
(understood: the parse is what the line says) and through the router on a real database
(effect: the line did what it says, tests/grammar/router_world.py).

    python -m tests.grammar.rates              # the corpus the tests run
    python -m tests.grammar.rates --drafts     # and the drafts waiting for issue 12
    python -m tests.grammar.rates --failures   # and every line that fails, with why
    python -m tests.grammar.rates --only drafts/everyday.jsonl   # some files alone
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bot.core.grammar import parse
from tests.grammar.corpus_lines import (
    FAMILIES,
    HERE,
    ROUTER_KEYS,
    SCRIPTS,
    Line,
    corpus_files,
    draft_files,
    family_of,
    load,
    script_of,
)
from tests.grammar.router_world import open_world
from tests.grammar.test_corpus import check

# What check() must not see: the router's keys, and the loader's "_source".
SKIP = ROUTER_KEYS | {"_source"}


@dataclass(frozen=True)
class Result:
    line: Line
    understood: bool
    effect: bool
    why: str  # the first failure, for --failures


def understood(line: Line) -> tuple[bool, str]:
    try:
        parse_keys = {k: v for k, v in line.items() if k in ("text", "kind") or k not in SKIP}
        check(parse(line["text"]), parse_keys)
    except AssertionError as exc:
        got = parse(line["text"])
        return False, f"parsed {got.kind.value} {exc or ''}".strip()
    return True, ""


async def run(lines: list[Line]) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory() as folder:
        async with open_world(Path(folder)) as world:
            for line in lines:
                ok, why = understood(line)
                outcome = await world.run(line)
                results.append(Result(line, ok, outcome.ok, why or (outcome.failure or "")))
    return results


def table(results: list[Result]) -> str:
    """Lines, understood and effect-correct, by family and by script."""
    rows: dict[tuple[str, str], list[Result]] = defaultdict(list)
    for r in results:
        rows[(family_of(r.line), script_of(r.line))].append(r)
        rows[(family_of(r.line), "all")].append(r)
        rows[("all", script_of(r.line))].append(r)
        rows[("all", "all")].append(r)

    def cell(group: list[Result]) -> str:
        if not group:
            return f"{'':>23}"
        n = len(group)
        u = sum(r.understood for r in group)
        e = sum(r.effect for r in group)
        # Rounded down: 975 of 976 is 99%, not 100%.
        return f"{n:>4} {u:>4} {100 * u // n:>3}% {e:>4} {100 * e // n:>3}%"

    scripts = [*SCRIPTS, "all"]
    head = f"{'family':<14}" + "".join(f"| {s:^23}" for s in scripts)
    sub = f"{'':<14}" + "".join(f"| {'lines und.   %  eff.   %':<23}" for _ in scripts)
    out = [head, sub, "-" * len(sub)]
    families = [f for f in FAMILIES if any(k[0] == f for k in rows)]
    families += sorted({k[0] for k in rows} - set(FAMILIES) - {"all"})
    for family in [*families, "all"]:
        out.append(f"{family:<14}" + "".join(f"| {cell(rows[(family, s)])}" for s in scripts))
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drafts", action="store_true", help="also the lines of drafts/")
    parser.add_argument("--failures", action="store_true", help="list every failing line")
    parser.add_argument("--only", nargs="+", help="these files (relative to tests/grammar)")
    args = parser.parse_args()
    if args.only:
        files = [HERE / name for name in args.only]
    else:
        files = corpus_files() + (draft_files() if args.drafts else [])
    results = asyncio.run(run(load(files)))
    print(f"{len(results)} lines from {', '.join(f.name for f in files)}")
    print("und. = understood (the parse is right); eff. = the router did what the line says")
    print(table(results))
    if args.failures:
        for r in results:
            if not (r.understood and r.effect):
                mark = ("" if r.understood else "P") + ("" if r.effect else "E")
                print(f"{mark:<2} {r.line['_source']:<26} {r.line['text'][:60]!r}: {r.why}")


if __name__ == "__main__":
    main()
