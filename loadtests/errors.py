"""The root of every loadtests error, and the tree drawn in one place.

Exception tree::

    LoadTestError           base of everything ``loadtests`` raises on purpose
    ├── LoadError           a load run could not start or produced no results (also a RuntimeError)
    ├── ShapeError          a shape name or parameter is invalid (shapes.py; also a ValueError)
    ├── ThresholdError      a thresholds file or flag is malformed (thresholds.py; also a ValueError)
    └── JourneyAborted      a journey step failed inside a Locust user (journeys.py)

The second bases keep every existing ``except ValueError``/``except RuntimeError`` working.
"""

from __future__ import annotations


class LoadTestError(Exception):
    """Base of every error the loadtests package raises."""


class LoadError(LoadTestError, RuntimeError):
    """A load run could not start or produced no results; the message says why."""
