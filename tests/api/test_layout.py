"""Guards of the package's layout: module and class sizes, and no import of the HTTP layer
from below it (issue 8)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import ledger_api

PACKAGE = Path(ledger_api.__file__).parent
MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 300
#: the HTTP layer, and the modules allowed to import it (the app and the entry points)
HTTP = "ledger_api.api"
MAY_IMPORT_HTTP = {"ledger_api/app.py", "ledger_api/main.py"}


def modules() -> Iterator[tuple[str, ast.Module, int]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).as_posix()
        text = path.read_text()
        yield relative, ast.parse(text, filename=relative), len(text.splitlines())


def imported(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_the_package_is_walked() -> None:
    assert len(list(modules())) > 40


def test_no_module_is_over_500_lines() -> None:
    long = {name: lines for name, _, lines in modules() if lines > MAX_MODULE_LINES}
    assert long == {}


def test_no_class_is_over_300_lines() -> None:
    big = {
        f"{name}:{node.name}": (node.end_lineno or node.lineno) - node.lineno + 1
        for name, tree, _ in modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and (node.end_lineno or node.lineno) - node.lineno + 1 > MAX_CLASS_LINES
    }
    assert big == {}


def test_no_layer_below_the_http_layer_imports_it() -> None:
    offenders = {
        name: sorted({m for m in imported(tree) if m == HTTP or m.startswith(HTTP + ".")})
        for name, tree, _ in modules()
        if not name.startswith("ledger_api/api/") and name not in MAY_IMPORT_HTTP
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_guard_sees_an_http_import() -> None:
    """The import check is not vacuous: the app does import the HTTP layer."""
    app = next(tree for name, tree, _ in modules() if name == "ledger_api/app.py")
    assert any(m.startswith(HTTP) for m in imported(app))
