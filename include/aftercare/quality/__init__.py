"""Data quality: the Great Expectations gate between the ATS and staging (`gate`), with its
rules in one place (`suites`). This module only says where the GX project lives, so it can be
imported without Great Expectations."""

from __future__ import annotations

from pathlib import Path

from aftercare import PROJECT_ROOT
from aftercare.config import Config


def project_dir(config: Config) -> Path:
    """The GX project folder (suites, results, Data Docs)."""
    return PROJECT_ROOT / config.quality.gx_project_dir


def docs_index(config: Config) -> Path:
    """The Data Docs site's front page."""
    return project_dir(config) / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
