"""The Data Docs' front page: the gate's verdict of each night, apart from its record checks.

GX's own index of the site needs scripts and styles from CDNs (offline it shows nothing), and
it marks a record check (a row suite) "Failed" whenever a single record was quarantined, which
is what the check is for: on a night the gate passed, it read as a failed night. This page,
built after GX's, is one self-contained file (no scripts, no external loads): for each pass of
the gate its verdict (the load suite's), and the record checks of the pass as what they did
(records judged, quarantined and held back), each linking to its GX page, which reads offline.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine

from aftercare import warehouse
from aftercare.config import Config
from aftercare.quality import docs_index, suites

#: How many passes of the gate the page lists (newest first).
PASSES = 60

_env = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent)),
    autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
)


def verdicts(engine: Engine) -> Iterator[dict[str, Any]]:
    """Each pass of the gate, newest first: its verdict and its record checks by suite."""
    with warehouse.transaction(engine) as conn:
        rows = warehouse.query_file(
            conn,
            "quality/docs_verdicts.sql",
            {"load_suite": suites.LOAD_SUITE, "passes": PASSES},
        )
    for _, group in groupby(rows, key=lambda row: (row["run_id"], row["validated_at"])):
        checks = list(group)
        yield {**checks[0], "checks": [check for check in checks if check["suite"]]}


def build_front_page(engine: Engine, config: Config) -> Path:
    """Write the front page (``docs_index``) from ``quality.validation_runs``."""
    page = docs_index(config)
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(
        _env.get_template("docs.html.j2").render(
            passes=list(verdicts(engine)),
            load_suite=suites.LOAD_SUITE,
            max_share=config.quality.max_quarantined_share,
        )
    )
    return page
