"""recommendations' settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """recommendations' own settings: none yet beyond the kit's (admin token, catalog's URL).

    Kept so every service reads its environment the same way, in one place, and a
    first recommendations tunable has an obvious home.
    """

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read recommendations' own variables (there are none yet)."""
        del env  # nothing of recommendations' own to read
        return cls()
