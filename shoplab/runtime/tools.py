"""Find and install the native tools: toxiproxy-server, prometheus/promtool, jaeger, docker-compose.

Each tool arrives from a package registry only (the Go module proxy or Debian's
packages); nothing is downloaded at run time. ``python -m shoplab.runtime.tools install``
is what ``make setup`` runs: a second run finds everything and installs nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from shoplab import REPO_ROOT

TOOLS_DIR = Path(os.environ.get("SHOPLAB_TOOLS_DIR") or REPO_ROOT / ".tools" / "bin")

TOXIPROXY_VERSION = "2.12.0"
# Jaeger tags each release twice (v1.N and v2.M, v1.62.0 being v2.0.0); only the v1 tags are
# valid Go module versions, so v1.76.0 is how the Go proxy serves that Jaeger v2 release.
JAEGER_VERSION = "1.76.0"


class ToolMissing(RuntimeError):
    """A native tool is not installed; the message says how to install it."""


@dataclass(frozen=True)
class Tool:
    """A native tool: its executable name, where we look, and how to get it."""

    name: str
    hint: str
    in_tools_dir: bool


TOOLS: dict[str, Tool] = {
    "toxiproxy-server": Tool(
        "toxiproxy-server",
        "run `make setup` (it needs Go: `go install github.com/Shopify/toxiproxy/v2/cmd/server"
        f"@v{TOXIPROXY_VERSION}`); without Go, take the toxiproxy-server binary of v{TOXIPROXY_VERSION} "
        "from the Shopify/toxiproxy GitHub releases page and put it at .tools/bin/toxiproxy-server",
        True,
    ),
    "prometheus": Tool("prometheus", "run `make setup` (or `apt-get update && apt-get install -y prometheus`)", False),
    "promtool": Tool("promtool", "run `make setup` (or `apt-get update && apt-get install -y prometheus`)", False),
    # Compose v1 from Debian: `docker-compose config -q` validates docker-compose.yml without an engine.
    "docker-compose": Tool(
        "docker-compose", "run `make setup` (or `apt-get update && apt-get install -y docker-compose`)", False
    ),
    # Headless Chromium from Debian: the chaos report's index.html is checked by rendering it.
    "chromium": Tool("chromium", "run `make setup` (or `apt-get update && apt-get install -y chromium`)", False),
    "jaeger": Tool(
        "jaeger",
        f"run `make setup` (it needs Go; it builds ./cmd/jaeger of github.com/jaegertracing/jaeger@v{JAEGER_VERSION})",
        True,
    ),
}


def find_tool(name: str) -> Path | None:
    """Return the path of tool ``name``, or None when it is not installed."""
    tool = TOOLS[name]
    if tool.in_tools_dir:
        candidate = TOOLS_DIR / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def ensure_tool(name: str) -> Path:
    """Return the path of tool ``name``; raise ToolMissing saying how to install it."""
    path = find_tool(name)
    if path is None:
        raise ToolMissing(f"{name} is not installed: {TOOLS[name].hint}")
    return path


def _say(msg: str) -> None:
    print(f"[setup] {msg}", flush=True)


def _go_install(package: str, binary: str, target: str, ldflags: str | None = None) -> None:
    go = shutil.which("go")
    if go is None:
        raise ToolMissing(f"{target} is not installed and Go is not on PATH: {TOOLS[target].hint}")
    TOOLS_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as gobin:
        cmd = [go, "install"]
        if ldflags:
            cmd += ["-ldflags", ldflags]
        cmd.append(package)
        _say(f"building {target}: {' '.join(cmd)}")
        started = time.monotonic()
        subprocess.run(cmd, check=True, env={**os.environ, "GOBIN": gobin, "CGO_ENABLED": "0"})
        shutil.move(str(Path(gobin) / binary), TOOLS_DIR / target)
        _say(f"{target} built in {time.monotonic() - started:.0f} s")


def install_toxiproxy() -> None:
    """Build toxiproxy-server v2.12.0 into the tools folder (renamed from ``server``)."""
    if find_tool("toxiproxy-server"):
        return
    _go_install(
        f"github.com/Shopify/toxiproxy/v2/cmd/server@v{TOXIPROXY_VERSION}",
        "server",
        "toxiproxy-server",
        ldflags=f"-X github.com/Shopify/toxiproxy/v2.Version={TOXIPROXY_VERSION}",
    )


def _apt_install(package: str, tool: str) -> None:
    apt = shutil.which("apt-get")
    if apt is None:
        raise ToolMissing(f"{tool} is not installed and apt-get is missing: {TOOLS[tool].hint}")
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    _say(f"installing Debian package {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*prefix, apt, "update", "-q"], check=True, env=env)
    subprocess.run([*prefix, apt, "install", "-y", "-q", "--no-install-recommends", package], check=True, env=env)


def install_prometheus() -> None:
    """Install Debian's ``prometheus`` package (prometheus and promtool) when missing."""
    if find_tool("prometheus") and find_tool("promtool"):
        return
    _apt_install("prometheus", "prometheus")


def install_docker_compose() -> None:
    """Install Debian's ``docker-compose`` package (the compose file's validator) when missing."""
    if find_tool("docker-compose"):
        return
    _apt_install("docker-compose", "docker-compose")


def install_chromium() -> None:
    """Install Debian's ``chromium`` package (renders the chaos report headless) when missing."""
    if find_tool("chromium"):
        return
    _apt_install("chromium", "chromium")


def install_jaeger() -> None:
    """Build Jaeger v2 into the tools folder when missing.

    ``go install jaeger@version`` refuses the module (its go.mod has a replace
    directive), so fetch the module through the Go module proxy and build
    ``./cmd/jaeger`` inside it, with the module's own go.mod and go.sum.
    """
    if find_tool("jaeger"):
        return
    go = shutil.which("go")
    if go is None:
        raise ToolMissing(f"jaeger is not installed and Go is not on PATH: {TOOLS['jaeger'].hint}")
    module = f"github.com/jaegertracing/jaeger@v{JAEGER_VERSION}"
    _say(f"downloading {module} from the Go module proxy")
    out = subprocess.run([go, "mod", "download", "-json", module], check=True, capture_output=True, text=True)
    src = json.loads(out.stdout)["Dir"]
    TOOLS_DIR.mkdir(parents=True, exist_ok=True)
    _say("building jaeger (several minutes on a fresh machine; cached afterwards)")
    started = time.monotonic()
    subprocess.run(
        [go, "build", "-o", str(TOOLS_DIR / "jaeger"), "./cmd/jaeger"],
        check=True,
        cwd=src,
        env={**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"},
    )
    _say(f"jaeger built in {time.monotonic() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    """Install every missing tool (``install``) or list where each one is (``status``)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["install"]:
        only = set(args[1:])
        steps = {
            "toxiproxy-server": install_toxiproxy,
            "prometheus": install_prometheus,
            "docker-compose": install_docker_compose,
            "chromium": install_chromium,
            "jaeger": install_jaeger,
        }
        try:
            for name, step in steps.items():
                if not only or name in only:
                    step()
        except (ToolMissing, subprocess.CalledProcessError) as exc:
            print(f"[setup] failed: {exc}", file=sys.stderr)
            return 1
    for name in TOOLS:
        path = find_tool(name)
        print(f"[setup] {name:17} {path or 'MISSING: ' + TOOLS[name].hint}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
