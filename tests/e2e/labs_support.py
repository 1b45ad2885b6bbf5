"""What the two lab test files share: a click runner on the session's stack, and the whole lab round.

The labs are split over two files so that pytest-xdist (``--dist loadfile``) can run them on two workers:
in one file they were the e2e tier's longest unit (about 530 s of one worker's time on 4 workers).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from labs.model import discover_labs, load_lab
from shoplab.runtime.stack import Stack

LAB_DIRS = discover_labs()
FIRST_HALF = LAB_DIRS[: len(LAB_DIRS) // 2]
SECOND_HALF = LAB_DIRS[len(LAB_DIRS) // 2:]


def lab_runner(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRunner]:
    """Yield a click runner whose shoplab commands attach to the session's stack; reset the labs after."""
    from shoplab.cli import _register

    _register()
    reports = tmp_path_factory.mktemp("lab-reports")
    env = {"SHOPLAB_RUN_DIR": str(stack.run_dir), "SHOPLAB_REPORTS_DIR": str(reports),
           "SHOPLAB_PORT_OFFSET": str(stack.topology.port_offset)}
    runner = CliRunner(env=env)
    yield runner
    shoplab(runner, "lab", "reset")


def shoplab(runner: CliRunner, *args: str) -> Result:
    """Run one shoplab command in-process."""
    from shoplab.cli import cli

    return runner.invoke(cli, list(args), catch_exceptions=False)


def live_state(stack: Stack) -> tuple[set[str], set[str], dict[str, list[object]]]:
    """Return (profiles, services with overrides, toxics per edge) of the running shop."""
    profiles, overridden = set(), set()
    with httpx.Client(headers=stack.admin_headers(), timeout=5) as http:
        for service in stack.topology.service_names:
            data = http.get(stack.service_url(service) + "/admin/resilience").json()
            profiles.add(data["profile"])
            if data["overrides"]:
                overridden.add(service)
        proxies = http.get(stack.topology.toxiproxy_url + "/proxies").json()
    toxics = {name: p["toxics"] for name, p in proxies.items() if p["toxics"] or not p["enabled"]}
    return profiles, overridden, toxics


def check_fails_then_passes_with_the_solution(lab_cli: CliRunner, stack: Stack, lab_dir: Path) -> None:
    """Start the lab, see its check fail, apply the solution, see it pass, with the standing faults kept."""
    lab = load_lab(lab_dir)
    assert shoplab(lab_cli, "lab", "reset").exit_code == 0

    started = shoplab(lab_cli, "lab", "start", lab.number)
    assert started.exit_code == 0, started.output
    assert lab.title.split()[0] in started.output
    profiles, _, toxics = live_state(stack)
    assert profiles == {lab.start.profile}
    assert len(toxics) == sum(1 for f in lab.fault_specs if f["kind"] in ("toxic", "down"))

    failing = shoplab(lab_cli, "lab", "check", lab.number, "--quick")
    assert failing.exit_code == 1, failing.output
    assert "FAIL" in failing.output and "✘" in failing.output

    solved = shoplab(lab_cli, "lab", "solution", lab.number)
    assert solved.exit_code == 0, solved.output
    assert lab.solution.settings.profile in solved.output

    passing = shoplab(lab_cli, "lab", "check", lab.number, "--quick")
    assert passing.exit_code == 0, passing.output
    assert "PASS" in passing.output and "✘" not in passing.output
    # the standing faults are still there after the check: the learner fixed configuration, not the fault
    assert live_state(stack)[2].keys() == toxics.keys()
