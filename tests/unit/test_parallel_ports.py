"""Each xdist worker gets its own port band and run folder, and no two bands share a port."""

from __future__ import annotations

import pytest

from shop.topology import Topology
from shoplab import REPO_ROOT
from tests.parallel import MAX_WORKERS, SIDE_SHIFTS, band_ports, stack_ports, worker_env, worker_index

pytestmark = pytest.mark.unit


def test_outside_xdist_nothing_changes() -> None:
    assert worker_index({}) is None
    assert worker_env({"SHOPLAB_PORT_OFFSET": "6000"}) == {}


def test_each_worker_shifts_the_base_offset_by_a_hundred_and_gets_its_own_run_folder() -> None:
    env = {"PYTEST_XDIST_WORKER": "gw2", "PYTEST_XDIST_WORKER_COUNT": "3",
           "SHOPLAB_PORT_OFFSET": "6000", "SHOPLAB_RUN_DIR": "/tmp/run-x/"}
    assert worker_env(env) == {"SHOPLAB_PORT_OFFSET": "6200", "SHOPLAB_RUN_DIR": "/tmp/run-x-gw2"}


def test_without_settings_the_bands_start_at_zero_beside_the_default_run_folder() -> None:
    env = {"PYTEST_XDIST_WORKER": "gw0", "PYTEST_XDIST_WORKER_COUNT": "2"}
    assert worker_env(env) == {"SHOPLAB_PORT_OFFSET": "0", "SHOPLAB_RUN_DIR": f"{REPO_ROOT / '.shoplab'}-gw0"}


@pytest.mark.parametrize("env, message", [
    ({"PYTEST_XDIST_WORKER": "gw0", "PYTEST_XDIST_WORKER_COUNT": str(MAX_WORKERS + 1)}, "at most"),
    ({"PYTEST_XDIST_WORKER": "gw0", "SHOPLAB_PORT_OFFSET": "lots"}, "must be an integer"),
    ({"PYTEST_XDIST_WORKER": "worker-a"}, "gw<N>"),
])
def test_bad_settings_are_refused_with_a_message(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        worker_env(env)


@pytest.mark.parametrize("base", [0, 6000])
def test_no_two_workers_stacks_or_side_stacks_share_a_port(base: int) -> None:
    bands = [band_ports(base, index) for index in range(MAX_WORKERS)]
    for i, mine in enumerate(bands):
        for j, theirs in enumerate(bands[i + 1:], start=i + 1):
            assert not mine & theirs, f"workers {i} and {j} share {sorted(mine & theirs)}"


def test_one_more_worker_would_collide_so_the_limit_is_tight() -> None:
    first, extra = band_ports(0, 0), band_ports(0, MAX_WORKERS)
    assert first & extra


@pytest.mark.parametrize("shift", SIDE_SHIFTS[1:])
def test_a_side_stack_shares_no_port_with_the_session_stack_it_runs_beside(shift: int) -> None:
    session, side = stack_ports(Topology(port_offset=6000)), stack_ports(Topology(port_offset=6000 + shift))
    assert not session & side
