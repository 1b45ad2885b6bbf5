"""Unit-test the labs: every shipped lab loads, bad lab files are refused naming the key, targets measure."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from labs.model import (
    LABS_DIR,
    LIVE_PROFILE,
    LabInvalid,
    Measure,
    Settings,
    Target,
    find_lab,
    load_all,
    load_lab,
)
from labs.runner import measure_target, settings_bodies
from shop.topology import Topology

pytestmark = pytest.mark.unit

REQUIRED_LABS = {
    "01": "slow edge", "02": "timeouts", "03": "retry storm", "04": "circuit breaker",
    "05": "degradation", "06": "idempotency", "07": "bulkhead", "08": "retry storm",
}


@pytest.fixture
def lab_copy(tmp_path: Path) -> Path:
    """Copy lab 02 into a scratch labs folder so a test can break it."""
    src = next(p for p in LABS_DIR.iterdir() if p.name.startswith("02-"))
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_every_shipped_lab_loads_with_readme_check_hints_and_solution() -> None:
    labs = load_all()
    numbers = [lab.number for lab in labs]
    assert len(labs) >= 7
    assert numbers == sorted(set(numbers))
    for number, words in REQUIRED_LABS.items():
        lab = next(lab for lab in labs if lab.number == number)
        assert words.split()[0] in lab.title.lower(), (lab.title, words)
        assert lab.readme.read_text().count("shoplab lab check") >= 1
        assert lab.hints and lab.task
        assert lab.check.experiment.profiles == (LIVE_PROFILE,)
        assert lab.check.experiment.hypothesis or lab.check.targets


def test_every_lab_check_is_short_with_quick_durations() -> None:
    for lab in load_all():
        quick = lab.quick_experiment()
        # the CI budget: about 30 s per check including Locust start and stop
        assert quick.duration_s <= 24, (lab.name, quick.duration_s)
        assert quick.duration_s <= lab.check.experiment.duration_s


def test_every_readme_walks_from_start_to_check_with_the_solution_command() -> None:
    for lab in load_all():
        text = lab.readme.read_text()
        start = text.find(f"shoplab lab start {lab.number}")
        check = text.find(f"shoplab lab check {lab.number}")
        assert 0 <= start < check, lab.name
        if lab.check.needs_answer:
            assert f"--answer {lab.solution.answer}" in text
        else:
            assert lab.solution.settings.command() in text, (lab.name, lab.solution.settings.command())
        for heading in ("## The story", "## What you learn", "## Steps", "## Hints", "## Debrief"):
            assert heading in text, (lab.name, heading)


def test_starting_state_differs_from_the_solution_in_every_lab_that_asks_no_answer() -> None:
    for lab in load_all():
        if not lab.check.needs_answer:
            assert lab.start != lab.solution.settings, lab.name


def test_find_lab_accepts_a_number_a_padded_number_or_the_folder_name() -> None:
    assert find_lab("2").number == "02"
    assert find_lab("02").number == "02"
    name = find_lab("02").name
    assert find_lab(name).name == name
    with pytest.raises(LabInvalid, match="no such lab"):
        find_lab("99")


def test_an_unknown_profile_in_the_starting_state_is_refused_naming_the_key(lab_copy: Path) -> None:
    _edit(lab_copy / "lab.yaml", "profile: naive", "profile: bulletproof")
    with pytest.raises(LabInvalid, match=r"start\.profile: expected one of naive"):
        load_lab(lab_copy)


def test_an_unknown_policy_key_in_an_override_is_refused_naming_the_key(lab_copy: Path) -> None:
    _edit(lab_copy / "solution.yaml", "read_timeout_s: 0.5", "read_timeout: 0.5")
    with pytest.raises(LabInvalid, match=r"overrides\.cart\.read_timeout: unknown policy key"):
        load_lab(lab_copy)


def test_an_override_for_a_service_nobody_calls_is_refused(lab_copy: Path) -> None:
    _edit(lab_copy / "solution.yaml", "cart:", "gateway:")
    with pytest.raises(LabInvalid, match=r"overrides\.gateway: no service calls"):
        load_lab(lab_copy)


def test_a_bad_standing_fault_is_refused_naming_the_lab_key(lab_copy: Path) -> None:
    _edit(lab_copy / "lab.yaml", "edge: gateway__cart", "edge: gateway__moon")
    with pytest.raises(LabInvalid, match=r"start\.faults\[0\]\.edge: expected one of"):
        load_lab(lab_copy)


def test_a_bad_target_is_refused_naming_the_key(lab_copy: Path) -> None:
    _edit(lab_copy / "lab.yaml", "measure: route_p95_ms", "measure: vibes")
    with pytest.raises(LabInvalid, match=r"check\.targets\[0\]\.measure: expected one of"):
        load_lab(lab_copy)


def test_a_route_target_needs_the_method_and_name(lab_copy: Path) -> None:
    _edit(lab_copy / "lab.yaml", 'route: "GET /api/v1/products/[id]"', 'route: "/api/v1/products/[id]"')
    with pytest.raises(LabInvalid, match=r"check\.targets\[0\]\.route: expected 'METHOD /name'"):
        load_lab(lab_copy)


def test_a_broken_check_experiment_is_refused_naming_its_key(lab_copy: Path) -> None:
    _edit(lab_copy / "check.yaml", "duration_s: 20", "duration_s: 0")
    with pytest.raises(LabInvalid, match=r"check\.yaml: phases\[0\]\.duration_s"):
        load_lab(lab_copy)


def test_a_missing_readme_or_solution_is_refused(lab_copy: Path) -> None:
    (lab_copy / "solution.yaml").unlink()
    with pytest.raises(LabInvalid, match="solution.yaml: is missing"):
        load_lab(lab_copy)
    shutil.copy(lab_copy / "lab.yaml", lab_copy / "solution.yaml")
    (lab_copy / "README.md").unlink()
    with pytest.raises(LabInvalid, match="README.md: is missing"):
        load_lab(lab_copy)


def test_a_lab_folder_must_be_named_with_two_digits_and_a_slug(tmp_path: Path, lab_copy: Path) -> None:
    bad = tmp_path / "timeouts"
    shutil.copytree(lab_copy, bad)
    with pytest.raises(LabInvalid, match="NN-slug"):
        load_lab(bad)


def test_settings_render_as_the_shoplab_profile_command() -> None:
    settings = Settings("resilient", {"recommendations": {"read_timeout_s": 3.0, "bulkhead_limit": None},
                                      "cart": {"retry_max_attempts": 2}})
    assert settings.command() == ("shoplab profile resilient --override cart.retry_max_attempts=2 "
                                  "--override recommendations.bulkhead_limit=null "
                                  "--override recommendations.read_timeout_s=3")


def test_an_override_reaches_every_caller_of_its_dependency_and_no_one_else() -> None:
    topology = Topology()
    bodies = settings_bodies(topology, Settings("timeouts", {"catalog": {"read_timeout_s": 0.3}}))
    callers = {s for s, body in bodies.items() if body["overrides"]}
    assert callers == {s.name for s in topology.services if "catalog" in s.calls}
    assert all(body["profile"] == "timeouts" for body in bodies.values())
    assert set(bodies) == set(topology.service_names)


SUMMARY = {
    "routes": [{"method": "GET", "name": "/api/v1/cart", "requests": 20, "failures": 2, "fail_ratio": 0.1,
                "p50_ms": 30, "p95_ms": 180}],
    "journeys": {"browse": {"success": 6, "degraded": 3, "failure": 1, "total": 10, "p50_ms": 90.0,
                            "p95_ms": 400.0}},
}


def test_route_and_journey_targets_read_locusts_summary() -> None:
    p95 = measure_target(Target(Measure.ROUTE_P95_MS, route="GET /api/v1/cart", max=200), SUMMARY, None)
    assert (p95.value, p95.met) == (180.0, True)
    p50 = measure_target(Target(Measure.ROUTE_P50_MS, route="GET /api/v1/cart", max=25), SUMMARY, None)
    assert (p50.value, p50.met) == (30.0, False)
    fails = measure_target(Target(Measure.ROUTE_FAIL_RATIO, route="GET /api/v1/cart", max=0.05), SUMMARY, None)
    assert (fails.value, fails.met) == (0.1, False)
    ok = measure_target(Target(Measure.JOURNEY_SUCCESS_RATIO, journey="browse", min=0.95), SUMMARY, None)
    assert (ok.value, ok.met) == (0.9, False)
    slow = measure_target(Target(Measure.JOURNEY_P95_MS, journey="browse", max=300), SUMMARY, None)
    assert (slow.value, slow.met) == (400.0, False)


def test_a_target_without_measurements_is_not_met() -> None:
    missing = measure_target(Target(Measure.ROUTE_P95_MS, route="POST /api/v1/checkout", max=500), SUMMARY, None)
    assert missing.value is None and not missing.met and "no POST /api/v1/checkout" in missing.detail
    no_summary = measure_target(Target(Measure.JOURNEY_P95_MS, journey="browse", max=500), None, None)
    assert not no_summary.met and "no summary" in no_summary.detail


def test_the_answer_target_is_met_only_by_the_expected_edge() -> None:
    target = Target(Measure.ANSWER, expected="cart__catalog")
    assert measure_target(target, SUMMARY, "cart__catalog").met
    wrong = measure_target(target, SUMMARY, "gateway__catalog")
    assert not wrong.met and "not the slow edge" in wrong.detail
    assert not measure_target(target, SUMMARY, None).met


def test_lab_list_shows_every_lab_and_hint_walks_through_the_hints(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from shoplab.cli import _register, cli

    monkeypatch.setenv("SHOPLAB_RUN_DIR", str(tmp_path))
    _register()
    runner = CliRunner()
    listed = runner.invoke(cli, ["lab", "list"])
    assert listed.exit_code == 0, listed.output
    for number in REQUIRED_LABS:
        assert number in listed.output
    lab = find_lab("03")
    for i, _hint in enumerate(lab.hints, 1):
        out = runner.invoke(cli, ["lab", "hint", "03"])
        assert out.exit_code == 0 and f"hint {i}/{len(lab.hints)}" in out.output
    done = runner.invoke(cli, ["lab", "hint", "03"])
    assert "no more hints" in done.output and "shoplab lab solution 03" in done.output


def test_lab_commands_refuse_an_unknown_lab_with_exit_code_2(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from shoplab.cli import _register, cli

    monkeypatch.setenv("SHOPLAB_RUN_DIR", str(tmp_path))
    _register()
    out = CliRunner().invoke(cli, ["lab", "hint", "42"])
    assert out.exit_code == 2
    assert "no such lab" in out.output


class _FakeFault:
    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name
        self.description = name

    def apply(self) -> None:
        self.log.append(f"apply {self.name}")

    def rollback(self) -> None:
        self.log.append(f"rollback {self.name}")


class _FakeFactory:
    """Stands in for chaos's ShopFaults: records sweeps and applies."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def build(self, spec: object) -> _FakeFault:
        return _FakeFault(self.log, spec.describe())  # type: ignore[attr-defined]

    def sweep(self) -> list[str]:
        self.log.append("sweep")
        return []


def test_the_runners_sweep_puts_the_labs_standing_faults_back() -> None:
    from labs.runner import StandingFaults

    lab = find_lab("01")
    factory = _FakeFactory()
    problems = StandingFaults(factory, lab.faults).sweep()  # type: ignore[arg-type]
    assert problems == []
    assert factory.log[0] == "sweep"
    assert factory.log[1:] == [f"apply {f.describe()}" for f in lab.faults]
    assert len(factory.log) == 1 + len(lab.faults) >= 3


def test_a_check_keeps_the_live_settings_and_audits_only_when_asked() -> None:
    from labs.runner import LiveShop

    class NoStack:
        def __getattr__(self, name: str) -> None:
            raise AssertionError(f"the shop was touched: {name}")

    shop = LiveShop(NoStack(), audit=False)
    shop.set_profile("naive")  # must not reach the stack
    outcome = shop.audit()
    assert outcome.clean and "not audited" in outcome.detail


def test_importing_the_cli_does_not_import_the_labs() -> None:
    import subprocess
    import sys

    # the service image installs shoplab without labs/: its CLI must still import
    code = "import sys, shoplab.cli, shoplab.commands.lab; sys.exit('labs.model' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
