"""Evaluate an experiment's ``abort_if`` guards on the live samples while faults are on.

A guard is a hypothesis probe (same kinds, same tolerance) measured over the
samples of the last ``window_s`` seconds. It fires when its value leaves its
tolerance (the point value: a guard stops harm early, it does not wait for an
interval to exclude the tolerance); a window with no value (no traffic, no series) does not fire, since
missing data is not evidence of harm. The runner checks the guards after each
sample of a phase with faults and, on the first breach, rolls back every fault
and ends the profile as aborted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chaos.errors import ChaosError
from chaos.model import Guard
from chaos.probes import run_probe
from chaos.samples import ProfileRecord, Sample


@dataclass(frozen=True)
class GuardBreach:
    """A guard that fired: its label, value and tolerance, and when (profile seconds, epoch seconds)."""

    guard: str
    value: float | bool | None
    tolerance: str
    t: float
    at: float
    phase: str
    detail: str = ""

    def describe(self) -> str:
        """Say which guard fired, with what value, when."""
        return (f"guard {self.guard} fired at t={self.t:.1f}s in phase {self.phase}: "
                f"{self.value} outside {self.tolerance} ({self.detail})")


class GuardFired(ChaosError):
    """A guard breached while faults were on; the runner rolls back and aborts the profile."""

    def __init__(self, breach: GuardBreach) -> None:
        super().__init__(breach.describe())
        self.breach = breach


def window(samples: Sequence[Sample], now_t: float, window_s: float) -> list[Sample]:
    """Return the samples of the last ``window_s`` seconds up to ``now_t`` (plus the one before, for counters)."""
    inside = [i for i, s in enumerate(samples) if now_t - window_s < s.t <= now_t]
    if not inside:
        return []
    return list(samples[max(0, inside[0] - 1):inside[-1] + 1])


def check_guards(guards: Sequence[Guard], samples: Sequence[Sample], *, now_t: float, at: float,
                 phase: str, profile: str = "") -> GuardBreach | None:
    """Return the first guard that leaves its tolerance over its window at ``now_t``, else None."""
    for guard in guards:
        recent = window(samples, now_t, guard.window_s)
        if not recent:
            continue
        # Counter probes (retry amplification) start from the sample before the window; the others
        # must not count it, so they see only the window itself.
        counted = recent if guard.probe.kind.value == "retry_amplification" else [
            s for s in recent if s.t > now_t - guard.window_s]
        record = ProfileRecord(profile, False, samples=counted)
        result = run_probe(guard.probe, record)
        # A guard is a safety stop, not a verdict: it fires on the window's value leaving the
        # tolerance, not on an interval that has room to excuse it (a 5 s window holds few journeys).
        if result.value is None or guard.probe.tolerance.is_met(result.value):
            continue
        return GuardBreach(guard.probe.label, result.value, result.tolerance, now_t, at, phase,
                           f"over the last {guard.window_s:g} s: {result.detail}")
    return None
