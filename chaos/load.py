"""Drive Locust through ``loadtests.api`` and hand the runner one point per second.

Locust's samples carry journey outcomes *so far*; the runner wants them per
second, so this adapter subtracts the previous point it handed out.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from chaos.experiment import LoadSettings
from chaos.phase_stats import read_raw
from chaos.samples import OUTCOMES, LoadPoint
from loadtests.raw_samples import Bucket
from loadtests.settings import LoadSettings as LocustSettings


def journey_deltas(current: dict[str, dict[str, float]],
                   previous: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Return per-journey outcome counts between two cumulative tallies."""
    out: dict[str, dict[str, float]] = {}
    for name, counts in current.items():
        before = previous.get(name, {})
        out[name] = {k: max(0.0, float(counts.get(k, 0)) - float(before.get(k, 0))) for k in OUTCOMES}
    return out


class PerSecondRun:
    """Wrap a ``loadtests.api.LoadRun``: ``latest()`` answers per-interval journey counts."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self._last_t: float | None = None
        self._last_cumulative: dict[str, dict[str, float]] = {}
        self._last_point: LoadPoint | None = None

    def latest(self) -> LoadPoint | None:
        """Return Locust's newest second with journey counts since the previous call."""
        raw = self.run.latest()
        if raw is None:
            return None
        point = LoadPoint.from_any(raw)
        if self._last_t is not None and point.t <= self._last_t and self._last_point is not None:
            # no new second yet: same rates, no new journeys
            return replace(self._last_point, journeys={})
        cumulative = {k: dict(v) for k, v in point.journeys.items()}
        deltas = journey_deltas(cumulative, self._last_cumulative)
        self._last_t, self._last_cumulative = point.t, cumulative
        self._last_point = replace(point, journeys=deltas)
        return self._last_point

    def stop(self) -> None:
        """Stop Locust (idempotent)."""
        self.run.stop()

    def raw(self) -> dict[tuple[int, str], Bucket]:
        """Return every journey's raw sample so far, merged per (second of intended start, journey)."""
        out_dir = getattr(self.run, "out_dir", None)
        return {} if out_dir is None else read_raw(Path(out_dir) / "raw.jsonl")


class LocustLoad:
    """Start Locust against the gateway, one output folder per profile."""

    def __init__(self, gateway_url: str, out_root: Path) -> None:
        self.gateway_url = gateway_url
        self.out_root = Path(out_root)

    def start(self, settings: LoadSettings, *, duration_s: float, seed: int, label: str) -> PerSecondRun:
        """Start a bounded run (it stops by itself after ``duration_s``)."""
        from loadtests.api import LoadSpec, start_load

        # open loop: the users spawn and sign in first, the phases come after; the runner stops the load
        duration_s += LocustSettings(users=settings.users, spawn_rate=settings.spawn_rate,
                                     rate_per_s=settings.rate_per_s, decline_share=settings.decline_share).warmup_allowance_s()
        spec = LoadSpec(host=self.gateway_url, shape=settings.shape, users=settings.users,
                        spawn_rate=settings.spawn_rate, duration_s=duration_s, seed=seed or 1,
                        rate_per_s=settings.rate_per_s, decline_share=settings.decline_share,
                        order_timeout_s=settings.order_timeout_s)
        return PerSecondRun(start_load(spec, out_dir=self.out_root / f"locust-{label}"))
