"""Fixtures of the browser tier: ``shoplab console`` as its own process, and real Chromium through Playwright."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from shoplab.runtime.stack import Stack
from shoplab.runtime.tools import ensure_tool
from tests.support import poll_until


@dataclass(frozen=True)
class RunningConsole:
    """The console process and where it answers."""

    url: str
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def console(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningConsole]:
    """Run ``shoplab console`` on the session's stack; stop it (SIGTERM rolls back its faults) afterwards."""
    port = 8095 + stack.topology.port_offset
    env = {**os.environ, "SHOPLAB_RUN_DIR": str(stack.run_dir), "SHOPLAB_PORT_OFFSET": str(stack.topology.port_offset)}
    log = (tmp_path_factory.mktemp("console") / "console.log").open("ab")  # its requests and tracebacks, for a failing test
    proc = subprocess.Popen([sys.executable, "-m", "shoplab", "console", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"shoplab console exited with {proc.returncode}")
        return httpx.get(url + "/", timeout=1.0).status_code == 200

    try:
        poll_until(up, timeout_s=30, interval_s=0.2, message="the console answers", reraise=(RuntimeError,))
        yield RunningConsole(url, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Launch Debian's Chromium (never a downloaded one); fail clearly when it is not installed."""
    chromium = ensure_tool("chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Browser, console: RunningConsole) -> Iterator[Page]:
    """Open the console in a fresh browser context (no admin token in its session) and wait for live data."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.goto(console.url + "/")
    p.wait_for_selector("body[data-seq]", timeout=10_000)
    try:
        yield p
    finally:
        context.close()
    assert errors == [], f"the page raised: {errors}"
