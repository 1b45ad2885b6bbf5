"""The root of every labs error."""

from __future__ import annotations


class LabError(Exception):
    """Base of every error the labs raise."""
