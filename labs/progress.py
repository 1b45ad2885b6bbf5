"""Keep a learner's lab progress (current lab, hints shown, answers) in ``<run dir>/labs.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PROGRESS_FILE = "labs.json"


def read_progress(run_dir: Path) -> dict[str, Any]:
    """Return the lab progress kept in the run folder (empty when none)."""
    try:
        data = json.loads((run_dir / PROGRESS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_progress(run_dir: Path, progress: dict[str, Any]) -> None:
    """Write the lab progress into the run folder."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / PROGRESS_FILE).write_text(json.dumps(progress, indent=2))
