"""Where the consumer tests write their pacts: a fresh folder per session, never the committed one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contracts.pactfiles import OUTPUT_ENV


@pytest.fixture(scope="session")
def pact_output_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the folder the pacts of this run go to (``SHOPLAB_PACT_OUTPUT_DIR`` when the gate sets it)."""
    raw = os.environ.get(OUTPUT_ENV)
    if raw:
        path = Path(raw)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("pacts")
