"""py-spy's collapsed stacks summarised: frames on top, frames anywhere, and the share of named groups."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.proc_cpu import group_shares, top_frames

pytestmark = pytest.mark.unit

STACKS = (
    "Thread.run (threading.py:982);_begin (shop/kit/request_telemetry.py:80);"
    "Tracer.start_span (/v/lib/python3.11/site-packages/opentelemetry/sdk/trace/__init__.py:1150) 3\n"
    "Thread.run (threading.py:982);view (shop/catalog/api.py:120);Tracer.start_span (trace/__init__.py:1150) 1\n"
    "Thread.run (threading.py:982);view (shop/catalog/api.py:120) 4\n"
    "not a stack line\n"
)


def _collapsed(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.txt"
    path.write_text(STACKS)
    return path


def test_top_frames_count_own_and_anywhere_shares_without_line_numbers(tmp_path: Path) -> None:
    summary = top_frames(_collapsed(tmp_path), 3)
    assert summary["samples"] == 8
    own = dict(map(tuple, summary["self_pct"]))
    assert own["view (shop/catalog/api.py)"] == 50.0
    assert own["Tracer.start_span (opentelemetry/sdk/trace/__init__.py)"] == 37.5
    anywhere = dict(map(tuple, summary["inclusive_pct"]))
    assert anywhere["Thread.run (threading.py)"] == 100.0


def test_a_sample_counts_once_for_its_outermost_group(tmp_path: Path) -> None:
    groups = {"hooks": r"request_telemetry\.py", "sdk": r"^Tracer\.start_span"}
    # The span started inside the hook counts for the hook; the one from the view for the SDK.
    assert group_shares(_collapsed(tmp_path), groups) == {"hooks": 37.5, "sdk": 12.5, "all of these": 50.0}
