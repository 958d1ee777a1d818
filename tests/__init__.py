"""The test suite. ROOT is the project folder."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
