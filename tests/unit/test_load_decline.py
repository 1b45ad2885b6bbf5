"""The decline share: the load setting, its card choice, and its path from an experiment file to Locust."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from chaos.errors import ExperimentInvalid
from chaos.experiment import EXPERIMENTS_DIR, load_experiment, parse_experiment
from chaos.load import LocustLoad
from chaos.model import LoadSettings as ExperimentLoad
from loadtests.cards import CardChooser
from loadtests.errors import LoadError
from loadtests.settings import LoadSettings
from loadtests.spec import LoadSpec
from shop.payments.model import DECLINE_CARD

pytestmark = pytest.mark.unit

EXPERIMENT: dict[str, Any] = {
    "title": "t",
    "profiles": ["naive"],
    "phases": [{"name": "baseline", "duration_s": 10}],
}


def test_the_share_defaults_to_no_declines_and_round_trips_through_the_env() -> None:
    assert LoadSettings().decline_share == 0.0
    assert LoadSettings.from_env({}).decline_share == 0.0
    settings = LoadSettings(decline_share=0.2, seed=7)
    assert settings.to_env()["SHOPLAB_LOAD_DECLINE_SHARE"] == "0.2"
    assert LoadSettings.from_env(settings.to_env()) == settings
    assert LoadSettings.from_env({"SHOPLAB_LOAD_DECLINE_SHARE": "1"}).decline_share == 1.0


@pytest.mark.parametrize("raw", ["-0.1", "1.5", "nan", "inf", "lots"])
def test_a_share_outside_zero_to_one_is_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(ValueError, match="SHOPLAB_LOAD_DECLINE_SHARE"):
        LoadSettings.from_env({"SHOPLAB_LOAD_DECLINE_SHARE": raw})


def test_a_load_spec_carries_the_share_and_refuses_a_bad_one() -> None:
    spec = LoadSpec(host="http://127.0.0.1:8080", decline_share=0.25)
    spec.validate()
    assert spec.settings(Path("/tmp/x")).decline_share == 0.25
    with pytest.raises(LoadError, match="DECLINE_SHARE"):
        LoadSpec(host="http://127.0.0.1:8080", decline_share=2.0).validate()


def draws(chooser: CardChooser, n: int) -> list[str | None]:
    return [chooser.next_card() for _ in range(n)]


@pytest.mark.parametrize("share", [0.0, 0.2, 0.25, 0.5, 1.0])
@pytest.mark.parametrize("seed", [1, 23_000_069, 987_654_321])
def test_that_share_of_checkouts_sends_the_declining_card_and_the_rest_none(share: float, seed: int) -> None:
    cards = draws(CardChooser(share, seed=seed), 1000)
    assert set(cards) <= {DECLINE_CARD, None}
    for n in range(1, len(cards) + 1):
        # stratified: of the first n checkouts, n * share decline, rounded one way or the other
        assert abs(cards[:n].count(DECLINE_CARD) - n * share) < 1, (share, n)
    if share:
        # one decline in every 1/share checkouts in a row: a short quick run still sees some
        window = math.ceil(1 / share)
        assert all(DECLINE_CARD in cards[i:i + window] for i in range(len(cards) - window)), share


def test_the_same_seed_gives_the_same_sequence_in_every_profile() -> None:
    first = draws(CardChooser(0.2, seed=23_000_069), 200)
    assert draws(CardChooser(0.2, seed=23_000_069), 200) == first
    # another run seed (or Locust worker) declines other checkouts
    assert len({tuple(draws(CardChooser(0.2, seed=s), 200)) for s in range(20)}) > 1


@pytest.mark.parametrize("share", [-0.01, 1.01, math.nan])
def test_a_chooser_refuses_a_share_outside_zero_to_one(share: float) -> None:
    with pytest.raises(ValueError, match="from 0 to 1"):
        CardChooser(share, seed=1)


def test_an_experiment_file_sets_the_share_in_its_load() -> None:
    assert parse_experiment(EXPERIMENT, source="e.yaml").load.decline_share == 0.0
    exp = parse_experiment({**EXPERIMENT, "load": {"users": 3, "decline_share": 0.2}}, source="e.yaml")
    assert exp.load == ExperimentLoad(users=3, decline_share=0.2)
    assert load_experiment(EXPERIMENTS_DIR / "worker-crash-loop.yaml").load.decline_share == 0.2


@pytest.mark.parametrize("share", [-0.5, 1.5, math.nan, "some"])
def test_an_experiment_file_with_a_bad_share_is_refused_naming_the_key(share: Any) -> None:
    with pytest.raises(ExperimentInvalid, match="decline_share"):
        parse_experiment({**EXPERIMENT, "load": {"decline_share": share}}, source="bad.yaml")


def test_the_experiment_load_hands_the_share_to_locust(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    started: list[Any] = []

    def fake_start_load(spec: LoadSpec, *, out_dir: Path) -> object:
        started.append(spec)
        return object()

    monkeypatch.setattr("loadtests.api.start_load", fake_start_load)
    LocustLoad("http://127.0.0.1:8080", tmp_path).start(
        ExperimentLoad(users=2, decline_share=0.2), duration_s=10, seed=23, label="naive")
    assert [(s.decline_share, s.seed) for s in started] == [(0.2, 23)]
