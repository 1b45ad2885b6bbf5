"""Name every way a chaos run can fail, in one tree; the cause is always kept.

Exception tree::

    ChaosError                  base of everything ``chaos`` raises on purpose
    ├── ExperimentInvalid       a YAML file breaks the schema (names key and expectation)
    ├── SpecInvalid             a toxic, fault or profile given in code is out of range
                                (also a ValueError, as the values are the caller's)
    ├── ToxiproxyError          the Toxiproxy API refused or could not be reached
    ├── AdminError              a service's admin API refused or could not be reached
    ├── FaultError              a fault could not be applied or rolled back
    └── ProxiesOff              the stack runs with SHOPLAB_PROXIES=off: no edge to fault

    RunInterrupted              SIGTERM arrived: a KeyboardInterrupt, so no
                                ``except Exception`` swallows it; rollbacks still run
"""

from __future__ import annotations


class ChaosError(Exception):
    """Base of every error the chaos package raises on purpose."""


class ExperimentInvalid(ChaosError):
    """An experiment file breaks the schema; the message names the key and what was expected."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.detail = message


class SpecInvalid(ChaosError, ValueError):
    """A toxic, fault or profile built in code has a value out of range; the message names it."""


class ToxiproxyError(ChaosError):
    """The Toxiproxy API answered an error or could not be reached."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class AdminError(ChaosError):
    """A service's admin API answered an error or could not be reached."""

    def __init__(self, message: str, *, service: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.service = service
        self.status_code = status_code


class FaultError(ChaosError):
    """A fault could not be applied or rolled back."""


class RunInterrupted(KeyboardInterrupt):
    """The run was interrupted by a signal; every fault is still rolled back."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(f"interrupted by {signal_name}")
        self.signal_name = signal_name


class ProxiesOff(ChaosError):
    """The stack runs without edge proxies (``SHOPLAB_PROXIES=off``), so nothing can fault an edge."""
