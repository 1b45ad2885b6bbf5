"""Read a load run's settings from ``SHOPLAB_LOAD_*`` env vars (set by the launcher for every Locust process)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

PREFIX = "SHOPLAB_LOAD_"
# Open loop: time allowed, past the last user's spawn, for the sign-ups to finish before arrivals start.
WARMUP_GRACE_S = 60.0
# How often a buying shopper picks each journey (after a first tour through all of them).
DEFAULT_BUYER_WEIGHTS: Mapping[str, int] = {"checkout": 4, "cart": 1, "login": 1}
# The public API's prefixes a run may walk: the versioned one, or the deprecated unversioned twin
# (the only one a shop older than /api/v1 answers; the before/after knee drives both shops through it).
_API_PREFIX = re.compile(r"^/api(/v[1-9][0-9]*)?$")


@dataclass(frozen=True)
class LoadSettings:
    """What the Locust processes need to know besides Locust's own options."""

    shape: str = "steady"
    users: int = 5
    spawn_rate: float = 5.0
    duration_s: float = 60.0
    rate_per_s: float | None = None
    workers: int = 0
    seed: int = 1
    think_scale: float = 1.0
    order_timeout_s: float = 30.0
    steps: int = 5
    buyer_mix: str = ""
    # share of checkouts paying with the simulator's declining card (the rest send no card)
    decline_share: float = 0.0
    # where the journeys find the public API: /api/v1 (shop.kit.public_api.V1_PREFIX, spelled out here,
    # as this module imports nothing of ours), or /api (the deprecated paths)
    api_prefix: str = "/api/v1"
    out_dir: str = ""

    def __post_init__(self) -> None:
        """Refuse a decline share outside 0..1 (NaN included) and an API prefix the shop has not, naming its env var."""
        if not 0.0 <= self.decline_share <= 1.0:
            raise ValueError(f"{PREFIX}DECLINE_SHARE: expected a share from 0 to 1, got {self.decline_share!r}")
        if not _API_PREFIX.match(self.api_prefix):
            raise ValueError(f"{PREFIX}API_PREFIX: expected /api/v1 or /api, got {self.api_prefix!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LoadSettings:
        """Build settings from the environment; raise ValueError naming a malformed variable."""
        env = os.environ if env is None else env
        base = cls()
        values: dict[str, Any] = {}
        for name, default in asdict(base).items():
            raw = env.get(PREFIX + name.upper())
            if raw is None or raw == "":
                continue
            try:
                if name == "rate_per_s":
                    values[name] = float(raw)
                elif isinstance(default, bool):
                    values[name] = raw.lower() in {"1", "true", "yes"}
                elif isinstance(default, int):
                    values[name] = int(raw)
                elif isinstance(default, float):
                    values[name] = float(raw)
                else:
                    values[name] = raw
            except ValueError as exc:
                raise ValueError(f"{PREFIX}{name.upper()}={raw!r}: {exc}") from exc
        return cls(**values)

    def warmup_allowance_s(self) -> float:
        """Return how long an open-loop run may spend spawning and signing in its users (0: closed loop)."""
        if not self.rate_per_s:
            return 0.0
        return self.users / max(self.spawn_rate, 0.1) + WARMUP_GRACE_S

    def buyer_weights(self, default: Mapping[str, int] = DEFAULT_BUYER_WEIGHTS) -> dict[str, int]:
        """Parse ``buyer_mix`` (``checkout=4,cart=1,login=1``); unknown journeys raise ValueError."""
        if not self.buyer_mix.strip():
            return dict(default)
        weights: dict[str, int] = {}
        for part in self.buyer_mix.split(","):
            name, _, weight = part.partition("=")
            name = name.strip()
            if name not in default:
                raise ValueError(f"{PREFIX}BUYER_MIX: unknown journey {name!r} (known: {', '.join(default)})")
            weights[name] = int(weight or 1)
        if not any(weights.values()):
            raise ValueError(f"{PREFIX}BUYER_MIX: every weight is 0")
        return weights

    def to_env(self) -> dict[str, str]:
        """Return the env vars that reproduce these settings in a Locust process."""
        return {PREFIX + k.upper(): ("" if v is None else str(v)) for k, v in asdict(self).items()}
