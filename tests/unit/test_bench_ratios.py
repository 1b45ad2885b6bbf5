"""Paired per-round ratios: each round's two windows ran back to back, so a round's ratio cancels drift."""

from __future__ import annotations

import pytest

from bench import paired_ratios

pytestmark = pytest.mark.unit


def test_each_round_is_divided_by_its_own_partner_and_summarised() -> None:
    # The machine got twice as busy halfway through: the medians' ratio would mix the halves.
    result = paired_ratios([90, 80, 45, 40], [100, 100, 50, 50])
    assert result["per_round"] == [0.9, 0.8, 0.9, 0.8]
    assert result["median"] == 0.85 and result["min"] == 0.8 and result["max"] == 0.9


def test_a_round_whose_baseline_served_nothing_is_left_out() -> None:
    assert paired_ratios([10, 20], [0, 40])["per_round"] == [0.5]
    assert paired_ratios([10], [0])["median"] is None
