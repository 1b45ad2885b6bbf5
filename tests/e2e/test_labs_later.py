"""E2E-test the second half of the labs (see ``test_labs.py``): a file of its own, so another xdist worker runs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from shoplab.runtime.stack import Stack
from tests.e2e.labs_support import SECOND_HALF, check_fails_then_passes_with_the_solution, lab_runner

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lab_cli(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRunner]:
    yield from lab_runner(stack, tmp_path_factory)


@pytest.mark.parametrize("lab_dir", SECOND_HALF, ids=[p.name for p in SECOND_HALF])
def test_lab_check_fails_on_the_starting_state_and_passes_with_the_solution(
    lab_cli: CliRunner, stack: Stack, lab_dir: Path
) -> None:
    check_fails_then_passes_with_the_solution(lab_cli, stack, lab_dir)
