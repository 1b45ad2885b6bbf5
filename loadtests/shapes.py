"""Name the load shapes (steady, step, spike, soak) as pure profiles of users over time.

A profile answers ``tick(t)`` with ``(users, spawn_rate)`` or ``None`` once the run is
over; the Locust ``LoadTestShape`` classes in ``locustfile.py`` only delegate here, so
the shapes are unit-testable without importing locust.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from loadtests.errors import LoadTestError

# A soak is "bounded": it refuses to run longer than this, so it always ends by itself.
MAX_SOAK_S = 4 * 3600.0


class ShapeError(LoadTestError, ValueError):
    """A shape name or parameter is invalid."""


@dataclass(frozen=True)
class ShapeParams:
    """What every shape is given: peak users, spawn rate per second, total duration."""

    users: int
    spawn_rate: float
    duration_s: float

    def __post_init__(self) -> None:
        if self.users < 1:
            raise ShapeError(f"users must be at least 1, got {self.users}")
        if self.spawn_rate <= 0:
            raise ShapeError(f"spawn_rate must be positive, got {self.spawn_rate}")
        if self.duration_s <= 0:
            raise ShapeError(f"duration_s must be positive, got {self.duration_s}")


class Profile(Protocol):
    """Users over time: ``(users, spawn_rate)`` at run time ``t`` s, ``None`` when done."""

    def tick(self, t: float) -> tuple[int, float] | None: ...


@dataclass(frozen=True)
class SteadyProfile:
    """Ramp to ``users`` at ``spawn_rate`` and hold until ``duration_s``."""

    params: ShapeParams

    def tick(self, t: float) -> tuple[int, float] | None:
        """Return the target at ``t``."""
        if t >= self.params.duration_s:
            return None
        return self.params.users, self.params.spawn_rate


@dataclass(frozen=True)
class StepProfile:
    """Climb to ``users`` in ``steps`` equal stairs of equal length (the knee finder)."""

    params: ShapeParams
    steps: int = 5

    def step_users(self) -> list[int]:
        """Return the user count of each stair, strictly rising, ending at ``users``."""
        n = max(1, min(self.steps, self.params.users))
        return sorted({max(1, math.ceil(self.params.users * (i + 1) / n)) for i in range(n)})

    def step_length_s(self) -> float:
        """Return how long each stair lasts."""
        return self.params.duration_s / len(self.step_users())

    def tick(self, t: float) -> tuple[int, float] | None:
        """Return the stair at ``t``."""
        if t >= self.params.duration_s:
            return None
        stairs = self.step_users()
        index = min(int(t // self.step_length_s()), len(stairs) - 1)
        return stairs[index], self.params.spawn_rate


@dataclass(frozen=True)
class SpikeProfile:
    """Hold a baseline, jump to ``users`` for a short window, fall back to the baseline."""

    params: ShapeParams
    baseline_fraction: float = 0.2
    spike_start_fraction: float = 0.4
    spike_length_fraction: float = 0.2

    def baseline_users(self) -> int:
        """Return the users outside the spike."""
        return max(1, math.floor(self.params.users * self.baseline_fraction))

    def spike_window_s(self) -> tuple[float, float]:
        """Return the spike's start and end in seconds since the run started."""
        start = self.params.duration_s * self.spike_start_fraction
        return start, start + self.params.duration_s * self.spike_length_fraction

    def tick(self, t: float) -> tuple[int, float] | None:
        """Return the target at ``t``; the spike spawns everyone at once."""
        if t >= self.params.duration_s:
            return None
        start, end = self.spike_window_s()
        if start <= t < end:
            # a spike arrives all at once: spawn the whole difference in one second
            return self.params.users, max(self.params.spawn_rate, float(self.params.users))
        return self.baseline_users(), max(self.params.spawn_rate, float(self.params.users))


@dataclass(frozen=True)
class SoakProfile:
    """Hold ``users`` for a long but bounded time (at most ``MAX_SOAK_S``)."""

    params: ShapeParams

    def __post_init__(self) -> None:
        if self.params.duration_s > MAX_SOAK_S:
            raise ShapeError(f"a soak is bounded to {MAX_SOAK_S:.0f} s, got {self.params.duration_s:.0f} s")

    def tick(self, t: float) -> tuple[int, float] | None:
        """Return the target at ``t``."""
        if t >= self.params.duration_s:
            return None
        return self.params.users, self.params.spawn_rate


SHAPES: dict[str, type] = {
    "steady": SteadyProfile,
    "step": StepProfile,
    "spike": SpikeProfile,
    "soak": SoakProfile,
}


def get_profile(name: str, params: ShapeParams) -> Profile:
    """Return the profile called ``name``; raise ShapeError naming the known ones."""
    try:
        cls = SHAPES[name]
    except KeyError:
        raise ShapeError(f"unknown shape {name!r} (known: {', '.join(SHAPES)})") from None
    profile: Profile = cls(params)
    return profile
