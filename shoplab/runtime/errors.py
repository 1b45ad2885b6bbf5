"""The root of every error the runtime raises (stacks, processes, observability, tools, audit)."""

from __future__ import annotations


class RuntimeFailure(Exception):
    """Base of every runtime error; each says what failed and what to do about it."""
