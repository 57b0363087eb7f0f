"""Compute pabutools' Add1 results on the 30 pabulib elections once, for the tests.

``python -m tests.soum.make_add1_reference`` runs pabutools' Method of Equal Shares with
Add1 completion, then greedy (equalshares.net's reference computation, the rule "mes"):

    completion_by_rule_combination(instance, profile,
        [exhaustion_by_budget_increase, greedy_utilitarian_welfare],
        [{"rule": method_of_equal_shares, "rule_params": {"sat_class": Sat},
          "budget_step": profile.num_ballots()}, {"sat_class": Sat}])

on every ``.pb`` file of tests/data/pabulib and writes the funded project ids, in the order
pabutools returns them, to tests/data/pabulib/add1_reference.json, with the plain MES
(completed by greedy at once) beside them. pabutools takes up to a minute per file, which
is why the results are stored; the file is rewritten after every election, so an
interrupted run keeps what it computed and a rerun computes only what is missing.
``--utility cost`` (the default) or ``--utility cardinality`` or both.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pabutools.election import Cardinality_Sat, Cost_Sat, parse_pabulib
from pabutools.rules import (
    completion_by_rule_combination,
    exhaustion_by_budget_increase,
    greedy_utilitarian_welfare,
    method_of_equal_shares,
)

DATA = Path(__file__).resolve().parents[1] / "data/pabulib"
OUT = DATA / "add1_reference.json"
SATS: dict[str, type] = {"cost": Cost_Sat, "cardinality": Cardinality_Sat}
COMMAND = "python -m tests.soum.make_add1_reference --utility cost --utility cardinality"


def add1(path: Path, sat: type) -> tuple[list[str], list[str], float]:
    """(Add1 then greedy, plain MES then greedy, seconds pabutools took for Add1)."""
    instance, profile = parse_pabulib(str(path))
    t0 = time.perf_counter()
    outcome = completion_by_rule_combination(
        instance,
        profile,
        [exhaustion_by_budget_increase, greedy_utilitarian_welfare],
        [
            {
                "rule": method_of_equal_shares,
                "rule_params": {"sat_class": sat},
                "budget_step": profile.num_ballots(),
            },
            {"sat_class": sat},
        ],
    )
    seconds = time.perf_counter() - t0
    plain = completion_by_rule_combination(
        instance,
        profile,
        [method_of_equal_shares, greedy_utilitarian_welfare],
        [{"sat_class": sat}, {"sat_class": sat}],
    )
    return [p.name for p in outcome], [p.name for p in plain], seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utility", action="append", choices=sorted(SATS))
    args = parser.parse_args(argv)
    utilities: list[str] = args.utility or ["cost"]
    data: dict[str, Any] = json.loads(OUT.read_text()) if OUT.exists() else {}
    data["command"] = COMMAND
    data["pabutools"] = version("pabutools")
    data["rule"] = (
        "completion_by_rule_combination(instance, profile, [exhaustion_by_budget_increase, "
        "greedy_utilitarian_welfare], [{'rule': method_of_equal_shares, 'rule_params': "
        "{'sat_class': Sat}, 'budget_step': profile.num_ballots()}, {'sat_class': Sat}])"
    )
    data["order"] = (
        "funded project ids as pabutools returns them: MES's purchases in the order bought, "
        "then greedy's; 'plain' is MES completed by greedy at once, for comparison"
    )
    for utility in utilities:
        table: dict[str, Any] = data.setdefault(utility, {})
        for path in sorted(DATA.glob("*.pb")):
            if path.stem in table:
                continue
            funded, plain, seconds = add1(path, SATS[utility])
            table[path.stem] = {"add1": funded, "plain": plain}
            OUT.write_text(_dump(data))
            print(f"{utility} {path.stem}: {len(funded)} funded, {seconds:.1f} s", flush=True)
    OUT.write_text(_dump(data))


def _dump(data: dict[str, Any]) -> str:
    """JSON with each list of project ids on one line (ids hold no spaces in pabulib)."""
    text = json.dumps(data, indent=1, ensure_ascii=False)
    return re.sub(r"\[([^\[\]{}]*)\]", lambda m: "[" + " ".join(m[1].split()) + "]", text) + "\n"


if __name__ == "__main__":
    main(sys.argv[1:])
