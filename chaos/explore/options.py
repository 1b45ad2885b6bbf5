"""The options ``shoplab explore`` and ``shoplab gate explore`` share, and the settings they build."""

from __future__ import annotations

from pathlib import Path

import click

from chaos.explore.runner import PROFILES, ExploreSettings
from chaos.explore.session import parse_duration_s, split_words


def settings_from_options(journeys: str | None, profiles: str | None, modes: str | None, edges: str | None,
                          pairs: bool, budget: str | None, repeats: int, plant: str | None) -> ExploreSettings:
    """Build the settings from the command's words; raise click.BadParameter naming the bad one."""
    try:
        defaults = ExploreSettings()
        return ExploreSettings(
            journeys=split_words(journeys) or defaults.journeys,
            profiles=split_words(profiles) or PROFILES,
            modes=split_words(modes) or defaults.modes,
            edges=split_words(edges),
            pairs=pairs,
            budget_s=parse_duration_s(budget) if budget else None,
            repeats=repeats,
            plants=split_words(plant),
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def explore_options(fn: click.decorators.FC) -> click.decorators.FC:
    """Add the options ``explore`` and ``gate explore`` share."""
    for option in reversed([
        click.option("--journeys", help="Comma-separated journeys (default: signup,browse,product,cart,checkout,decline)."),
        click.option("--modes", help="Comma-separated fault modes (default: all 7)."),
        click.option("--edges", help="Only these edges, e.g. orders__payments (default: every edge crossed)."),
        click.option("--budget", help="Stop starting cells after this long, e.g. 10m (the rest are counted)."),
        click.option("--repeats", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Runs per cell; the worst is kept."),
        click.option("--plant", help="Plant known bugs while exploring (shop.kit.plants), comma-separated."),
        click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Report folder."),
    ]):
        fn = option(fn)
    return fn
