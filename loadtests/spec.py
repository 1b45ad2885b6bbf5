"""Say what a load run is: where, which shape, how many users for how long, and its thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from loadtests.errors import LoadError
from loadtests.settings import LoadSettings
from loadtests.shapes import ShapeParams, get_profile
from loadtests.thresholds import Thresholds
from shop.kit.public_api import V1_PREFIX


@dataclass(frozen=True)
class LoadSpec:
    """What to run: where, which shape, how many users for how long, open loop or not."""

    host: str
    shape: str = "steady"
    users: int = 10
    spawn_rate: float = 10.0
    duration_s: float = 60.0
    workers: int = 0
    rate_per_s: float | None = None
    seed: int = 1
    think_scale: float = 1.0
    order_timeout_s: float = 30.0
    steps: int = 5
    user_classes: tuple[str, ...] = ()
    buyer_mix: str = ""
    decline_share: float = 0.0
    api_prefix: str = V1_PREFIX
    thresholds: Thresholds = field(default_factory=Thresholds)

    def validate(self) -> None:
        """Raise LoadError when the spec cannot run (bad shape, non-local host, bad counts)."""
        try:
            get_profile(self.shape, ShapeParams(self.users, self.spawn_rate, self.duration_s))
        except ValueError as exc:
            raise LoadError(str(exc)) from exc
        if self.workers < 0:
            raise LoadError(f"workers must be >= 0, got {self.workers}")
        if self.rate_per_s is not None and self.rate_per_s <= 0:
            raise LoadError(f"rate_per_s must be positive, got {self.rate_per_s}")
        try:
            self.settings(Path(".")).buyer_weights()
        except ValueError as exc:
            raise LoadError(str(exc)) from exc
        if not (self.host.startswith("http://127.0.0.1") or self.host.startswith("http://localhost")):
            # load only ever goes to this machine
            raise LoadError(f"load goes to 127.0.0.1 only, got host {self.host!r}")

    def settings(self, out_dir: Path) -> LoadSettings:
        """Return the settings the Locust processes read from the environment."""
        return LoadSettings(
            shape=self.shape,
            users=self.users,
            spawn_rate=self.spawn_rate,
            duration_s=self.duration_s,
            rate_per_s=self.rate_per_s,
            workers=self.workers,
            seed=self.seed,
            think_scale=self.think_scale,
            order_timeout_s=self.order_timeout_s,
            steps=self.steps,
            buyer_mix=self.buyer_mix,
            decline_share=self.decline_share,
            api_prefix=self.api_prefix,
            out_dir=str(out_dir),
        )
