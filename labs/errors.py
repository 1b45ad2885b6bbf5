"""Name every way the labs can fail, in one tree; the cause is always kept.

Exception tree::

    LabError            base of everything ``labs`` raises on purpose
    ├── LabInvalid      a lab folder or file is malformed (names the file and the key);
    │                   also a ValueError, as the lab's author gave a bad value
    └── LabSetupFailed  the shop could not be put in a lab's starting state
"""

from __future__ import annotations


class LabError(Exception):
    """Base of every error the labs package raises on purpose."""


class LabInvalid(LabError, ValueError):
    """A lab folder or file is malformed; the message names the file and the key."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


class LabSetupFailed(LabError, RuntimeError):
    """The shop could not be put in a lab's starting state (e.g. a fault would not clear)."""
