"""aftercare: candidate aftercare pipelines for recruitment agencies, on Apache Airflow 3."""

from pathlib import Path

__version__ = "0.1.0"

#: The project folder (dags/, sql/, config/ sit beside include/). The package is installed in
#: editable mode from this folder locally, in tests and in the docker-compose image alike.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = PROJECT_ROOT / "sql"
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "aftercare.yaml"
