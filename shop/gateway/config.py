"""gateway's settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from shop.kit.config import get_float_env, require_env


@dataclass(frozen=True)
class Settings:
    """gateway's own settings: the JWT secret (required) and the product page's suggestion count."""

    jwt_secret: str
    recommendations_limit: int = 4

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read SHOPLAB_JWT_SECRET (required) and GATEWAY_RECOMMENDATIONS_LIMIT."""
        return cls(
            jwt_secret=require_env("SHOPLAB_JWT_SECRET", env),
            recommendations_limit=int(get_float_env("GATEWAY_RECOMMENDATIONS_LIMIT", 4, env)),
        )
