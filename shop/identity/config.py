"""identity's settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from shop.kit.config import get_float_env, require_env


@dataclass(frozen=True)
class Settings:
    """identity's own settings.

    Password hashing uses argon2id with OWASP's minimum recommended profile
    (m=19 MiB, t=2, p=1): about 20-40 ms per hash or login on this 2-core machine,
    slow enough to make offline guessing expensive, fast enough that a load test is
    not dominated by hashing. Raise the costs for production with the env vars below.
    """

    jwt_secret: str
    token_ttl_s: int = 3600
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19 * 1024
    argon2_parallelism: int = 1

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read SHOPLAB_JWT_SECRET (required) and the optional IDENTITY_* tunables."""
        return cls(
            jwt_secret=require_env("SHOPLAB_JWT_SECRET", env),
            token_ttl_s=int(get_float_env("IDENTITY_TOKEN_TTL_S", 3600, env)),
            argon2_time_cost=int(get_float_env("IDENTITY_ARGON2_TIME_COST", 2, env)),
            argon2_memory_kib=int(get_float_env("IDENTITY_ARGON2_MEMORY_KIB", 19 * 1024, env)),
            argon2_parallelism=int(get_float_env("IDENTITY_ARGON2_PARALLELISM", 1, env)),
        )
