"""Data quality: the Great Expectations gate between the ATS and staging (`gate`), with its
rules in one place (`suites`). This module only says where the GX project lives, so it can be
imported without Great Expectations."""

from __future__ import annotations

import logging
from pathlib import Path

from aftercare import PROJECT_ROOT
from aftercare.config import Config

# GX logs at INFO as it is imported (hundreds of "Skipping registering function" lines) and at
# every store write; the gate's own log says what was validated. Set before `gate` and `suites`
# import GX, which they do after this package.
logging.getLogger("great_expectations").setLevel(logging.WARNING)


def project_dir(config: Config) -> Path:
    """The GX project folder (suites, results, Data Docs)."""
    return PROJECT_ROOT / config.quality.gx_project_dir


def docs_index(config: Config) -> Path:
    """The Data Docs' front page (`docs`): each night's verdict, linking to the GX pages."""
    return project_dir(config) / "gx" / "uncommitted" / "data_docs" / "local_site" / "nights.html"
