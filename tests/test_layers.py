"""The import rules between Sanal's layers, checked over the whole tree.

Layers only look down. The kernel (bot/core) imports nothing else of Sanal; storage/ may
use the kernel; handlers/ (the use cases) may use storage and the kernel; the scheduler
may call use cases; a channel (bot/channels) may use storage and the kernel but never a
handler, the scheduler or the application. Everything else in bot/ is the application,
which wires the layers together and may import any of them.

Every import counts: at module level, inside a function, or under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "storage", "scheduler")

# Layer -> the layers it may import (its own included). Longest prefix decides a module's
# layer, so bot.core and bot.channels are not "the application" (bot).
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "bot.core": ("bot.core",),
    "storage": ("storage", "bot.core"),
    "handlers": ("handlers", "storage", "bot.core"),
    "scheduler": ("scheduler", "handlers", "storage", "bot.core"),
    "bot.channels": ("bot.channels", "storage", "bot.core"),
    "bot": PACKAGES,
}


@dataclass(frozen=True)
class Breach:
    path: str
    line: int
    module: str
    imported: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.module} imports {self.imported}"


def layer_of(module: str) -> str | None:
    for layer in sorted(MAY_IMPORT, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return layer
    return None


def _inside(name: str, layers: tuple[str, ...]) -> bool:
    return any(name == layer or name.startswith(layer + ".") for layer in layers)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """Every project module an import statement names, with ``from X import y`` read as
    X.y (y may be a submodule: ``from bot import app``)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] in PACKAGES]


def breaches(root: Path) -> list[Breach]:
    out: list[Breach] = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            module = module_name(path, root)
            layer = layer_of(module)
            if layer is None:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, name in imported_names(tree, module, path.name == "__init__.py"):
                # `from bot import core` names the package bot.core, which is allowed.
                if _inside(name, MAY_IMPORT[layer]) or name in ("bot", "bot.core"):
                    continue
                out.append(Breach(str(path.relative_to(root)), line, module, name))
    return out


def test_layers_only_look_down() -> None:
    found = breaches(ROOT)
    assert not found, "imports against the layer rules:\n" + "\n".join(map(str, found))


@pytest.mark.parametrize(
    ("where", "source", "caught"),
    [
        ("bot/core/clock.py", "from storage.db import Tx\n", "storage.db.Tx"),
        ("storage/rounds.py", "def f():\n    from handlers import closing\n", "handlers.closing"),
        ("handlers/voting.py", "from bot.channels import telegram\n", "bot.channels.telegram"),
        ("handlers/voting.py", "import bot.app\n", "bot.app"),
        ("bot/channels/twilio_sms.py", "from handlers.context import Context\n", "handlers"),
        ("bot/channels/telegram.py", "from bot.app import Sanal\n", "bot.app.Sanal"),
        ("scheduler/service.py", "from bot.channels.base import Transport\n", "bot.channels"),
        ("handlers/soum.py", "from scheduler import sweeps\n", "scheduler.sweeps"),
        ("bot/core/texts/__init__.py", "from .. import clock\nfrom ... import app\n", "bot.app"),
    ],
)
def test_a_breach_is_caught(tmp_path: Path, where: str, source: str, caught: str) -> None:
    """The check itself: each rule, written wrongly into a copy of a layer, is reported."""
    path = tmp_path / where
    path.parent.mkdir(parents=True)
    path.write_text(source, encoding="utf-8")
    found = breaches(tmp_path)
    assert found, found
    assert all(b.imported.startswith(caught) for b in found), found
    assert found[0].path == where


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("bot/core/clock.py", "from bot.core.message import Channel\nimport zoneinfo\n"),
        ("storage/rounds.py", "from bot.core import clock\nfrom storage.db import Tx\n"),
        ("handlers/voting.py", "from storage import ballots\nfrom bot.core.grammar import Kind\n"),
        ("scheduler/sweeps.py", "from handlers import closing\n"),
        ("bot/app.py", "from bot.channels import simulator\nfrom scheduler import service\n"),
    ],
)
def test_a_permitted_import_passes(tmp_path: Path, where: str, source: str) -> None:
    path = tmp_path / where
    path.parent.mkdir(parents=True)
    path.write_text(source, encoding="utf-8")
    assert breaches(tmp_path) == []
