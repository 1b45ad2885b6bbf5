"""cart's settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """cart's own settings: none yet beyond the kit's (data dir, admin token, catalog's URL).

    Kept so every service reads its environment the same way, in one place, and a
    first cart tunable has an obvious home.
    """

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read cart's own variables (there are none yet)."""
        del env  # nothing of cart's own to read
        return cls()
