"""Say which native tools exist, which package provides each, where it comes from and when it is needed.

Each package arrives from a package registry only (the Go module proxy or Debian's
packages); nothing is downloaded from anywhere else.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from shoplab import REPO_ROOT

TOXIPROXY_VERSION = "2.12.0"
# Jaeger tags each release twice (v1.N and v2.M, v1.62.0 being v2.0.0); only the v1 tags are
# valid Go module versions, so v1.76.0 is how the Go proxy serves that Jaeger v2 release.
JAEGER_VERSION = "1.76.0"
# Helm v3 renders and lints deploy/helm/shoplab; actionlint checks .github/workflows/shoplab.yml.
HELM_VERSION = "3.21.4"
ACTIONLINT_VERSION = "1.7.12"


class Method(StrEnum):
    """How a package is installed."""

    GO_INSTALL = "go install"
    GO_BUILD = "go build"
    APT = "apt-get"


@dataclass(frozen=True)
class Tool:
    """A native executable: its name, the package that provides it, where we look, and how to get it."""

    name: str
    package: str
    hint: str
    in_tools_dir: bool


@dataclass(frozen=True)
class Package:
    """One install step: what it provides, how it is installed, and what its one line says."""

    name: str
    provides: tuple[str, ...]
    method: Method
    version: str | None = None
    # slow: a TTY shows a spinner with the elapsed time; plain output announces the start
    slow: bool = False

    @property
    def label(self) -> str:
        """Return what the line names: the package and, when pinned, its version."""
        return f"{self.name} {self.version}" if self.version else self.name

    @property
    def doing(self) -> str:
        """Return what the step is doing, for the progress indicator."""
        return {
            Method.GO_INSTALL: "building with go (Go module proxy)",
            Method.GO_BUILD: "building with go (Go module proxy), minutes on a first build",
            Method.APT: "installing with apt-get (Debian)",
        }[self.method]

    @property
    def done(self) -> str:
        """Return where it came from, for the line once installed."""
        return {
            Method.GO_INSTALL: "built with go (Go module proxy)",
            Method.GO_BUILD: "built with go (Go module proxy)",
            Method.APT: f"apt-get install {self.name} (Debian)",
        }[self.method]


def _apt_hint(package: str) -> str:
    return f"run `make tools-all` (or `apt-get update && apt-get install -y {package}`)"


TOOLS: dict[str, Tool] = {
    "toxiproxy-server": Tool(
        "toxiproxy-server",
        "toxiproxy-server",
        "run `make setup` (it needs Go: `go install github.com/Shopify/toxiproxy/v2/cmd/server"
        f"@v{TOXIPROXY_VERSION}`); without Go, take the toxiproxy-server binary of v{TOXIPROXY_VERSION} "
        "from the Shopify/toxiproxy GitHub releases page and put it at .tools/bin/toxiproxy-server",
        True,
    ),
    "prometheus": Tool("prometheus", "prometheus", _apt_hint("prometheus"), False),
    "promtool": Tool("promtool", "prometheus", _apt_hint("prometheus"), False),
    # Compose v1 from Debian: `docker-compose config -q` validates docker-compose.yml without an engine.
    "docker-compose": Tool("docker-compose", "docker-compose", _apt_hint("docker-compose"), False),
    # Headless Chromium from Debian: the chaos report's index.html is checked by rendering it.
    "chromium": Tool("chromium", "chromium", _apt_hint("chromium"), False),
    "jaeger": Tool(
        "jaeger",
        "jaeger",
        "run `make tools-all` (it needs Go; it builds ./cmd/jaeger of "
        f"github.com/jaegertracing/jaeger@v{JAEGER_VERSION})",
        True,
    ),
    "helm": Tool(
        "helm",
        "helm",
        f"run `make tools` (it needs Go: `go install helm.sh/helm/v3/cmd/helm@v{HELM_VERSION}`)",
        True,
    ),
    "actionlint": Tool(
        "actionlint",
        "actionlint",
        "run `make tools` (it needs Go: `go install github.com/rhysd/actionlint/cmd/actionlint"
        f"@v{ACTIONLINT_VERSION}`)",
        True,
    ),
}

PACKAGES: dict[str, Package] = {
    "toxiproxy-server": Package(
        "toxiproxy-server", ("toxiproxy-server",), Method.GO_INSTALL, TOXIPROXY_VERSION
    ),
    "prometheus": Package("prometheus", ("prometheus", "promtool"), Method.APT),
    "docker-compose": Package("docker-compose", ("docker-compose",), Method.APT),
    "chromium": Package("chromium", ("chromium",), Method.APT),
    "jaeger": Package("jaeger", ("jaeger",), Method.GO_BUILD, JAEGER_VERSION, slow=True),
    "helm": Package("helm", ("helm",), Method.GO_INSTALL, HELM_VERSION, slow=True),
    "actionlint": Package("actionlint", ("actionlint",), Method.GO_INSTALL, ACTIONLINT_VERSION),
}

# Module path and command package of each tool built with `go install <package>@v<version>`.
GO_MODULES: dict[str, str] = {
    "toxiproxy-server": "github.com/Shopify/toxiproxy/v2/cmd/server",
    "helm": "helm.sh/helm/v3/cmd/helm",
    "actionlint": "github.com/rhysd/actionlint/cmd/actionlint",
}


class Purpose(StrEnum):
    """What a set of tools is installed for (``python -m shoplab.runtime.tools install --for``)."""

    DEMO = "demo"
    UP = "up"
    TEST = "test"


# What is needed when. The demo runs the flagship experiment on a stack without
# observability, so it waits for toxiproxy only; Jaeger (minutes to build), Chromium and
# docker-compose are installed when something first needs them.
NEEDS: dict[Purpose, tuple[str, ...]] = {
    Purpose.DEMO: ("toxiproxy-server",),
    # `shoplab up` starts Prometheus and Jaeger next to the shop when they are installed
    Purpose.UP: ("toxiproxy-server", "prometheus", "jaeger"),
    # promtool, docker-compose, helm and actionlint (unit), chromium (integration, e2e), Prometheus and
    # Jaeger (observability)
    Purpose.TEST: ("toxiproxy-server", "prometheus", "docker-compose", "chromium", "jaeger", "helm", "actionlint"),
}


def tools_dir() -> Path:
    """Return where the Go-built tools go: ``SHOPLAB_TOOLS_DIR`` or ``.tools/bin`` in the checkout."""
    return Path(os.environ.get("SHOPLAB_TOOLS_DIR") or REPO_ROOT / ".tools" / "bin")


def find_tool(name: str) -> Path | None:
    """Return the path of tool ``name``, or None when it is not installed."""
    tool = TOOLS[name]
    if tool.in_tools_dir:
        candidate = tools_dir() / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    return Path(found) if found else None
