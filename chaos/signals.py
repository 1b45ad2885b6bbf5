"""Turn SIGTERM into an exception the runner can roll back from, and shield rollbacks from signals."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from chaos.errors import RunInterrupted


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def raise_on_sigterm() -> Iterator[None]:
    """Raise RunInterrupted in the main thread when SIGTERM arrives (Ctrl-C stays KeyboardInterrupt)."""
    if not _in_main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise RunInterrupted(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def signals_deferred() -> Iterator[list[str]]:
    """Hold SIGTERM and SIGINT while the body runs (a rollback must finish); re-raise after.

    Yields the list of signals that arrived; when it is not empty at the end, the
    interruption is raised again once the body is done.
    """
    arrived: list[str] = []
    if not _in_main_thread():
        yield arrived
        return

    def record(signum: int, frame: FrameType | None) -> None:
        arrived.append(signal.Signals(signum).name)

    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, record)
    try:
        yield arrived
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if arrived:
        raise RunInterrupted(arrived[0])
