"""Install the native tools on first need, one line each, with the package managers' output in the setup log."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from rich.console import Console

from shoplab.runtime.tools.catalog import (
    GO_MODULES,
    HELM_VERSION,
    JAEGER_VERSION,
    NEEDS,
    PACKAGES,
    TOOLS,
    TOXIPROXY_VERSION,
    Method,
    Package,
    Purpose,
    find_tool,
    tools_dir,
)
from shoplab.runtime.tools.errors import InstallFailed, ToolMissing
from shoplab.runtime.tools.progress import PlainReporter, Reporter, format_elapsed, format_line, format_path
from shoplab.runtime.tools.setup_log import SetupLog

InstallFn = Callable[[SetupLog, Path], None]
FindFn = Callable[[str], Path | None]


# -ldflags per tool: the version a `go install` build would otherwise not stamp into the binary.
_LDFLAGS = {
    "toxiproxy-server": f"-X github.com/Shopify/toxiproxy/v2.Version={TOXIPROXY_VERSION}",
    "helm": f"-X helm.sh/helm/v3/internal/version.version=v{HELM_VERSION}",
}


def go_install(name: str) -> InstallFn:
    """Return the step building tool ``name`` with ``go install <module>@v<version>`` into the target dir."""

    def install(log: SetupLog, target_dir: Path) -> None:
        go = _require("go")
        module, version = GO_MODULES[name], PACKAGES[name].version
        target_dir.mkdir(parents=True, exist_ok=True)
        ldflags = ["-ldflags", _LDFLAGS[name]] if name in _LDFLAGS else []
        with tempfile.TemporaryDirectory() as gobin:
            log.run([go, "install", *ldflags, f"{module}@v{version}"],
                    env={**os.environ, "GOBIN": gobin, "CGO_ENABLED": "0"})
            # the binary is named after its command folder (toxiproxy's is `server`)
            shutil.move(str(Path(gobin) / module.rsplit("/", 1)[1]), target_dir / name)

    return install




def go_build_jaeger(log: SetupLog, target_dir: Path) -> None:
    """Build Jaeger v2 into ``target_dir``.

    ``go install jaeger@version`` refuses the module (its go.mod has a replace
    directive), so fetch the module through the Go module proxy and build
    ``./cmd/jaeger`` inside it, with the module's own go.mod and go.sum.
    """
    go = _require("go")
    out = log.run([go, "mod", "download", "-json", f"github.com/jaegertracing/jaeger@v{JAEGER_VERSION}"],
                  capture=True)
    target_dir.mkdir(parents=True, exist_ok=True)
    log.run(
        [go, "build", "-o", str(target_dir / "jaeger"), "./cmd/jaeger"],
        cwd=json.loads(out)["Dir"],
        env={**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"},
    )


def apt_install(package: str) -> InstallFn:
    """Return the step installing Debian package ``package`` (as root, or through sudo)."""

    def install(log: SetupLog, _target_dir: Path) -> None:
        apt = _require("apt-get")
        prefix = [] if os.geteuid() == 0 else [_require("sudo")]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        log.run_once([*prefix, apt, "update", "-q"], env=env)
        log.run([*prefix, apt, "install", "-y", "-q", "--no-install-recommends", package], env=env)

    return install


def install_fn(package: Package) -> InstallFn:
    """Return how ``package`` is installed."""
    if package.method is Method.APT:
        return apt_install(package.name)
    if package.method is Method.GO_INSTALL:
        return go_install(package.name)
    return {"jaeger": go_build_jaeger}[package.name]


def is_installable(package: Package) -> bool:
    """Return whether this machine has what installing ``package`` needs (Go, or apt-get as root/sudo)."""
    if package.method is Method.APT:
        return shutil.which("apt-get") is not None and (os.geteuid() == 0 or shutil.which("sudo") is not None)
    return shutil.which("go") is not None


def _require(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise ToolMissing(f"{program} is not on PATH, and installing this tool needs it")
    return path


class Installer:
    """Install packages that are missing, each reported in one line.

    The seams (the install steps, the lookup, the installability check and the
    clock) are parameters so the unit tests run it with fakes.
    """

    def __init__(
        self,
        reporter: Reporter,
        log: SetupLog | None = None,
        *,
        packages: Mapping[str, Package] = PACKAGES,
        steps: Mapping[str, InstallFn] | None = None,
        find: FindFn = find_tool,
        installable: Callable[[Package], bool] = is_installable,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reporter = reporter
        self.log = log or SetupLog()
        self.packages = packages
        self._steps = steps
        self._find = find
        self._installable = installable
        self._clock = clock

    def install(self, name: str) -> Path:
        """Install package ``name`` unless present; print its line; return the path of its first tool.

        Raises ToolMissing (with the hint) when it cannot be installed here, InstallFailed when a step fails.
        """
        package = self.packages[name]
        found = self._found(package)
        if found is not None:
            self.reporter.finished(format_line(package.label, "already installed", format_path(found)))
            return found
        if not self._installable(package):
            first = package.provides[0]
            raise ToolMissing(f"{first} is not installed: {TOOLS[first].hint}")
        step = self._steps[name] if self._steps is not None else install_fn(package)
        started = self._clock()
        try:
            with self.reporter.working(package.label, package.doing, slow=package.slow):
                step(self.log, tools_dir())
        except ToolMissing as exc:
            raise type(exc)(f"installing {package.label} failed: {exc}") from exc
        found = self._found(package)
        if found is None:
            missing = ", ".join(t for t in package.provides if self._find(t) is None)
            raise InstallFailed(f"{package.label} was installed but {missing} is still not found; "
                                f"see {self.log.path}")
        self.reporter.finished(format_line(package.label, package.done, format_elapsed(self._clock() - started)))
        return found

    def install_all(self, names: Iterable[str]) -> None:
        """Install each package of ``names`` in order; stop at the first failure."""
        for name in names:
            self.install(name)

    def _found(self, package: Package) -> Path | None:
        paths = [self._find(tool) for tool in package.provides]
        return paths[0] if all(p is not None for p in paths) else None


def packages_for(purpose: Purpose | None = None, names: Iterable[str] = ()) -> list[str]:
    """Return the packages to install: those named, else those ``purpose`` needs, else all of them."""
    chosen = list(names)
    unknown = [n for n in chosen if n not in PACKAGES]
    if unknown:
        raise ToolMissing(f"unknown tool {', '.join(unknown)}: choose from {', '.join(PACKAGES)}")
    if chosen:
        return chosen
    return list(NEEDS[purpose]) if purpose is not None else list(PACKAGES)


def ensure_tool(name: str, *, install: bool = True) -> Path:
    """Return the path of tool ``name``, installing it on first need when this machine can.

    The install prints its lines on stderr (plain, so another command's spinner stays
    intact). Raises ToolMissing saying how to install it when it cannot be installed
    here (or ``install`` is False), InstallFailed when installing failed.
    """
    path = find_tool(name)
    if path is not None:
        return path
    package = PACKAGES[TOOLS[name].package]
    if not install or not is_installable(package):
        raise ToolMissing(f"{name} is not installed: {TOOLS[name].hint}")
    reporter = PlainReporter(Console(stderr=True), announce=True)
    Installer(reporter, find=find_tool, installable=is_installable).install(package.name)
    path = find_tool(name)
    if path is None:
        raise InstallFailed(f"{name} was installed but is still not found")
    return path
