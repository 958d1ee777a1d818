"""The import graph runs one way: DAGs -> task bodies -> stages -> warehouse / ATS / providers /
messages -> config and names, nothing running back; only the Airflow seam imports Airflow; and
what ships (``aftercare``) never imports what simulates the outside world for the demo and the
tests (``sandbox``)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests import ROOT

PACKAGE = ROOT / "include" / "aftercare"

#: Each module's layer, by the longest name that matches it: a module imports from its own
#: layer and the layers below, never from one above.
LAYERS = {
    # config and names
    "aftercare": 0,
    "aftercare.config": 0,
    "aftercare.names": 0,
    # what the stages work on: the warehouse, the ATS, the providers, the messages
    "aftercare.warehouse": 1,
    "aftercare.ats": 1,
    "aftercare.providers": 1,
    "aftercare.messages": 1,
    # the stages
    "aftercare.extract": 2,
    "aftercare.quality": 2,
    "aftercare.plan": 2,
    "aftercare.dispatch": 2,
    "aftercare.engagement": 2,
    "aftercare.marts": 2,
    "aftercare.report": 2,
    "aftercare.summary": 2,
    "aftercare.ops": 2,
    "aftercare.privacy": 2,
    # Airflow's connections turned into engines and clients for the stages (the providers'
    # factory reads them through a function it is given, not from Airflow)
    "aftercare.connections": 3,
    "aftercare.providers.factory": 3,
    # the task bodies, and what else runs the stages: Airflow's setup, the command-line tools
    "aftercare.tasks": 4,
    "aftercare.dagkit": 4,
    "aftercare.bootstrap": 4,
    "aftercare.coverage": 4,
    "aftercare.ats.doctor": 4,
    "aftercare.ats.__main__": 4,
    # the candidates' preferences service: a process of its own, apart from Airflow
    "aftercare.preferences": 4,
    # the ops console the Airflow plugin mounts on the api-server (it asks Airflow's auth
    # manager who the user is, reads Airflow's metadata and triggers runs)
    "aftercare.console": 4,
    # the DAG files
    "dags": 5,
}

#: The modules that may import Airflow: the DAGs and the seam between Airflow and the stages.
AIRFLOW_SEAM = (
    "dags",
    "aftercare.tasks",
    "aftercare.dagkit",
    "aftercare.bootstrap",
    "aftercare.connections",
    "aftercare.console",
)


def module_name(path: Path) -> str:
    """``include/aftercare/ats/doctor.py`` -> ``aftercare.ats.doctor``; ``dags/x.py`` ->
    ``dags.x``; a package's ``__init__.py`` is the package."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    parts = parts[1:] if parts[0] == "include" else parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


TYPE_CHECKING_TESTS = {"TYPE_CHECKING", "typing.TYPE_CHECKING"}

MODULES = {
    module_name(path): path for path in [*PACKAGE.rglob("*.py"), *(ROOT / "dags").glob("*.py")]
}


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports at run time, at the top or inside a function; ``from
    package import module`` counts as the module. Imports under ``if TYPE_CHECKING:`` only name
    types for annotations (never run), so they do not count."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in TYPE_CHECKING_TESTS:
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return found


def layer(module: str) -> int | None:
    """The layer of one of our modules (by its longest matching name), None for others."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        name = ".".join(parts[:end])
        if name in LAYERS:
            return LAYERS[name]
    return None


def within(module: str, names: tuple[str, ...]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in names)


def breaches(module: str, path: Path) -> set[str]:
    """What ``module`` imports against the rules: a module of a layer above its own, Airflow
    from outside the seam."""
    own = layer(module)
    return {
        name
        for name in imported_modules(path)
        if (layer(name) or 0) > own
        or (within(name, ("airflow",)) and not within(module, AIRFLOW_SEAM))
    }


def test_every_module_has_a_layer() -> None:
    assert not [module for module in MODULES if layer(module) is None]


def test_the_import_graph_runs_one_way() -> None:
    found = {module: breaches(module, path) for module, path in MODULES.items()}

    assert {module: sorted(names) for module, names in found.items() if names} == {}


def test_the_rules_see_what_they_guard() -> None:
    # the scan sees imports inside functions and `from package import module`, and not those
    # that only name types
    assert {"aftercare.extract", "aftercare.connections"} <= imported_modules(
        MODULES["aftercare.tasks.nightly"]
    )
    assert "aftercare.ats.base" not in imported_modules(MODULES["aftercare.tasks.nightly"])
    # a stage importing a task body, the warehouse importing a stage, a stage importing Airflow
    assert layer("aftercare.tasks.nightly") > layer("aftercare.extract")
    assert layer("aftercare.extract") > layer("aftercare.warehouse")
    assert not within("aftercare.extract", AIRFLOW_SEAM)


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
