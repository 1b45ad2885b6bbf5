"""Read a load run's settings from ``SHOPLAB_LOAD_*`` env vars (set by the launcher for every Locust process)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

PREFIX = "SHOPLAB_LOAD_"


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
    out_dir: str = ""

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

    def to_env(self) -> dict[str, str]:
        """Return the env vars that reproduce these settings in a Locust process."""
        return {PREFIX + k.upper(): ("" if v is None else str(v)) for k, v in asdict(self).items()}
