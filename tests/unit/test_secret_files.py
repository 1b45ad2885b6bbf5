"""The run folder's secret files (state.json, supervisord.conf) are owner-only from their first byte."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from shop.topology import Topology
from shoplab.runtime import stack as stack_module
from shoplab.runtime.stack import Stack
from shoplab.runtime.state import new_state, read_state, write_state

pytestmark = pytest.mark.unit


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def no_chmod(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand for a writer that dies after writing and before any later chmod."""
    monkeypatch.setattr(Path, "chmod", lambda *_a, **_k: None)
    monkeypatch.setattr(os, "chmod", lambda *_a, **_k: None)


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_state_json_is_created_owner_only_before_any_chmod(tmp_path: Path, no_chmod: None) -> None:
    path = tmp_path / "run" / "state.json"
    write_state(path, new_state(0))
    assert _mode(path) == 0o600
    assert read_state(path)["admin_token"]


def test_rewriting_a_loose_state_json_leaves_it_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{}")
    path.chmod(0o644)
    write_state(path, {"port_offset": 3})
    assert _mode(path) == 0o600
    assert read_state(path) == {"port_offset": 3}


class _Stop(Exception):
    pass


def test_supervisord_conf_holding_the_secrets_is_owner_only(
    tmp_path: Path, no_chmod: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stop_before_supervisord(*_a: object, **_k: object) -> None:
        raise _Stop

    # up() writes the config, then starts supervisord: stop it there, nothing runs.
    monkeypatch.setattr(stack_module.subprocess, "run", stop_before_supervisord)
    stack = Stack(tmp_path, Topology(port_offset=4000), observability=False, with_worker=False)
    with pytest.raises(_Stop):
        stack.up()
    conf = tmp_path / "supervisord.conf"
    assert stack.admin_token in conf.read_text()
    assert _mode(conf) == 0o600
    assert _mode(stack.state_path) == 0o600
