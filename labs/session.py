"""Run the lab commands' work on a live stack: start a lab, check it and write its report, reset the shop.

Each function does the work and keeps the learner's progress (``labs.progress``);
``shoplab lab`` only parses its options and prints what these return.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chaos.journal import get_versions
from chaos.report import report_dir_name, write_report
from chaos.runner import Observer
from chaos.signals import raise_on_sigterm, signals_deferred
from labs.model import Lab
from labs.progress import read_progress, write_progress
from labs.runner import CheckResult, get_live_settings, reset_shop, run_check, start_lab


def start(stack: Any, lab: Lab) -> list[str]:
    """Put the shop in the lab's starting state, make it the current lab; return what was done."""
    done = start_lab(stack, lab)
    progress = read_progress(stack.run_dir)
    progress["lab"] = lab.number
    progress.setdefault("hints", {})[lab.number] = 0
    progress.setdefault("answers", {}).pop(lab.number, None)
    write_progress(stack.run_dir, progress)
    return done


def check(stack: Any, lab: Lab, *, quick: bool, answer: str | None, reports_root: Path,
          observers: Sequence[Observer] = ()) -> tuple[CheckResult, Path | None]:
    """Run the lab's check on the live settings and write its report; return the result and the report index."""
    out = reports_root / report_dir_name(f"lab-{lab.number}")
    live = get_live_settings(stack)  # what was measured: the journal keeps it to re-run the check
    index: Path | None
    with raise_on_sigterm():
        result = run_check(stack, lab, quick=quick, out_dir=out, answer=answer, observers=observers)
        with signals_deferred():
            try:
                index = write_report(out, result.record, settings={
                    "lab": lab.name, "quick": quick, "answer": answer, "port_offset": stack.topology.port_offset,
                    "run_dir": str(stack.run_dir), "argv": sys.argv,
                    "live_settings": live}, versions=get_versions(None))
            except Exception as exc:  # the verdict stands without the report
                index = None
                result.problems.append(f"report not written: {exc!r}")
    return result, index


def record_answer(run_dir: Path, lab: Lab, answer: str) -> None:
    """Remember the learner's answer so the next check uses it."""
    progress = read_progress(run_dir)
    progress.setdefault("answers", {})[lab.number] = answer
    write_progress(run_dir, progress)


def next_hint(run_dir: Path, lab: Lab) -> int | None:
    """Return the index of the next hint to show and count it as shown (None when every hint was shown)."""
    progress = read_progress(run_dir)
    shown = int(progress.setdefault("hints", {}).get(lab.number, 0))
    if shown >= len(lab.hints):
        return None
    progress["hints"][lab.number] = shown + 1
    write_progress(run_dir, progress)
    return shown


def reset(stack: Any) -> list[str]:
    """Return the shop to its default and forget the current lab; return what was done."""
    done = reset_shop(stack)
    progress = read_progress(stack.run_dir)
    progress.pop("lab", None)
    write_progress(stack.run_dir, progress)
    return done
