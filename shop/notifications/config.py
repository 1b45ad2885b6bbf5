"""Read the notifications service's settings once, from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shop.kit.config import KitSettings


@dataclass(frozen=True)
class Settings:
    """Notifications settings: the kit's plus the database file."""

    kit: KitSettings
    db_path: Path

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read ``NOTIFICATIONS_DB_PATH`` (default: ``notifications.sqlite3`` in the data dir)."""
        source = dict(os.environ if env is None else env)
        kit = KitSettings.from_env("notifications", source)
        return cls(kit=kit, db_path=Path(source.get("NOTIFICATIONS_DB_PATH") or kit.data_dir / "notifications.sqlite3"))
