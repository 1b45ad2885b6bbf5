"""Open-loop arrivals: a fixed rate whatever the latency; late and dropped arrivals counted."""

from __future__ import annotations

import pytest

from loadtests.arrivals import ArrivalSchedule, ArrivalStats

pytestmark = pytest.mark.unit


def test_free_users_wait_for_arrivals_due_at_the_fixed_rate() -> None:
    schedule = ArrivalSchedule(rate_per_s=4.0, start=100.0)
    waits = [schedule.claim(100.0).wait_s for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.25, 0.5, 0.75])
    assert schedule.stats.on_time == 4 and schedule.stats.late == 0


def test_arrival_times_do_not_depend_on_how_long_journeys_took() -> None:
    fast = ArrivalSchedule(rate_per_s=2.0, start=0.0)
    slow = ArrivalSchedule(rate_per_s=2.0, start=0.0)
    # the same user claims after a 0.1 s journey in one run and a 0.45 s journey in the other
    fast_due = [fast.claim(t).index for t in (0.0, 0.1, 0.6)]
    slow_due = [slow.claim(t).index for t in (0.0, 0.45, 0.95)]
    assert fast_due == slow_due == [0, 1, 2]
    assert fast.due_at(2) == slow.due_at(2) == 1.0


def test_an_arrival_that_found_every_user_busy_starts_late_and_is_counted() -> None:
    schedule = ArrivalSchedule(rate_per_s=10.0, start=0.0, late_tolerance_s=0.05)
    schedule.claim(0.0)
    claim = schedule.claim(0.4)  # arrival 1 was due at 0.1
    assert claim.late and claim.wait_s == 0.0
    assert claim.lag_s == pytest.approx(0.3)
    assert schedule.stats.late == 1
    assert schedule.stats.max_lag_s == pytest.approx(0.3)


def test_arrivals_overdue_past_the_max_lag_are_dropped_not_queued() -> None:
    schedule = ArrivalSchedule(rate_per_s=10.0, start=0.0, max_lag_s=1.0)
    schedule.claim(0.0)
    claim = schedule.claim(3.0)
    # arrivals due before 2.0 s are dropped; the one due at 2.0 s starts 1.0 s late
    assert claim.dropped == 19
    assert claim.index == 20
    assert claim.lag_s == pytest.approx(1.0)
    assert schedule.stats.dropped == 19
    assert schedule.stats.scheduled == 21
    # the skipped ones are arrivals 1..19, due 0.1 s .. 1.9 s: each is recorded as an unserved shopper
    assert list(claim.dropped_indices) == list(range(1, 20))
    assert [schedule.due_at(i) for i in claim.dropped_indices][:2] == [pytest.approx(0.1), pytest.approx(0.2)]


def test_arrivals_nobody_claimed_before_the_end_count_as_dropped() -> None:
    schedule = ArrivalSchedule(rate_per_s=5.0, start=0.0)
    schedule.claim(0.0)
    schedule.account_until(2.0)  # arrivals 0..10 were due by 2.0 s
    assert schedule.stats.scheduled == 11
    assert schedule.stats.dropped == 10


def test_worker_offsets_interleave_their_arrivals() -> None:
    rate = 10.0
    w0 = ArrivalSchedule(rate_per_s=rate / 2, start=0.0, offset_s=0 / rate)
    w1 = ArrivalSchedule(rate_per_s=rate / 2, start=0.0, offset_s=1 / rate)
    due = sorted([w0.due_at(i) for i in range(3)] + [w1.due_at(i) for i in range(3)])
    assert due == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])


def test_arrival_stats_merge_across_workers() -> None:
    total = ArrivalStats()
    total.merge({"scheduled": 3, "on_time": 2, "late": 1, "dropped": 0, "max_lag_s": 0.2})
    total.merge({"scheduled": 5, "on_time": 1, "late": 1, "dropped": 3, "max_lag_s": 0.7})
    assert total.to_dict() == {"scheduled": 8, "on_time": 3, "late": 2, "dropped": 3, "max_lag_s": 0.7}


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ArrivalSchedule(rate_per_s=0.0, start=0.0)
