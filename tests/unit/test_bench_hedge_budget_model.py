"""The hedge budget model: its bucket is the real one, and its verdict follows the order statistic."""

from __future__ import annotations

import random

import pytest

from bench.hedge_budget_model import Setting, one_run, summarise

pytestmark = pytest.mark.unit


def test_a_budget_of_every_read_hedges_every_slow_read_and_none_leaves_all_of_them_waiting() -> None:
    rng = random.Random(1)
    ample = one_run(Setting("ample", 20, 150, 1000, ratio=1.0, straggle=0.0), rng)
    assert ample["unhedged"] == 0
    assert ample["bad"] <= 10  # only pages whose copy was slow too (~2 expected)
    none = one_run(Setting("none", 20, 150, 1, ratio=0.0, straggle=0.0), rng)
    assert none["extra"] == 0
    assert none["bad"] > 20  # ~5 % of ~810 pages: every slow product read waited


def test_more_pages_and_more_saved_tokens_decide_the_cut_more_often() -> None:
    rng = random.Random(2)
    as_measured = summarise(Setting("as measured", 20, 150, 10), 300, rng)
    chosen = summarise(Setting("chosen", 60, 300, 25), 300, rng)
    assert as_measured["decided_share"] < 0.7 < chosen["decided_share"]
    assert chosen["gateway_extra_load"]["max"] <= 0.05 + 25 / int(300 * 1294 / 150)  # <= ratio x reads + saved
    # Every edge into catalog together: the other edges hedge less than 5 % of their reads.
    assert chosen["catalog_extra_load"]["median"] < chosen["gateway_extra_load"]["median"]
