"""`shoplab run` refuses a bad experiment before it touches anything (no stack needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from shoplab.commands.run import run

pytestmark = pytest.mark.unit


def test_an_unknown_experiment_is_refused_listing_the_shipped_ones() -> None:
    result = CliRunner().invoke(run, ["no-such-experiment"])
    assert result.exit_code == 2
    assert "no such file, and no shipped experiment" in result.output and "flagship" in result.output


def test_a_bad_file_is_refused_with_exit_code_2_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\nprofiles: [naive]\nphases: [{name: a, duration_s: -1}]\n")
    result = CliRunner().invoke(run, [str(bad)])
    assert result.exit_code == 2
    assert "phases[0].duration_s: expected a number within 1..3600, got -1" in result.output.replace("\n", "")


def test_an_unknown_profile_on_the_command_line_is_refused() -> None:
    result = CliRunner().invoke(run, ["flagship", "--profiles", "naive,sturdy"])
    assert result.exit_code == 2 and "unknown profile 'sturdy'" in result.output
