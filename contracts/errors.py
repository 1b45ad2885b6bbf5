"""The root of every contracts error, and the tree drawn in one place.

Exception tree::

    ContractError           base of everything ``contracts`` raises on purpose
    └── StateSetupError     a provider state could not be made true (states.py; also a RuntimeError)
"""

from __future__ import annotations


class ContractError(Exception):
    """Base of every error the contracts package raises."""
