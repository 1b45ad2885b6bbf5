"""E2E-test every lab on the native stack: its check fails on the starting state and passes with the solution.

One stack for all labs (the session's), ``shoplab lab reset`` between them, quick
durations. The commands run in-process through click, exactly as a trainer types them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from labs.model import discover_labs, load_lab
from shoplab.runtime.stack import Stack

pytestmark = pytest.mark.e2e

LAB_DIRS = discover_labs()


@pytest.fixture(scope="module")
def lab_cli(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRunner]:
    """Give a click runner whose shoplab commands attach to the session's stack."""
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


def _live_state(stack: Stack) -> tuple[set[str], set[str], dict[str, list[object]]]:
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


@pytest.mark.parametrize("lab_dir", LAB_DIRS, ids=[p.name for p in LAB_DIRS])
def test_lab_check_fails_on_the_starting_state_and_passes_with_the_solution(
    lab_cli: CliRunner, stack: Stack, lab_dir: Path
) -> None:
    lab = load_lab(lab_dir)
    assert shoplab(lab_cli, "lab", "reset").exit_code == 0

    started = shoplab(lab_cli, "lab", "start", lab.number)
    assert started.exit_code == 0, started.output
    assert lab.title.split()[0] in started.output
    profiles, _, toxics = _live_state(stack)
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
    assert _live_state(stack)[2].keys() == toxics.keys()


def test_lab_reset_returns_the_shop_to_resilient_without_overrides_or_faults(lab_cli: CliRunner, stack: Stack) -> None:
    assert shoplab(lab_cli, "lab", "start", "07").exit_code == 0
    assert _live_state(stack) != ({"resilient"}, set(), {})
    reset = shoplab(lab_cli, "lab", "reset")
    assert reset.exit_code == 0, reset.output
    assert _live_state(stack) == ({"resilient"}, set(), {})
    with httpx.Client(headers=stack.admin_headers(), timeout=5) as http:
        faults = [http.get(stack.service_url(s) + "/admin/faults").json()["faults"]
                  for s in stack.topology.service_names]
    assert faults == [[]] * len(stack.topology.service_names)


def test_lab_01_refuses_an_answer_that_is_not_an_edge(lab_cli: CliRunner) -> None:
    out = shoplab(lab_cli, "lab", "check", "01", "--quick", "--answer", "the-database")
    assert out.exit_code == 2
    assert "is not an edge" in out.output
