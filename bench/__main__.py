"""`python -m bench`: every benchmark, one after the other, in one run."""

from __future__ import annotations

import asyncio
import importlib

BENCHMARKS = [
    "bench.inbound_sms",
    "bench.end_to_end",
    "bench.close_round",
    "bench.broadcast",
    "bench.memory",
    "bench.equal_shares",
    "bench.national_week",
]


async def main() -> None:
    for name in BENCHMARKS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            print(f"\n== {name}: not available ({exc}) ==")
            continue
        await module.main()


if __name__ == "__main__":
    asyncio.run(main())
