"""Render a report in headless Chromium (Debian ``chromium``) and say what it showed and logged."""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shoplab.runtime.tools import ensure_tool

_CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]? (.*)")


@dataclass(frozen=True)
class RenderResult:
    """What the page became once its scripts ran, and what it wrote to the console."""

    dom: str
    console: tuple[str, ...]
    charts: int
    rendered: bool


def render_page(index: Path, *, timeout_s: float = 90.0) -> RenderResult:
    """Load ``index`` (a file, offline) in headless Chromium; return its DOM and console messages.

    Installs Debian's chromium on this first need when the machine can (apt-get as root or
    through sudo); raises ToolMissing (saying how to install it) when it cannot, InstallFailed
    (with the failing command and the setup log's tail) when the install fails.
    """
    chromium = ensure_tool("chromium")
    with tempfile.TemporaryDirectory(prefix="shoplab-chromium-") as profile:
        proc = subprocess.run(
            [str(chromium), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--no-first-run", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             "--dump-dom", index.resolve().as_uri()],
            capture_output=True, text=True, timeout=timeout_s, check=False,
        )
    console = tuple(m.group(1) for line in proc.stderr.splitlines() if (m := _CONSOLE.search(line)))
    dom = proc.stdout
    charts_attr = re.search(r'data-charts="(\d+)"', dom)
    return RenderResult(
        dom=dom,
        console=console,
        charts=int(charts_attr.group(1)) if charts_attr else 0,
        rendered='data-rendered="yes"' in dom,
    )
