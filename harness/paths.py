"""Where the bundled data lives: the project root, its fixtures and the harness's JSON schemas."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SCHEMAS = Path(__file__).resolve().parent / "schema"


def real(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute with its symbolic links followed; a link that loops is left as it
    is (reading it then reports the loop as a ``file:line`` error, not an exception here)."""
    return Path(os.path.realpath(path))
