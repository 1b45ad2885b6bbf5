"""Locust ``LoadTestShape`` classes for the named shapes (imports locust: Locust processes only)."""

from __future__ import annotations

from locust import LoadTestShape

from loadtests.settings import LoadSettings
from loadtests.shapes import Profile, ShapeParams, StepProfile, get_profile


class _ProfileShape(LoadTestShape):
    """Delegate ``tick`` to the pure profile built from ``SHOPLAB_LOAD_*``."""

    abstract = True
    shape_name = "steady"

    def __init__(self) -> None:
        super().__init__()
        self._profile: Profile | None = None

    def profile(self) -> Profile:
        """Build the profile on first use (after the env is final)."""
        if self._profile is None:
            s = LoadSettings.from_env()
            params = ShapeParams(users=s.users, spawn_rate=s.spawn_rate, duration_s=s.duration_s)
            if self.shape_name == "step":
                self._profile = StepProfile(params, steps=s.steps)
            else:
                self._profile = get_profile(self.shape_name, params)
        return self._profile

    def tick(self) -> tuple[int, float] | None:
        """Return the users and spawn rate now, or None when the run is over."""
        return self.profile().tick(self.get_run_time())


class SteadyShape(_ProfileShape):
    """Ramp up, hold."""

    abstract = False
    shape_name = "steady"


class StepShape(_ProfileShape):
    """Climb in equal stairs."""

    abstract = False
    shape_name = "step"


class SpikeShape(_ProfileShape):
    """Baseline, spike, baseline."""

    abstract = False
    shape_name = "spike"


class SoakShape(_ProfileShape):
    """Hold for a long, bounded time."""

    abstract = False
    shape_name = "soak"


SHAPE_CLASSES: dict[str, type[_ProfileShape]] = {
    "steady": SteadyShape,
    "step": StepShape,
    "spike": SpikeShape,
    "soak": SoakShape,
}


def get_shape_class(name: str) -> type[_ProfileShape]:
    """Return the shape class called ``name``; raise ValueError naming the known ones."""
    try:
        return SHAPE_CLASSES[name]
    except KeyError:
        raise ValueError(f"unknown shape {name!r} (known: {', '.join(SHAPE_CLASSES)})") from None
