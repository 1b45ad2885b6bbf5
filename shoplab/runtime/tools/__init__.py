"""Find the native tools (toxiproxy-server, prometheus/promtool, jaeger, docker-compose, chromium, helm, actionlint) and install them on first need.

``make setup`` installs what the demo needs (toxiproxy-server); ``make test`` and
``make up`` install the rest first; any other caller of ``ensure_tool`` installs the
missing tool when it first needs it. Each install prints one line (what, where from,
how long); the package managers' output goes to ``logs/setup.log`` in the run folder
and is shown only when a step fails. ``python -m shoplab.runtime.tools`` is the command.
"""

from __future__ import annotations

from shoplab.runtime.tools.catalog import (
    ACTIONLINT_VERSION,
    HELM_VERSION,
    JAEGER_VERSION,
    NEEDS,
    PACKAGES,
    TOOLS,
    TOXIPROXY_VERSION,
    Package,
    Purpose,
    Tool,
    find_tool,
    tools_dir,
)
from shoplab.runtime.tools.errors import InstallFailed, ToolMissing
from shoplab.runtime.tools.install import Installer, ensure_tool, packages_for
from shoplab.runtime.tools.setup_log import SetupLog, setup_log_path

__all__ = [
    "ACTIONLINT_VERSION",
    "HELM_VERSION",
    "JAEGER_VERSION",
    "NEEDS",
    "PACKAGES",
    "TOOLS",
    "TOXIPROXY_VERSION",
    "InstallFailed",
    "Installer",
    "Package",
    "Purpose",
    "SetupLog",
    "Tool",
    "ToolMissing",
    "ensure_tool",
    "find_tool",
    "packages_for",
    "setup_log_path",
    "tools_dir",
]
