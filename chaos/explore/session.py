"""Run an exploration as a command does: settings from words, a stack (attached or started), a report.

``shoplab explore`` and ``shoplab gate explore`` both go through ``run_exploration``; the
gate then compares the ``resilient`` cells with ``EXPECTED`` (``chaos/explore/expected.json``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from chaos import session
from chaos.explore.matrix import Comparison, Matrix, compare
from chaos.explore.report import write_report
from chaos.explore.runner import Explorer, ExploreSettings

EXPECTED = Path(__file__).with_name("expected.json")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")


def parse_duration_s(text: str) -> float:
    """Read ``90``, ``90s``, ``10m`` or ``1h`` as seconds; raise ValueError."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 90s, 10m or 1h")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]


def split_words(text: str | None) -> tuple[str, ...]:
    """Split a comma-separated option into its words (empty: none)."""
    return tuple(w.strip() for w in (text or "").split(",") if w.strip())


def run_exploration(settings: ExploreSettings, out_dir: Path | None, say: Callable[[str], None]
                    ) -> tuple[Matrix, dict[str, Path]]:
    """Explore on the running stack (starting one if none runs); write the report; return it."""
    ui = session.RichSessionUI(session.console, session.err_console)
    with session.ensure_stack(ui) as stack:
        matrix = Explorer(stack, settings, say).run()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return matrix, write_report(matrix, out_dir or session.reports_root() / f"{stamp}-explore")


def load_expected(path: Path = EXPECTED) -> Matrix:
    """Read the committed expected matrix."""
    return Matrix.from_json(json.loads(path.read_text()))


def gate(matrix: Matrix, expected: Path = EXPECTED) -> Comparison:
    """Compare the ``resilient`` cells of ``matrix`` with the expected matrix."""
    return compare(load_expected(expected), matrix, profile="resilient")
