"""Where the bundled data lives: the project root, its fixtures and the harness's JSON schemas."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SCHEMAS = Path(__file__).resolve().parent / "schema"
