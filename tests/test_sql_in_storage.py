"""SQL only in storage/ (issue 15): every statement is a storage function.

Code above storage/ (bot/, handlers/, scheduler/) holds a ``storage.db.Tx`` and passes it
to storage functions; it never imports SQLite or aiosqlite, never runs a statement on a
transaction, and holds no SQL text. That keeps the SQLite dialect in one folder (a
PostgreSQL backend would touch nothing else) and every query where its indexes and its
ballot-secrecy rules are (storage/ballots.py) can be read at once.

Docstrings are prose and may name a statement; catalog texts are TOML, not Python.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ABOVE_STORAGE = ("bot", "handlers", "scheduler")

DRIVERS = frozenset({"aiosqlite", "sqlite3"})
# storage.db's raw helpers: a statement of one's own goes through them.
RAW_HELPERS = frozenset({"fetchone", "fetchall", "insert", "Conn", "Row"})
RUNS_SQL = frozenset(
    {"execute", "executemany", "execute_fetchall", "execute_insert", "executescript"}
)
_KEYWORD = (
    r"(?:SELECT|INSERT|UPDATE|DELETE|REPLACE|PRAGMA|SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT"
    r"|CREATE|DROP|ALTER|VACUUM|WITH)"
)
# A string that starts with a statement ("SELECT id", "BEGIN IMMEDIATE", "PRAGMA x"),
# upper case as every statement here is written, followed by more than a lone word, so
# that "DELETE" as an HTTP method does not count...
_STARTS_AS_SQL = re.compile(rf"^\s*{_KEYWORD}\s+[\w(*]")
# ...or one that holds a statement further in: a keyword, then one of its clauses.
_HOLDS_SQL = re.compile(
    r"\b(?:SELECT|INSERT|UPDATE|DELETE)\b.*\b(?:FROM|INTO|SET|WHERE)\b", re.DOTALL
)


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the docstring nodes (of the module, classes and functions)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def looks_like_sql(text: str) -> bool:
    return bool(_STARTS_AS_SQL.search(text) or _HOLDS_SQL.search(text))


def offences(path: Path, source: str) -> list[str]:
    """What in this module breaks the rule, as ``path:line: what``."""
    tree = ast.parse(source, filename=str(path))
    docstrings = _docstrings(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in DRIVERS:
                    found.append((node.lineno, f"imports {alias.name}"))
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in DRIVERS:
                found.append((node.lineno, f"imports from {node.module}"))
            if node.module == "storage.db":
                for alias in node.names:
                    if alias.name in RAW_HELPERS:
                        found.append((node.lineno, f"imports {alias.name} from storage.db"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in RUNS_SQL:
                found.append((node.lineno, f"runs a statement itself (.{node.func.attr})"))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and looks_like_sql(node.value)
        ):
            found.append((node.lineno, f"holds SQL: {node.value[:40]!r}"))
    return [f"{path}:{line}: {what}" for line, what in sorted(found)]


def _modules() -> list[Path]:
    return sorted(p for folder in ABOVE_STORAGE for p in (ROOT / folder).rglob("*.py"))


def test_no_module_above_storage_holds_or_runs_sql() -> None:
    modules = _modules()
    assert len(modules) > 50  # the walk found the tree
    problems = [
        line
        for path in modules
        for line in offences(path.relative_to(ROOT), path.read_text(encoding="utf-8"))
    ]
    assert not problems, "SQL belongs in storage/:\n" + "\n".join(problems)


def test_the_check_names_each_offence_with_its_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import sqlite3\n"
        "from aiosqlite import Connection\n"
        "from storage.db import Tx, fetchone\n"
        "\n"
        "\n"
        "async def f(tx: Tx, table: str) -> None:\n"
        '    """Runs SELECT 1 FROM rounds: a docstring may say so."""\n'
        '    await tx.execute("SAVEPOINT message")\n'
        '    await fetchone(tx, f"SELECT id FROM {table} WHERE x = ?", (1,))\n'
        "    sql = (\n"
        '        "UPDATE rounds "\n'
        '        "SET status = ?"\n'
        "    )\n"
        '    await tx.executemany(sql, [("a",)])\n'
        '    note = "counts who voted: DELETE FROM participation is never run"\n',
        encoding="utf-8",
    )
    assert offences(bad, bad.read_text(encoding="utf-8")) == [
        f"{bad}:1: imports sqlite3",
        f"{bad}:2: imports from aiosqlite",
        f"{bad}:3: imports fetchone from storage.db",
        f"{bad}:8: holds SQL: 'SAVEPOINT message'",
        f"{bad}:8: runs a statement itself (.execute)",
        f"{bad}:9: holds SQL: 'SELECT id FROM '",
        f"{bad}:11: holds SQL: 'UPDATE rounds SET status = ?'",
        f"{bad}:14: runs a statement itself (.executemany)",
        f"{bad}:15: holds SQL: 'counts who voted: DELETE FROM participat'",
    ]


def test_words_that_are_not_statements_pass() -> None:
    for text in (
        "DELETE",  # an HTTP method
        "Update the app, then select a bag",
        "BEGIN",
        "sms.update_stored",
        "ALLOWED_UPDATES",
    ):
        assert not looks_like_sql(text), text
    clean = (
        'METHOD = "DELETE"\n\n\n'
        "def f() -> str:\n"
        '    """DELETE /webhooks/{id}, where the phone posts."""\n'
        '    return "ok"\n'
    )
    assert offences(Path("clean.py"), clean) == []
