"""The import graph runs one way: what ships (``aftercare``) never imports what simulates the
outside world for the demo and the tests (``sandbox``)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests import ROOT

PACKAGE = ROOT / "include" / "aftercare"


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_the_production_package_never_imports_the_sandbox() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] == "sandbox"
        )
        for path in PACKAGE.rglob("*.py")
    }
    assert not {path: names for path, names in offenders.items() if names}
    # the check sees imports at all: the sandbox itself imports the production package
    assert "aftercare.config" in imported_modules(ROOT / "include" / "sandbox" / "bootstrap.py")
