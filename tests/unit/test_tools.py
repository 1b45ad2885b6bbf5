"""Setup speaks like a tool: one line per tool, the package managers' output in a log shown on failure, and only
what is needed when."""

from __future__ import annotations

import io
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.console import Console

from shoplab import REPO_ROOT
from shoplab.runtime.errors import RuntimeFailure
from shoplab.runtime.tools import (
    HELM_VERSION,
    NEEDS,
    PACKAGES,
    TOOLS,
    Installer,
    InstallFailed,
    Purpose,
    SetupLog,
    ToolMissing,
    ensure_tool,
    packages_for,
    setup_log_path,
)
from shoplab.runtime.tools.__main__ import main
from shoplab.runtime.tools.install import apt_install
from shoplab.runtime.tools.progress import LiveReporter, PlainReporter, format_line, reporter_for

pytestmark = pytest.mark.unit

# What a fresh clone's `make demo` must not wait for (minutes of Go build, apt downloads).
NOT_FOR_THE_DEMO = {"jaeger", "chromium", "docker-compose", "prometheus"}


def plain() -> tuple[PlainReporter, io.StringIO]:
    out = io.StringIO()
    return PlainReporter(Console(file=out, width=200, force_terminal=False)), out


def ticking(*times: float) -> Callable[[], float]:
    """Return a fake clock that answers ``times`` in turn."""
    it: Iterator[float] = iter(times)
    return lambda: next(it)


def test_a_tool_line_says_what_where_from_and_how_long() -> None:
    line = format_line("toxiproxy-server 2.12.0", "built with go (Go module proxy)", "26.1 s")
    assert line.split() == ["toxiproxy-server", "2.12.0", "built", "with", "go", "(Go", "module", "proxy)", "26.1", "s"]
    # columns line up from one tool to the next
    assert line.index("built") == format_line("chromium", "already installed").index("already")


def test_an_installed_tool_prints_already_installed_and_runs_nothing(tmp_path: Path) -> None:
    reporter, out = plain()
    ran: list[str] = []
    installer = Installer(
        reporter, SetupLog(tmp_path / "setup.log"),
        steps={"toxiproxy-server": lambda log, target: ran.append("go")},
        find=lambda name: Path(f"/opt/bin/{name}"),
    )
    assert installer.install("toxiproxy-server") == Path("/opt/bin/toxiproxy-server")
    assert ran == []
    assert out.getvalue().splitlines() == [format_line("toxiproxy-server 2.12.0", "already installed",
                                                       "/opt/bin/toxiproxy-server")]
    assert not (tmp_path / "setup.log").exists()


def test_a_missing_tool_is_installed_and_printed_in_one_line_with_its_duration(tmp_path: Path) -> None:
    reporter, out = plain()
    installed: set[str] = set()
    installer = Installer(
        reporter, SetupLog(tmp_path / "setup.log"),
        steps={"prometheus": lambda log, target: installed.update({"prometheus", "promtool"})},
        find=lambda name: Path(f"/usr/bin/{name}") if name in installed else None,
        installable=lambda package: True,
        clock=ticking(100.0, 141.04),
    )
    installer.install("prometheus")
    assert installed == {"prometheus", "promtool"}
    assert out.getvalue().splitlines() == [
        format_line("prometheus", "apt-get install prometheus (Debian)", "41.0 s")
    ]


def test_a_slow_build_is_announced_when_the_output_is_not_a_terminal(tmp_path: Path) -> None:
    reporter, out = plain()
    built: list[str] = []
    Installer(
        reporter, SetupLog(tmp_path / "setup.log"),
        steps={"jaeger": lambda log, target: built.append("jaeger")},
        find=lambda name: Path("/t/jaeger") if built else None,
        installable=lambda package: True,
        clock=ticking(0.0, 158.7),
    ).install("jaeger")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("jaeger 1.76.0") and "minutes on a first build" in lines[0]
    assert lines[1] == format_line("jaeger 1.76.0", "built with go (Go module proxy)", "158.7 s")


def test_a_terminal_gets_a_spinner_that_leaves_only_the_line_behind(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=True)
    reporter = reporter_for(console)
    assert isinstance(reporter, LiveReporter)
    assert isinstance(reporter_for(Console(file=io.StringIO(), force_terminal=False)), PlainReporter)
    built: list[str] = []
    Installer(
        reporter, SetupLog(tmp_path / "setup.log"),
        steps={"jaeger": lambda log, target: built.append("x")},
        find=lambda name: Path("/t/jaeger") if built else None,
        installable=lambda package: True,
        clock=ticking(0.0, 3.0),
    ).install("jaeger")
    assert format_line("jaeger 1.76.0", "built with go (Go module proxy)", "3.0 s") in out.getvalue()


