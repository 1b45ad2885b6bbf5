"""The tools' errors: a tool is missing and cannot be installed here, or installing it failed.

    RuntimeFailure (shoplab.runtime.errors)
     └─ ToolMissing        not installed, and not installable here; says how to install it
         └─ InstallFailed  an install command failed; holds the command, its exit code and the log's tail
"""

from __future__ import annotations

from shoplab.runtime.errors import RuntimeFailure


class ToolMissing(RuntimeFailure):
    """A native tool is not installed; the message says how to install it."""


class InstallFailed(ToolMissing):
    """Installing a tool failed; the message names the failing command, its exit code and the log."""
