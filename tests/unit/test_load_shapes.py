"""Load shapes: users over time for steady, step, spike and bounded soak."""

from __future__ import annotations

import pytest

from loadtests.shapes import MAX_SOAK_S, ShapeError, ShapeParams, SpikeProfile, StepProfile, get_profile

pytestmark = pytest.mark.unit


def test_steady_holds_the_users_and_ends_at_the_duration() -> None:
    profile = get_profile("steady", ShapeParams(users=10, spawn_rate=5.0, duration_s=30))
    assert profile.tick(0) == (10, 5.0)
    assert profile.tick(29.9) == (10, 5.0)
    assert profile.tick(30) is None


def test_step_climbs_in_equal_stairs_up_to_the_peak() -> None:
    profile = StepProfile(ShapeParams(users=20, spawn_rate=10.0, duration_s=50), steps=5)
    assert profile.step_users() == [4, 8, 12, 16, 20]
    seen = [profile.tick(t) for t in (0, 9.9, 10, 25, 49.9)]
    assert [s[0] for s in seen if s] == [4, 4, 8, 12, 20]
    assert profile.tick(50) is None


def test_step_with_fewer_users_than_steps_never_repeats_a_stair() -> None:
    profile = StepProfile(ShapeParams(users=3, spawn_rate=1.0, duration_s=30), steps=5)
    assert profile.step_users() == [1, 2, 3]
    assert profile.step_length_s() == pytest.approx(10.0)


def test_spike_jumps_to_the_peak_inside_its_window_only() -> None:
    profile = SpikeProfile(ShapeParams(users=20, spawn_rate=2.0, duration_s=100))
    start, end = profile.spike_window_s()
    assert (start, end) == (40.0, 60.0)
    assert profile.tick(10) == (4, 20.0)
    assert profile.tick(45) == (20, 20.0)
    assert profile.tick(60) == (4, 20.0)
    assert profile.tick(100) is None


def test_soak_is_bounded() -> None:
    assert get_profile("soak", ShapeParams(5, 1.0, 3600)).tick(3599) == (5, 1.0)
    with pytest.raises(ShapeError, match="bounded"):
        get_profile("soak", ShapeParams(5, 1.0, MAX_SOAK_S + 1))


def test_an_unknown_shape_names_the_known_ones() -> None:
    with pytest.raises(ShapeError, match="steady, step, spike, soak"):
        get_profile("ramp", ShapeParams(1, 1.0, 1))


@pytest.mark.parametrize(("users", "rate", "duration"), [(0, 1.0, 1), (1, 0.0, 1), (1, 1.0, 0)])
def test_shape_parameters_must_be_positive(users: int, rate: float, duration: float) -> None:
    with pytest.raises(ShapeError):
        ShapeParams(users, rate, duration)
