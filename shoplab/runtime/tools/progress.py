"""Print one line per tool: what, where from, how long; a spinner with the elapsed time on a TTY."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

LABEL_WIDTH = 24
OUTCOME_WIDTH = 36


def format_line(label: str, outcome: str, detail: str = "") -> str:
    """Return one tool's line, in columns: ``toxiproxy-server 2.12.0  built with go (...)  1.4 s``."""
    return f"{label:<{LABEL_WIDTH}} {outcome:<{OUTCOME_WIDTH}} {detail}".rstrip()


def format_path(path: Path) -> str:
    """Return ``path`` relative to the current folder when it is inside it (``.tools/bin/jaeger``)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def format_elapsed(seconds: float) -> str:
    """Return a duration as the line shows it (``26.1 s``)."""
    return f"{seconds:.1f} s"


class Reporter(Protocol):
    """Where the install steps say what they do."""

    def working(self, label: str, doing: str, *, slow: bool) -> contextlib.AbstractContextManager[None]:
        """Show that ``label`` is being installed until the block ends."""
        ...

    def finished(self, line: str) -> None:
        """Print a tool's one line."""
        ...


class PlainReporter:
    """Print lines only (CI logs, or an install on first use under another command's spinner).

    ``announce``: also print a line when an install starts, so a wait is explained; otherwise
    only slow steps are announced.
    """

    def __init__(self, console: Console, *, announce: bool = False) -> None:
        self.console = console
        self.announce = announce

    @contextlib.contextmanager
    def working(self, label: str, doing: str, *, slow: bool) -> Iterator[None]:
        """Announce the start of a slow (or, with ``announce``, any) install."""
        if slow or self.announce:
            self.console.print(format_line(label, f"{doing} ..."), markup=False, highlight=False, soft_wrap=True)
        yield

    def finished(self, line: str) -> None:
        """Print a tool's one line."""
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)


class LiveReporter:
    """Show a spinner and the elapsed time while a step runs; leave only its one line behind."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @contextlib.contextmanager
    def working(self, label: str, doing: str, *, slow: bool) -> Iterator[None]:
        """Spin, with the elapsed time, until the block ends (the spinner is erased afterwards)."""
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=self.console, transient=True) as progress:
            progress.add_task(format_line(label, doing), total=None)
            yield

    def finished(self, line: str) -> None:
        """Print a tool's one line."""
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)


def reporter_for(console: Console) -> Reporter:
    """Return a live reporter on a terminal, plain lines otherwise (CI, pipes, logs)."""
    return LiveReporter(console) if console.is_terminal else PlainReporter(console)
