"""The lease table: renewal, expiry, atomic writes and a corrupt file; leased faults and the reaper's pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.active import clear_all
from chaos.errors import AdminError, FaultError
from chaos.experiment import DownFaultSpec, ProcessAction, ProcessFaultSpec, ToxicFaultSpec
from chaos.faults import LeasedFaults
from chaos.leases import LeaseFileCorrupt, LeaseTable, lease_ttl_s
from chaos.reaper import reap_once, run_reaper
from chaos.toxiproxy import Toxic, make_toxic
from shop.topology import Topology

pytestmark = pytest.mark.unit


class FakeWallClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_lease_expires_after_its_ttl_and_a_manual_one_without_ttl_never(tmp_path: Path) -> None:
    clock = FakeWallClock()
    table = LeaseTable(tmp_path, clock=clock)
    run = table.add("run-1", "toxic", "orders__payments", "latency", ttl_s=15, name="latency_downstream")
    manual = table.add("manual", "down", "cart__catalog", "down", ttl_s=None)
    clock.now += 14.9
    assert table.expired() == []
    clock.now += 0.2
    assert [x.id for x in table.expired()] == [run.id]
    clock.now += 10_000
    assert manual.id not in {x.id for x in table.expired()}
    assert manual.time_left_s(clock.now) is None


def test_renewal_pushes_only_the_owners_leases(tmp_path: Path) -> None:
    clock = FakeWallClock()
    table = LeaseTable(tmp_path, clock=clock)
    mine = table.add("run-1", "app", "payments", "app fault", ttl_s=15)
    other = table.add("run-2", "app", "orders", "app fault", ttl_s=15)
    clock.now += 10
    assert table.renew("run-1", 15) == 1
    clock.now += 10
    assert [x.id for x in table.expired()] == [other.id]
    left = {x.id: x.time_left_s(clock.now) for x in table.read()}
    assert left[mine.id] == pytest.approx(5.0)


def test_the_table_survives_a_new_reader_and_removal(tmp_path: Path) -> None:
    table = LeaseTable(tmp_path)
    lease = table.add("manual", "toxic", "gateway__cart", "x", ttl_s=60, name="t1")
    again = LeaseTable(tmp_path).read()
    assert again == [lease]
    table.remove(lease.id)
    assert LeaseTable(tmp_path).read() == []
    assert not list(tmp_path.glob(".leases-*.tmp"))  # the atomic write left no temporary file


@pytest.mark.parametrize("text", ["{not json", '{"leases": [{"id": 1}]}', '["a"]'])
def test_a_corrupt_lease_file_raises_a_clear_error_naming_the_file(tmp_path: Path, text: str) -> None:
    (tmp_path / "leases.json").write_text(text)
    table = LeaseTable(tmp_path)
    with pytest.raises(LeaseFileCorrupt) as info:
        table.read()
    assert str(tmp_path / "leases.json") in str(info.value)
    with pytest.raises(LeaseFileCorrupt):
        table.add("manual", "down", "cart__catalog", "down", ttl_s=None)
    assert (tmp_path / "leases.json").read_text() == text  # the corrupt file is never overwritten


def test_the_ttl_comes_from_the_environment_and_refuses_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPLAB_LEASE_TTL_S", raising=False)
    assert lease_ttl_s() == 15.0
    monkeypatch.setenv("SHOPLAB_LEASE_TTL_S", "6")
    assert lease_ttl_s() == 6.0
    monkeypatch.setenv("SHOPLAB_LEASE_TTL_S", "soon")
    with pytest.raises(Exception, match="SHOPLAB_LEASE_TTL_S"):
        lease_ttl_s()


class RecordingFault:
    def __init__(self, fail_rollback: bool = False) -> None:
        self.description = "fake"
        self.fail_rollback = fail_rollback

    def apply(self) -> None:
        pass

    def rollback(self) -> None:
        if self.fail_rollback:
            raise FaultError("refused")


class Factory:
    def __init__(self, table: LeaseTable, fail_rollback: bool = False) -> None:
        self.table = table
        self.fail_rollback = fail_rollback
        self.leases_seen_at_apply: list[int] = []

    def build(self, spec: object) -> RecordingFault:
        fault = RecordingFault(self.fail_rollback)
        table = self.table

        def apply() -> None:
            self.leases_seen_at_apply.append(len(table.read()))

        fault.apply = apply  # type: ignore[method-assign]
        return fault

    def sweep(self) -> list[str]:
        return []


def test_a_leased_fault_is_leased_before_it_is_applied_and_released_after_rollback(tmp_path: Path) -> None:
    table = LeaseTable(tmp_path)
    inner = Factory(table)
    faults = LeasedFaults(inner, table, "run-9", 15)
    fault = faults.build(ToxicFaultSpec("orders__payments", make_toxic("latency", latency_ms=100)))
    fault.apply()
    assert inner.leases_seen_at_apply == [1]
    (lease,) = table.read()
    assert (lease.owner, lease.kind, lease.target, lease.name) == ("run-9", "toxic", "orders__payments",
                                                                   "latency_downstream")
    fault.rollback()
    assert table.read() == []


def test_a_failed_rollback_keeps_the_lease_for_the_reaper(tmp_path: Path) -> None:
    table = LeaseTable(tmp_path)
    fault = LeasedFaults(Factory(table, fail_rollback=True), table, "run-9", 15).build(DownFaultSpec("cart__catalog"))
    fault.apply()
    with pytest.raises(FaultError):
        fault.rollback()
    assert [x.kind for x in table.read()] == ["down"]


def test_process_faults_are_leased_and_a_sweep_keeps_profile_leases(tmp_path: Path) -> None:
    table = LeaseTable(tmp_path)
    faults = LeasedFaults(Factory(table), table, "run-9", 15)
    fault = faults.build(ProcessFaultSpec("rabbitmq", ProcessAction.PAUSE))
    fault.apply()
    (lease,) = table.read()
    assert (lease.kind, lease.target, lease.name) == ("process", "rabbitmq", "pause")
    fault.rollback()
    assert table.read() == []
    table.add("run-9", "profile", "*", "profile", ttl_s=15, restore="resilient")
    table.add("manual", "down", "cart__catalog", "down", ttl_s=None)
    assert faults.sweep() == []
    assert [x.kind for x in table.read()] == ["profile"]


class FakeToxiproxy:
    def __init__(self) -> None:
        self.toxics = {"orders__payments": ["latency_downstream"]}
        self.disabled = {"cart__catalog"}
        self.resets = 0

    def list_toxics(self, proxy: str) -> list[Toxic]:
        return [Toxic(n, "latency", "downstream", 1.0) for n in self.toxics.get(proxy, [])]

    def remove_toxic(self, proxy: str, name: str) -> None:
        self.toxics[proxy].remove(name)

    def enable_proxy(self, proxy: str) -> None:
        self.disabled.discard(proxy)

    def reset(self) -> None:
        self.resets += 1


class FakeAdmin:
    def __init__(self, fail: bool = False) -> None:
        self.profiles: list[tuple[str, object]] = []
        self.cleared: list[str] = []
        self.fail = fail
        self.topology = Topology()

    def clear_faults(self, service: str) -> None:
        if self.fail:
            raise AdminError("down", service=service)
        self.cleared.append(service)

    def clear_all_faults(self) -> list[str]:
        return []

    def set_profile(self, profile: str, services: object = None) -> None:
        self.profiles.append((profile, services))


def test_the_reaper_undoes_only_expired_leases_and_restores_the_profile(tmp_path: Path) -> None:
    clock = FakeWallClock()
    table = LeaseTable(tmp_path, clock=clock)
    table.add("run-1", "toxic", "orders__payments", "latency", ttl_s=15, name="latency_downstream")
    table.add("run-1", "down", "cart__catalog", "down", ttl_s=15)
    table.add("run-1", "profile", "*", "profile", ttl_s=15, restore="resilient")
    table.add("run-2", "app", "payments", "app", ttl_s=60)
    table.add("manual", "down", "gateway__cart", "down", ttl_s=None)
    tp, admin = FakeToxiproxy(), FakeAdmin()
    assert reap_once(table, tp, admin) == ([], [])  # type: ignore[arg-type]
    clock.now += 16
    reaped, problems = reap_once(table, tp, admin)  # type: ignore[arg-type]
    assert problems == [] and [x.kind for x in reaped] == ["toxic", "down", "profile"]
    assert tp.toxics["orders__payments"] == [] and tp.disabled == set()
    assert admin.profiles == [("resilient", None)] and admin.cleared == []
    assert sorted(x.owner for x in table.read()) == ["manual", "run-2"]


class FakeProcesses:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def start_process(self, name: str) -> None:
        self.calls.append(("start", name))

    def signal_process(self, name: str, signal: str) -> None:
        self.calls.append((signal, name))


def test_the_reaper_continues_a_paused_process_and_starts_a_killed_one(tmp_path: Path) -> None:
    clock = FakeWallClock()
    table = LeaseTable(tmp_path, clock=clock)
    table.add("run-1", "process", "rabbitmq", "pause rabbitmq", ttl_s=15, name="pause")
    table.add("run-1", "process", "notifications-consumer", "kill", ttl_s=15, name="kill")
    clock.now += 16
    assert reap_once(table, FakeToxiproxy(), FakeAdmin())[1] != []  # type: ignore[arg-type]
    assert len(table.read()) == 2  # without a supervisor nothing is undone, nothing dropped
    processes = FakeProcesses()
    reaped, problems = reap_once(table, FakeToxiproxy(), FakeAdmin(), lambda: processes)  # type: ignore[arg-type]
    assert problems == [] and len(reaped) == 2 and table.read() == []
    assert processes.calls == [("CONT", "rabbitmq"), ("start", "notifications-consumer")]


def test_a_lease_whose_undo_fails_stays_for_the_next_pass(tmp_path: Path) -> None:
    clock = FakeWallClock()
    table = LeaseTable(tmp_path, clock=clock)
    table.add("run-2", "app", "payments", "app", ttl_s=1)
    clock.now += 2
    reaped, problems = reap_once(table, FakeToxiproxy(), FakeAdmin(fail=True))  # type: ignore[arg-type]
    assert reaped == [] and "cannot undo app" in problems[0]
    assert [x.kind for x in table.read()] == ["app"]


def test_the_reaper_reports_a_corrupt_file_once_and_keeps_running(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "leases.json").write_text("{broken")
    passes = iter(range(3))
    run_reaper(tmp_path, Topology(), "token", interval_s=0.0, should_stop=lambda: next(passes, None) is None)
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and str(tmp_path / "leases.json") in errors[0]


def test_clearing_everything_moves_a_corrupt_lease_file_aside(tmp_path: Path) -> None:
    (tmp_path / "leases.json").write_text("{broken")
    tp = FakeToxiproxy()
    problems = clear_all(tp, FakeAdmin(), LeaseTable(tmp_path))  # type: ignore[arg-type]
    assert tp.resets == 1 and "corrupt" in problems[0]
    assert not (tmp_path / "leases.json").exists() and list(tmp_path.glob("leases.json.corrupt-*"))
    assert LeaseTable(tmp_path).read() == []


def test_a_new_run_adopts_a_killed_runs_profile_lease_and_its_original_profile(tmp_path: Path) -> None:
    clock = FakeWallClock()
    table = LeaseTable(tmp_path, clock=clock)
    table.add("run-dead", "profile", "*", "profile", ttl_s=15, restore="resilient")
    clock.now += 1
    table.add("run-dead-too", "profile", "*", "profile", ttl_s=15, restore="naive")
    table.add("manual", "down", "cart__catalog", "down", ttl_s=None)
    assert table.adopt_profile_leases("run-new") == "resilient"
    assert [x.kind for x in table.read()] == ["down"]  # the dead runs' leases can no longer switch back
    assert table.adopt_profile_leases("run-new") is None


def test_clearing_everything_on_a_stack_without_proxies_never_asks_toxiproxy(tmp_path: Path) -> None:
    tp, admin = FakeToxiproxy(), FakeAdmin()
    admin.topology = Topology(proxies=False)
    table = LeaseTable(tmp_path)
    table.add("manual", "app", "payments", "app", ttl_s=None)
    assert clear_all(tp, admin, table) == []  # type: ignore[arg-type]
    assert tp.resets == 0 and table.read() == []
    with_proxies = FakeToxiproxy()
    assert clear_all(with_proxies, FakeAdmin(), LeaseTable(tmp_path)) == [] and with_proxies.resets == 1  # type: ignore[arg-type]


def test_clearing_everything_brings_a_killed_and_a_paused_process_back(tmp_path: Path) -> None:
    calls: list[tuple[str, str]] = []

    class Supervisor:
        def start_process(self, name: str) -> None:
            calls.append(("start", name))

        def signal_process(self, name: str, signal: str) -> None:
            calls.append((signal, name))

    table = LeaseTable(tmp_path)
    table.add("manual", "process", "rabbitmq", "kill rabbitmq", ttl_s=None, name="kill")
    table.add("manual", "process", "orders-worker", "pause orders-worker", ttl_s=None, name="pause")
    assert clear_all(FakeToxiproxy(), FakeAdmin(), table, Supervisor) == []  # type: ignore[arg-type]
    assert calls == [("start", "rabbitmq"), ("CONT", "orders-worker")] and table.read() == []
    # without a supervisor to ask, the lease stays and the problem is said, never dropped silently
    table.add("manual", "process", "rabbitmq", "kill rabbitmq", ttl_s=None, name="kill")
    problems = clear_all(FakeToxiproxy(), FakeAdmin(), table)  # type: ignore[arg-type]
    assert problems and "rabbitmq" in problems[0] and [x.target for x in table.read()] == ["rabbitmq"]
