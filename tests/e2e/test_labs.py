"""E2E-test every lab on the native stack: its check fails on the starting state and passes with the solution.

One stack for all labs (the session's), ``shoplab lab reset`` between them, quick
durations. The commands run in-process through click, exactly as a trainer types them.
This file takes the first half of the labs and the reset and refusal checks; ``test_labs_later.py`` the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from shoplab.runtime.stack import Stack
from tests.e2e.labs_support import (
    FIRST_HALF,
    LAB_DIRS,
    SECOND_HALF,
    check_fails_then_passes_with_the_solution,
    lab_runner,
    live_state,
    shoplab,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lab_cli(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRunner]:
    yield from lab_runner(stack, tmp_path_factory)


def test_the_two_lab_files_cover_every_lab_once() -> None:
    assert FIRST_HALF and SECOND_HALF
    assert sorted(FIRST_HALF + SECOND_HALF) == sorted(LAB_DIRS) and not set(FIRST_HALF) & set(SECOND_HALF)


@pytest.mark.parametrize("lab_dir", FIRST_HALF, ids=[p.name for p in FIRST_HALF])
def test_lab_check_fails_on_the_starting_state_and_passes_with_the_solution(
    lab_cli: CliRunner, stack: Stack, lab_dir: Path
) -> None:
    check_fails_then_passes_with_the_solution(lab_cli, stack, lab_dir)


def test_lab_reset_returns_the_shop_to_resilient_without_overrides_or_faults(lab_cli: CliRunner, stack: Stack) -> None:
    assert shoplab(lab_cli, "lab", "start", "07").exit_code == 0
    assert live_state(stack) != ({"resilient"}, set(), {})
    reset = shoplab(lab_cli, "lab", "reset")
    assert reset.exit_code == 0, reset.output
    assert live_state(stack) == ({"resilient"}, set(), {})
    with httpx.Client(headers=stack.admin_headers(), timeout=5) as http:
        faults = [http.get(stack.service_url(s) + "/admin/faults").json()["faults"]
                  for s in stack.topology.service_names]
    assert faults == [[]] * len(stack.topology.service_names)


def test_lab_01_refuses_an_answer_that_is_not_an_edge(lab_cli: CliRunner) -> None:
    out = shoplab(lab_cli, "lab", "check", "01", "--quick", "--answer", "the-database")
    assert out.exit_code == 2
    assert "is not an edge" in out.output
