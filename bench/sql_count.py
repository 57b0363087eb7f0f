"""`python -m bench.sql_count OUT.json serve`: `sanal serve` counting its database statements.

Every method of ``storage.db.Tx`` is one round trip to the aiosqlite thread (a statement,
an executemany, a commit, a savepoint's SAVEPOINT or RELEASE); inside a write transaction
statements run on the event loop's thread instead (``storage.db._InlineTx``), and only
its COMMIT (and a ROLLBACK) is a round trip. Here both are wrapped with a counter before
the CLI starts, so the server being measured runs the same code as in production with one
dictionary increment a call added; production itself has no counter.

Counted by the task that makes the call: ``intake`` handles messages (router and handlers),
``intake-store`` stores webhooks, anything else is the senders (the bench switches the
scheduler off). With ``BENCH_SQL_DETAIL=1`` each statement's text is counted too, to see
which ones a message costs. Written to OUT.json when the process exits.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import runpy
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

import storage.db
from storage.db import Tx

PHASES = {"intake": "handle", "intake-store": "store"}
DETAIL = os.environ.get("BENCH_SQL_DETAIL") == "1"
counts: Counter[str] = Counter()  # round trips to the database thread, by phase
inline: Counter[str] = Counter()  # statements run on the loop's thread, by phase
statements: Counter[str] = Counter()


def _phase() -> str:
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return "other"
    return PHASES.get(task.get_name(), "send") if task is not None else "other"


def _counting(name: str, method: Callable[..., Any], counter: Counter[str]) -> Callable[..., Any]:
    def wrapper(self: Tx, *args: Any, **kwargs: Any) -> Any:
        phase = _phase()
        counter[phase] += 1
        if DETAIL:
            sql = str(args[0]) if args else name
            hop = "" if counter is inline else " [round trip]"
            statements[f"{phase}: {' '.join(sql.split())[:100]}{hop}"] += 1
        return method(self, *args, **kwargs)

    return wrapper


def install() -> None:
    for name in ("execute", "executemany", "execute_fetchall", "execute_insert", "commit",
                 "rollback", "_step"):  # fmt: skip
        setattr(Tx, name, _counting(name, getattr(Tx, name), counts))
    here = getattr(storage.db, "_InlineTx", None)  # absent before statements ran inline
    for name in ("execute", "executemany", "execute_fetchall", "execute_insert", "_step",
                 "begin"):  # fmt: skip
        if here is not None:
            setattr(here, name, _counting(name, getattr(here, name), inline))


def _write(path: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        data = {"counts": counts, "inline": inline, "statements": statements.most_common()}
        json.dump(data, out)


if __name__ == "__main__":
    out_path = sys.argv.pop(1)
    install()
    atexit.register(_write, out_path)
    sys.argv[0] = "sanal"
    runpy.run_module("bot.cli", run_name="__main__", alter_sys=True)
