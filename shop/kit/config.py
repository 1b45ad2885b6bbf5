"""Read the environment once into frozen settings objects."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shop.topology import DEFAULT


class MissingSetting(RuntimeError):
    """A required setting is missing from the environment."""


def require_env(name: str, env: dict[str, str] | None = None) -> str:
    """Return ``env[name]`` or fail naming the missing variable."""
    source = os.environ if env is None else env
    value = source.get(name)
    if not value:
        raise MissingSetting(f"required setting {name} is not set")
    return value


def get_float_env(name: str, default: float, env: dict[str, str] | None = None) -> float:
    """Return ``env[name]`` as a float, or ``default``; fail naming a bad value."""
    source = os.environ if env is None else env
    raw = source.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise MissingSetting(f"setting {name} must be a number, got {raw!r}") from exc


@dataclass(frozen=True)
class KitSettings:
    """Settings every service shares."""

    service: str
    admin_token: str
    data_dir: Path
    dependency_urls: dict[str, str]

    @classmethod
    def from_env(cls, service: str, env: dict[str, str] | None = None) -> KitSettings:
        """Read the shared settings; ``<CALLEE>_URL`` vars become ``dependency_urls``."""
        source = dict(os.environ if env is None else env)
        deps = {}
        for callee in DEFAULT.service(service).calls:
            deps[callee] = require_env(f"{callee.upper()}_URL", source)
        return cls(
            service=service,
            admin_token=require_env("SHOPLAB_ADMIN_TOKEN", source),
            data_dir=Path(source.get("SHOPLAB_DATA_DIR") or ".shoplab/data"),
            dependency_urls=deps,
        )


def get_port_env(name: str, source: dict[str, str], *, service: str, default: int) -> int:
    """Return port ``name`` from ``source``, else ``default`` shifted by the stack's offset.

    A background process gets its service's env; ``<SERVICE>_PORT`` carries the offset.
    """
    raw = source.get(name)
    if raw:
        try:
            return int(raw)
        except ValueError as exc:
            raise MissingSetting(f"{name} must be an integer, got {raw!r}") from exc
    port = source.get(f"{service.upper()}_PORT")
    offset = int(port) - DEFAULT.service(service).port if port and port.isdigit() else 0
    return default + offset
