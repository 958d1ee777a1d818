"""The docs name what the code does: the two commands up front in the README, every connection
and pool in the configuration document, and every relative link in the Markdown resolves."""

from __future__ import annotations

import re
from pathlib import Path

from aftercare.config import load_config
from aftercare.connections import CONNECTIONS
from tests import ROOT

README = (ROOT / "README.md").read_text()
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()


def test_the_two_commands_are_on_the_first_screen() -> None:
    first_screen = "\n".join(README.splitlines()[:25])
    assert "make demo" in first_screen and "make test" in first_screen
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.M))
    assert {"demo", "test", "airflow"} <= targets


def test_ci_runs_exactly_make_test() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test\b", ci, re.M)


def test_every_connection_and_pool_is_documented() -> None:
    for conn_id in CONNECTIONS:
        assert f"`{conn_id}`" in CONFIGURATION, conn_id
    for pool in load_config().airflow.pools:
        assert f"`{pool}`" in CONFIGURATION, pool


DOCUMENTS = [
    ROOT / "README.md",
    *(ROOT / "docs").glob("*.md"),
    *(ROOT / "dags").glob("*.md"),
    ROOT / "benchmarks" / "README.md",
]


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file (outside code blocks)."""
    found, fenced = set(), False
    for line in path.read_text().splitlines():
        fenced ^= line.startswith("```")
        if heading := not fenced and re.match(r"#+ (.+)", line):
            text = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower())
            found.add(text.replace(" ", "-"))
    return found


def test_every_link_to_a_heading_finds_it() -> None:
    """A link to ``file.md#anchor`` (or ``#anchor``) names a heading of that file."""
    broken = [
        f"{path.relative_to(ROOT)}: {target}"
        for path in DOCUMENTS
        for target in re.findall(r"\]\(([^)\s]+\.md)?#([^)\s]+)\)", path.read_text())
        if target[1] not in anchors(path.parent / target[0] if target[0] else path)
    ]
    assert not broken


def test_every_relative_link_resolves() -> None:
    documents = DOCUMENTS
    broken = [
        f"{path.relative_to(ROOT)}: {target}"
        for path in documents
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text())
        if not re.match(r"[a-z]+:|#", target) and not (path.parent / target.split("#")[0]).exists()
    ]
    assert documents and not broken
