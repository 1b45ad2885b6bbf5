"""The control's p99 against a must-hold profile's, from raw phase samples: intervals, the cut and its verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.adaptive_summary import extra_catalog_load, hedge_counts, hedge_gain
from chaos.samples import PhaseWindow, ProfileRecord
from chaos.tails import cut_verdict, tail_rows
from loadtests.outcomes import Outcome
from loadtests.raw_samples import RawRecorder, merge_lines

pytestmark = pytest.mark.unit

PAGE = "GET /api/v1/products/[id]"


def profile(name: str, must_hold: bool, *, slow_every: int, n: int = 600, slow_ms: float = 800.0) -> ProfileRecord:
    """``n`` product pages in the fault phase (wall 1000..1060), one in ``slow_every`` at ``slow_ms``, the rest at 30 ms;
    plus as many in the baseline before it, all slow (they must not count)."""
    rec = RawRecorder()
    for i in range(n):
        rec.record_request(1000 + (i % 60) + 0.3, PAGE, True, slow_ms if i % slow_every == 0 else 30.0)
        rec.record_request(990 + (i % 10) + 0.3, PAGE, True, 5000.0)
    for i in range(40):
        rec.record(1000 + i + 0.5, "browse", Outcome.SUCCESS, 900.0 if i == 0 else 60.0)
    rec.record(1001.5, "unserved", Outcome.FAILURE, 0.0)
    pr = ProfileRecord(name, must_hold, phases=[PhaseWindow("baseline", -10.0, 0.0), PhaseWindow("fault", 0.0, 60.0)],
                       wall_t0=1000.0)
    pr.raw = merge_lines(rec.take())
    return pr


def test_the_cut_compares_the_control_with_the_must_hold_profile_in_the_fault_phase_only() -> None:
    # resilient: 1 page in 20 is slow, so its p99 is 800 ms; adaptive: 1 page of 600, so its p99 (and the top of its interval) is 30 ms
    rows = tail_rows([profile("adaptive", True, slow_every=1000), profile("resilient", False, slow_every=20)], ["fault"])
    browse, page = rows
    assert (browse.name, browse.is_request, page.name, page.is_request) == ("browse", False, PAGE, True)
    assert (page.control, page.candidate, page.phase) == ("resilient", "adaptive", "fault")
    assert page.control_p.samples == page.candidate_p.samples == 600  # the baseline's 5,000 ms pages are not in it
    assert page.control_p.value is not None and abs(page.control_p.value - 800.0) <= 1.0
    assert page.candidate_p.value is not None and abs(page.candidate_p.value - 30.0) <= 0.1
    assert page.cut is not None and page.cut_low is not None and page.cut_high is not None
    assert page.cut_low <= page.cut <= page.cut_high and page.cut > 0.95
    assert cut_verdict(page, 0.4) == "met"
    # 40 journeys cannot bound a p99 from above: the cut has no lower bound, so nothing is decided
    assert browse.candidate_p.high is None and browse.cut_low is None and cut_verdict(browse, 0.4) == "inconclusive"
    assert browse.control_p.samples == 40


def test_no_cut_at_the_bar_is_not_met_and_a_straddle_is_inconclusive() -> None:
    same = tail_rows([profile("resilient", False, slow_every=20), profile("adaptive", True, slow_every=20)], ["fault"])
    assert cut_verdict(same[-1], 0.4) == "not met" and abs(same[-1].cut or 0.0) < 0.01
    # 1 page in 100 slow against 1 in 20: the candidate's p99 sits on the edge of its slow pages, the cut undecided
    edge = tail_rows([profile("resilient", False, slow_every=20), profile("adaptive", True, slow_every=100)], ["fault"])
    assert cut_verdict(edge[-1], 0.4) == "inconclusive"
    assert (edge[-1].cut_low or 0.0) < 0.4 < (edge[-1].cut_high or 0.0)


def test_without_a_control_or_a_must_hold_profile_there_is_nothing_to_compare() -> None:
    assert tail_rows([profile("adaptive", True, slow_every=20)], ["fault"]) == []
    assert tail_rows([profile("resilient", False, slow_every=20)], ["fault"]) == []


def test_the_summary_reads_the_cut_from_the_journal_and_the_catalog_load_from_every_catalog_edge(tmp_path: Path) -> None:
    rows = tail_rows([profile("resilient", False, slow_every=20), profile("adaptive", True, slow_every=1000)], ["fault"])
    journal = {"profiles": [{"profile": "resilient"}, {"profile": "adaptive"}], "tails": [r.to_json() for r in rows]}

    def edges(req: float, att: float) -> dict[str, dict[str, float]]:
        return {"gateway__catalog": {"requests": req, "attempts": att},
                "recommendations__catalog": {"requests": req / 2, "attempts": att / 2 + 1}}

    samples = [  # cumulative counters: the phase starts from the last baseline second
        {"profile": "adaptive", "phase": "baseline", "edges": edges(100, 100)},
        {"profile": "adaptive", "phase": "fault", "edges": edges(150, 152)},
        {"profile": "adaptive", "phase": "fault", "edges": edges(300, 306)},
        {"profile": "adaptive", "phase": "recovery", "edges": edges(400, 500)},
        {"profile": "resilient", "phase": "fault", "edges": edges(50, 50)},
        {"profile": "resilient", "phase": "fault", "edges": edges(250, 250)},
    ]
    path = tmp_path / "samples.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in samples))
    load = extra_catalog_load(path, "adaptive")
    assert load["gateway__catalog"] == {"requests": 200, "attempts": 206, "extra": 0.03}
    assert load["recommendations__catalog"]["extra"] == 0.03  # 103 attempts for 100 requests
    assert load["all_catalog"] == {"requests": 300, "attempts": 309, "extra": 0.03}
    assert extra_catalog_load(path, "resilient")["all_catalog"]["extra"] == 0.0

    gain = hedge_gain(journal, path)
    page = gain["product_page_p99"]
    assert page["resilient"]["n"] == page["adaptive"]["n"] == 600 and page["cut_at_least_0.4"] == "met"
    assert page["cut_interval"][0] >= 0.4 and gain["adaptive_extra_load_at_most_0.05"] is True
    assert gain["browse_p99"]["cut_at_least_0.4"] == "inconclusive"


def test_hedge_counts_are_the_counters_rise_over_each_profiles_fault_phase(tmp_path: Path) -> None:
    journal = {"profiles": [
        {"profile": "adaptive", "wall_t0": 1000.0, "phases": [{"name": "fault", "start_s": 10.0, "end_s": 40.0}]},
        {"profile": "resilient", "wall_t0": 2000.0, "phases": [{"name": "fault", "start_s": 10.0, "end_s": 40.0}]},
    ]}

    def line(t: int, caller: str, result: str, value: float, dependency: str = "catalog") -> str:
        labels = f'caller="{caller}",dependency="{dependency}",result="{result}"'
        return f"{t} {caller} shoplab_hedges_total{{{labels}}} {value}\n"

    log = tmp_path / "hedges.log"
    log.write_text(
        "1020 loadavg 1.0 1.0 1.0\n" + line(1005, "gateway", "sent", 2) + line(1005, "gateway", "skipped", 1)
        + line(1005, "gateway", "sent", 90, dependency="cart")
        + line(1040, "gateway", "sent", 9) + line(1040, "gateway", "skipped", 5)
        + line(1060, "gateway", "sent", 50) + line(2040, "gateway", "sent", 50))
    counts = hedge_counts(log, journal)
    # the cart edge is not catalog's
    assert counts["adaptive"] == {"gateway sent": 7.0, "gateway skipped": 4.0, "loadavg_1m min": 1.0,
                                  "loadavg_1m max": 1.0}
    assert counts["resilient"] == {"gateway sent": 0.0, "gateway skipped": 0.0}