def test_a_failing_step_raises_with_the_command_its_exit_code_and_the_last_30_lines(tmp_path: Path) -> None:
    reporter, out = plain()
    log = SetupLog(tmp_path / "logs" / "setup.log")
    noisy = "for i in $(seq 1 50); do echo go: downloading module $i; done; echo 'no route to host' >&2; exit 3"

    def failing_step(log: SetupLog, target: Path) -> None:
        log.run(["sh", "-c", noisy])

    installer = Installer(reporter, log, steps={"toxiproxy-server": failing_step},
                          find=lambda name: None, installable=lambda package: True)
    with pytest.raises(InstallFailed) as caught:
        installer.install("toxiproxy-server")
    message = str(caught.value)
    assert message.startswith("installing toxiproxy-server 2.12.0 failed: `sh -c")
    assert "exit code 3" in message
    assert "go: downloading module 50" in message and "no route to host" in message
    assert "go: downloading module 21\n" not in message + "\n"  # only the last 30 lines are shown
    assert f"full log: {log.path}" in message
    # the whole output is in the log, and nothing of it reached the console
    assert "go: downloading module 1\n" in log.path.read_text()
    assert out.getvalue() == ""


def test_an_install_failure_is_a_tool_missing_and_a_runtime_failure() -> None:
    assert issubclass(InstallFailed, ToolMissing)
    assert issubclass(ToolMissing, RuntimeFailure)


def test_a_tool_this_machine_cannot_install_raises_tool_missing_with_its_hint(tmp_path: Path) -> None:
    reporter, _ = plain()
    installer = Installer(reporter, SetupLog(tmp_path / "setup.log"), steps={},
                          find=lambda name: None, installable=lambda package: False)
    with pytest.raises(ToolMissing, match="chromium is not installed: run `make tools-all`") as caught:
        installer.install("chromium")
    assert not isinstance(caught.value, InstallFailed)


def test_apt_get_update_runs_once_per_setup(tmp_path: Path) -> None:
    log = SetupLog(tmp_path / "setup.log")
    counter = tmp_path / "count"
    for _ in range(3):
        log.run_once(["sh", "-c", f"echo x >> {counter}"])
    assert counter.read_text() == "x\n"


def test_the_demo_waits_only_for_toxiproxy() -> None:
    assert packages_for(Purpose.DEMO) == ["toxiproxy-server"]
    assert NOT_FOR_THE_DEMO.isdisjoint(NEEDS[Purpose.DEMO])


def test_up_installs_the_observability_backends_and_test_installs_everything() -> None:
    assert {"prometheus", "jaeger", "toxiproxy-server"} <= set(NEEDS[Purpose.UP])
    assert set(packages_for(Purpose.TEST)) == set(PACKAGES)
    assert packages_for() == list(PACKAGES)
    assert packages_for(names=["jaeger"]) == ["jaeger"]
    # every tool has a package that provides it
    assert {t for p in PACKAGES.values() for t in p.provides} == set(TOOLS)


def test_an_unknown_tool_is_refused_by_name() -> None:
    with pytest.raises(ToolMissing, match="unknown tool bogus"):
        packages_for(names=["bogus"])
    assert main(["install", "bogus"]) == 1


