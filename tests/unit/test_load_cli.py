"""The load command's parsing and the rule that the CLI process never imports locust."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import click
import pytest

from loadtests.api import LoadError, LoadSpec
from loadtests.run_options import build_thresholds, follow_run
from loadtests.thresholds import Thresholds
from shoplab import REPO_ROOT
from shoplab.commands.load import parse_duration_s

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("text", "seconds"), [("60", 60.0), ("20s", 20.0), ("2m", 120.0), ("1h", 3600.0), ("500ms", 0.5)])
def test_durations_read_like_locusts_run_time(text: str, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


def test_a_malformed_duration_is_a_usage_error() -> None:
    with pytest.raises(click.BadParameter):
        parse_duration_s("soon")


def test_flags_override_the_thresholds_file() -> None:
    path = REPO_ROOT / "loadtests" / "thresholds.example.yaml"
    thresholds = build_thresholds(path, 0.2, None, ("checkout=100",), ())
    assert thresholds.max_fail_ratio == 0.2
    assert thresholds.journeys["checkout"].p95_ms == 100
    assert thresholds.journeys["checkout"].p99_ms == Thresholds.from_file(path).journeys["checkout"].p99_ms


def test_load_only_goes_to_this_machine() -> None:
    with pytest.raises(LoadError, match="127.0.0.1 only"):
        LoadSpec(host="http://example.com").validate()


def test_a_spec_with_an_unknown_shape_is_refused_before_any_process_starts() -> None:
    with pytest.raises(LoadError, match="unknown shape"):
        LoadSpec(host="http://127.0.0.1:1", shape="ramp").validate()


def test_the_cli_and_the_runner_api_never_import_locust() -> None:
    # locust monkey-patches gevent on import; only the Locust child processes may import it
    code = "import sys, shoplab.cli, shoplab.commands.load, loadtests.api; sys.exit('locust' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT).returncode == 0


def test_following_a_run_reports_each_new_sample_once_and_returns_its_result() -> None:
    class FakeRun:
        def __init__(self) -> None:
            self.polls = [SimpleNamespace(t=0.0), SimpleNamespace(t=0.0), None, SimpleNamespace(t=1.0)]

        def is_running(self) -> bool:
            return bool(self.polls)

        def latest(self) -> SimpleNamespace | None:
            return self.polls.pop(0)

        def wait(self) -> str:
            return "result"

    seen: list[float] = []
    result = follow_run(FakeRun(), lambda sample: seen.append(sample.t), interval_s=0)  # type: ignore[arg-type]
    assert seen == [0.0, 1.0]
    assert result == "result"
