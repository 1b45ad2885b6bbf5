"""CPU seconds of process trees and of the whole machine, and py-spy profiles of running workers.

A throughput window on a shared machine measures the shop and its neighbours together; the
CPU its process tree spent per answered request does not depend on how much CPU the
neighbours left it, so benchmarks record both.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def tree_cpu_s(pid: int) -> float:
    """Return user + system CPU seconds of ``pid`` and every process under it (what is alive now)."""
    total = 0.0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def machine_cpu_s() -> tuple[float, float]:
    """Return (busy, stolen) CPU seconds of all the machine's cores since boot.

    Busy is every tenant's work; stolen is time the hypervisor gave this VM's cores to others.
    """
    t = psutil.cpu_times()
    steal = getattr(t, "steal", 0.0)
    idle = t.idle + getattr(t, "iowait", 0.0)
    guests = getattr(t, "guest", 0.0) + getattr(t, "guest_nice", 0.0)  # already inside user
    return sum(t) - idle - steal - guests, steal


def gunicorn_worker(master_pid: int) -> int:
    """Return the pid of the (single) worker under a gunicorn master."""
    children = psutil.Process(master_pid).children()
    if not children:
        raise RuntimeError(f"gunicorn master {master_pid} has no worker")
    return int(children[0].pid)


def find_py_spy() -> str:
    """Return the py-spy executable (installed with the dev packages), or say how to get it."""
    exe = shutil.which("py-spy") or str(Path(__import__("sys").executable).with_name("py-spy"))
    if not Path(exe).exists():
        raise RuntimeError("py-spy is not installed: `make dev-packages` (or `.venv/bin/pip install py-spy`)")
    return exe


def start_py_spy(pid: int, seconds: float, out: Path, *, rate: int = 100) -> subprocess.Popen[bytes]:
    """Start ``py-spy record --gil`` on ``pid`` for ``seconds``, writing collapsed stacks to ``out``."""
    cmd = [find_py_spy(), "record", "--gil", "--nonblocking", "--format", "raw", "--rate", str(rate),
           "--duration", str(max(1, round(seconds))), "--pid", str(pid), "--output", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _frame(text: str) -> str:
    m = _FRAME.match(text.strip())
    if not m:
        return text.strip()
    file = m["file"]
    marker = file.rfind("site-packages/")
    file = file[marker + len("site-packages/"):] if marker >= 0 else file.rsplit("/shoplab/", 1)[-1]
    return f"{m['func']} ({file})"


def _stacks(collapsed: Path) -> Iterator[tuple[str, int]]:
    """Yield each stack of py-spy's collapsed output (``frame;frame;... count``) with its sample count."""
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if stack and count_text.isdigit():
            yield stack, int(count_text)


def top_frames(collapsed: Path, n: int = 15) -> dict[str, Any]:
    """Summarise py-spy's collapsed stacks: the ``n`` frames most often on top, and most often anywhere.

    Shares are of all samples taken while a thread held the GIL (``--gil``).
    """
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    for stack, count in _stacks(collapsed):
        frames = [_frame(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            anywhere[frame] += count

    def share(counter: Counter[str]) -> list[list[Any]]:
        return [[frame, round(100 * c / total, 1)] for frame, c in counter.most_common(n)] if total else []

    return {"samples": total, "self_pct": share(own), "inclusive_pct": share(anywhere)}


def group_shares(collapsed: Path, groups: dict[str, str]) -> dict[str, float]:
    """Return the % of samples whose stack holds a frame of each group (file regex), outermost group first.

    A sample counts once, for the first group found walking from the thread's root, so a span
    started inside a kit hook counts for the hook: the groups add up to the share they explain.
    """
    patterns = {name: re.compile(rx) for name, rx in groups.items()}
    counts: Counter[str] = Counter()
    total = 0
    for stack, count in _stacks(collapsed):
        total += count
        for frame in stack.split(";"):
            hit = next((name for name, rx in patterns.items() if rx.search(_frame(frame))), None)
            if hit is not None:
                counts[hit] += count
                break
    shares = {name: round(100 * counts[name] / total, 1) if total else 0.0 for name in groups}
    shares["all of these"] = round(sum(shares.values()), 1)
    return shares
