"""The corpus's understood rates by family and script, printed after a run of the router
corpus (tests/grammar/test_corpus_router.py) that covered most of it."""

from __future__ import annotations

import sys

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    module = sys.modules.get("tests.grammar.test_corpus_router")
    results = getattr(module, "RESULTS", [])
    if module is None or len(results) < len(module.LINES) // 2:
        return
    from tests.grammar.rates import table

    terminalreporter.write_sep("-", "grammar corpus: understood and effect-correct lines")
    for row in table(results).splitlines():
        terminalreporter.write_line(row)