def make_dry_run(target: str, *variables: str) -> str:
    """Return what ``make -n TARGET`` would run (nothing is run)."""
    proc = subprocess.run(["make", "-n", "--no-print-directory", "VENV=.venv", *variables, target], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    return proc.stdout


def test_make_setup_and_make_demo_install_only_what_the_demo_needs() -> None:
    for target in ("setup", "demo"):
        planned = make_dry_run(target)
        assert "shoplab.runtime.tools install --for demo" in planned
        assert "--for test" not in planned and "--for up" not in planned
        assert "pip_step \"python packages\" .venv/.installed -e ." in planned
        assert ".[dev]" not in planned  # linters and schemathesis are for the tests


def test_make_test_and_make_up_install_their_tools_first() -> None:
    planned = make_dry_run("test")
    assert "shoplab.runtime.tools install --for test" in planned
    assert "-e '.[dev]'" in planned
    up = make_dry_run("up")
    assert up.index("shoplab.runtime.tools install --for up") < up.index("shoplab up -d")


def test_the_unit_tier_gets_helm_and_actionlint_first_and_lint_runs_actionlint_on_the_workflow() -> None:
    planned = make_dry_run("test-unit", "JUNIT_DIR=junit")
    assert planned.index("shoplab.runtime.tools install helm actionlint") < planned.index("pytest -m unit")
    assert "--junitxml=junit/unit.xml" in planned
    assert "--junitxml" not in make_dry_run("test-unit")
    assert "actionlint .github/workflows/shoplab.yml" in make_dry_run("lint")


def fake_go(bin_dir: Path, *, fail: bool) -> None:
    """Put a fake ``go`` on ``bin_dir``: noisy, and it either fails or "builds" the binary into $GOBIN."""
    bin_dir.mkdir()
    script = ["#!/bin/sh", "PATH=/usr/bin:/bin", "echo 'go: downloading github.com/Shopify/toxiproxy/v2 v2.12.0'"]
    if fail:
        script += ["echo 'proxy.golang.org: connection refused' >&2", "exit 1"]
    else:
        script += ['printf "#!/bin/sh\\necho fake\\n" > "$GOBIN/server"', 'chmod +x "$GOBIN/server"']
    go = bin_dir / "go"
    go.write_text("\n".join(script) + "\n")
    go.chmod(go.stat().st_mode | stat.S_IEXEC)


def fake_program(bin_dir: Path, name: str, body: str) -> None:
    """Put an executable shell script ``name`` running ``body`` (with a minimal PATH) on ``bin_dir``."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / name
    script.write_text(f"#!/bin/sh\nPATH=/usr/bin:/bin\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def fresh_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the tools dir and run dir at tmp_path; PATH holds nothing but (once written) a fake go."""
    monkeypatch.setenv("SHOPLAB_TOOLS_DIR", str(tmp_path / "tools"))
    monkeypatch.setenv("SHOPLAB_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("PATH", str(tmp_path / "fakebin"))
    return tmp_path


def test_ensure_tool_installs_a_missing_tool_on_first_need_in_one_line(
    fresh_machine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_go(fresh_machine / "fakebin", fail=False)
    path = ensure_tool("toxiproxy-server")
    assert path == fresh_machine / "tools" / "toxiproxy-server"
    assert path.is_file()
    captured = capsys.readouterr()
    assert captured.out == ""  # stdout belongs to the command that needed the tool
    lines = captured.err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("toxiproxy-server 2.12.0") and "building with go" in lines[0]
    assert "built with go (Go module proxy)" in lines[1]
    assert "go: downloading" not in captured.err
    assert "go: downloading" in setup_log_path().read_text()
    assert setup_log_path() == fresh_machine / "run" / "logs" / "setup.log"
    assert ensure_tool("toxiproxy-server") == path  # the second need finds it


def test_ensure_tool_raises_the_failing_go_command_and_its_output(fresh_machine: Path) -> None:
    fake_go(fresh_machine / "fakebin", fail=True)
    with pytest.raises(InstallFailed) as caught:
        ensure_tool("toxiproxy-server")
    message = str(caught.value)
    assert "go install" in message and "exit code 1" in message
    assert "proxy.golang.org: connection refused" in message
    assert str(fresh_machine / "run" / "logs" / "setup.log") in message


def test_ensure_tool_without_go_or_without_install_says_how_to_install(fresh_machine: Path) -> None:
    with pytest.raises(ToolMissing, match="toxiproxy-server is not installed: run `make setup`"):
        ensure_tool("toxiproxy-server")
    fake_go(fresh_machine / "fakebin", fail=False)
    with pytest.raises(ToolMissing, match="toxiproxy-server is not installed"):
        ensure_tool("toxiproxy-server", install=False)


def test_the_apt_step_updates_once_then_installs_each_package_quietly(
    fresh_machine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = fresh_machine / "calls"
    fake_program(fresh_machine / "fakebin", "apt-get",
                 f'echo "$@" >> {calls}; echo "Get:1 http://deb.debian.org bookworm"')
    fake_program(fresh_machine / "fakebin", "sudo", 'exec "$@"')
    log = SetupLog(fresh_machine / "setup.log")
    for package in ("chromium", "docker-compose"):
        apt_install(package)(log, fresh_machine / "tools")
    assert calls.read_text().splitlines() == [
        "update -q",
        "install -y -q --no-install-recommends chromium",
        "install -y -q --no-install-recommends docker-compose",
    ]
    assert "Get:1" in log.path.read_text()
    assert capsys.readouterr().out == ""


def test_helm_is_built_from_the_go_module_proxy_at_its_pin_and_stamped_with_its_version(
    fresh_machine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_program(fresh_machine / "fakebin", "go", 'echo "$@" > "$SHOPLAB_RUN_DIR/go-args"\n'
                 'printf "#!/bin/sh\\n" > "$GOBIN/helm"\nchmod +x "$GOBIN/helm"')
    with pytest.raises(ToolMissing, match=r"helm is not installed: run `make tools` \(it needs Go"):
        ensure_tool("helm", install=False)
    assert ensure_tool("helm") == fresh_machine / "tools" / "helm"
    args = (fresh_machine / "run" / "go-args").read_text().split()
    assert args[0] == "install" and args[-1] == f"helm.sh/helm/v3/cmd/helm@v{HELM_VERSION}"
    assert f"-X helm.sh/helm/v3/internal/version.version=v{HELM_VERSION}" in " ".join(args)
    assert f"helm {HELM_VERSION}" in capsys.readouterr().err
