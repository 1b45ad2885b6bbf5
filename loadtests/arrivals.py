"""Schedule open-loop arrivals: journeys start at a fixed rate, whatever the responses do.

Closed-loop users (wait, request, wait) slow down when the shop slows down, which hides
latency under overload. Here arrival ``i`` is due at ``start + offset + i / rate``,
independent of response times. Concurrency is bounded by the number of users that
claim arrivals: when every user is busy past an arrival's due time, that arrival starts
late (counted, with its lag), and one that is more than ``max_lag_s`` overdue is dropped
(counted, never run), so the backlog stays bounded — the same rule as k6's
``constant-arrival-rate`` with its ``dropped_iterations``. A dropped arrival is a shopper the
shop never served: the user that claims next records each one as a failed ``unserved``
journey at its due time (``Claim.dropped_indices``), so a phase's success ratio counts it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Claim:
    """What a free user should do: wait ``wait_s`` then start arrival ``index``."""

    index: int
    wait_s: float
    late: bool
    lag_s: float
    dropped: int

    @property
    def dropped_indices(self) -> range:
        """Return the indices of the arrivals this claim skipped (they came just before ``index``)."""
        return range(self.index - self.dropped, self.index)


@dataclass
class ArrivalStats:
    """Counters of an open-loop schedule, mergeable across worker processes."""

    scheduled: int = 0
    on_time: int = 0
    late: int = 0
    dropped: int = 0
    max_lag_s: float = 0.0

    def merge(self, other: dict[str, Any]) -> None:
        """Add another process's counters (from ``to_dict``)."""
        self.scheduled += int(other.get("scheduled", 0))
        self.on_time += int(other.get("on_time", 0))
        self.late += int(other.get("late", 0))
        self.dropped += int(other.get("dropped", 0))
        self.max_lag_s = max(self.max_lag_s, float(other.get("max_lag_s", 0.0)))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able copy."""
        return {
            "scheduled": self.scheduled,
            "on_time": self.on_time,
            "late": self.late,
            "dropped": self.dropped,
            "max_lag_s": round(self.max_lag_s, 4),
        }


@dataclass
class ArrivalSchedule:
    """Hand out arrivals due at a fixed rate to whichever user is free (one per process)."""

    rate_per_s: float
    start: float
    offset_s: float = 0.0
    late_tolerance_s: float = 0.05
    max_lag_s: float = 1.0
    next_index: int = 0
    stats: ArrivalStats = field(default_factory=ArrivalStats)

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be positive, got {self.rate_per_s}")

    def due_at(self, index: int) -> float:
        """Return when arrival ``index`` is due (same clock as ``start``)."""
        return self.start + self.offset_s + index / self.rate_per_s

    def claim(self, now: float) -> Claim:
        """Take the next arrival for a free user; skip (drop) those overdue past ``max_lag_s``."""
        dropped = 0
        lag = now - self.due_at(self.next_index)
        if lag > self.max_lag_s:
            # every arrival due before now - max_lag_s found no free user in time
            first_keep = math.ceil((now - self.max_lag_s - self.start - self.offset_s) * self.rate_per_s)
            dropped = max(0, first_keep - self.next_index)
            self.next_index += dropped
            lag = now - self.due_at(self.next_index)
        index = self.next_index
        self.next_index += 1
        self.stats.scheduled += 1 + dropped
        self.stats.dropped += dropped
        late = lag > self.late_tolerance_s
        if late:
            self.stats.late += 1
            self.stats.max_lag_s = max(self.stats.max_lag_s, lag)
        else:
            self.stats.on_time += 1
        return Claim(index=index, wait_s=max(0.0, -lag), late=late, lag_s=max(0.0, lag), dropped=dropped)

    def account_until(self, now: float) -> None:
        """At the end of a run, count arrivals due by ``now`` that no user ever claimed as dropped."""
        due = math.floor((now - self.start - self.offset_s) * self.rate_per_s) + 1
        missed = max(0, due - self.next_index)
        self.next_index += missed
        self.stats.scheduled += missed
        self.stats.dropped += missed
