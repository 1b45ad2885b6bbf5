"""Read the payments simulator's settings once, from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shop.kit.config import KitSettings, get_float_env


@dataclass(frozen=True)
class Settings:
    """Payments settings: the kit's plus the database file and the simulated processing latency."""

    kit: KitSettings
    db_path: Path
    latency_ms: float

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read ``PAYMENTS_DB_PATH`` and ``PAYMENTS_LATENCY_MS`` (default 0)."""
        source = dict(os.environ if env is None else env)
        kit = KitSettings.from_env("payments", source)
        return cls(
            kit=kit,
            db_path=Path(source.get("PAYMENTS_DB_PATH") or kit.data_dir / "payments.sqlite3"),
            latency_ms=max(0.0, get_float_env("PAYMENTS_LATENCY_MS", 0.0, source)),
        )
