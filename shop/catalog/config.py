"""catalog's settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """catalog's own settings: none yet beyond the kit's (data dir, admin token, peers).

    Kept so every service reads its environment the same way, in one place, and a
    first catalog tunable has an obvious home.
    """

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read catalog's own variables (there are none yet)."""
        del env  # nothing of catalog's own to read
        return cls()
