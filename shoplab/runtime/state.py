"""Keep a native stack's run folder and its ``state.json`` (port offset, admin token, JWT secret)."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from shoplab import REPO_ROOT


def default_run_dir() -> Path:
    """Return the run folder: ``SHOPLAB_RUN_DIR`` or ``.shoplab/`` in the checkout."""
    return Path(os.environ.get("SHOPLAB_RUN_DIR") or REPO_ROOT / ".shoplab").resolve()


def new_state(port_offset: int) -> dict[str, Any]:
    """Return a fresh state: the port offset and secrets (from the environment, else random)."""
    return {
        "port_offset": port_offset,
        "admin_token": os.environ.get("SHOPLAB_ADMIN_TOKEN") or secrets.token_hex(16),
        "jwt_secret": os.environ.get("SHOPLAB_JWT_SECRET") or secrets.token_hex(32),
    }


def read_state(path: Path) -> dict[str, Any]:
    """Return the state saved at ``path``, or an empty dict when there is none."""
    if not path.exists():
        return {}
    state: dict[str, Any] = json.loads(path.read_text())
    return state


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Save ``state`` at ``path``, readable by its owner only (it holds secrets)."""
    write_private(path, json.dumps(state, indent=2))


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in a file that is owner-only (0600) from its creation."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file 0600 whatever the umask, so the secrets are never
    # readable by others, not even between the write and a chmod; the rename is atomic.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
