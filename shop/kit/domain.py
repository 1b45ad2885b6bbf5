"""The base of a service's domain refusals: a message, an optional ``code`` and ``details``.

Domain errors live in each service's ``model.py`` (no Flask, no HTTP); ``api.py`` maps
each kind to a kit HTTP error with ``shop.kit.errors.map_domain_errors``, which keeps
the message and reads ``code`` and ``details`` from here.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the domain makes on purpose; subclasses set ``code``."""

    code: str | None = None

    def __init__(self, message: str, *, details: Any | None = None) -> None:
        super().__init__(message)
        self.details = details
