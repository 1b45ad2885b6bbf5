"""The seven fault modes, each turned into the chaos runner's fault specs for one edge.

Toxiproxy carries the TCP modes (reset, latency, slow body, down) on the edge's own
proxy; the HTTP modes are app faults on the callee that match the edge's caller
(``X-Shoplab-Caller``), so they hit that edge only. The HTTP modes hit the edge's first
request of the cell (``times: 1``): a transient refusal, which a retry can survive; the
TCP modes last the whole cell.
"""

from __future__ import annotations

from collections.abc import Iterable

from chaos.model import AppFaultSpec, DownFaultSpec, FaultSpec, ToxicFaultSpec
from chaos.toxiproxy import Latency, ResetPeer, Slicer, Stream
from shop.kit.faults import FaultSpec as AppRule

# Beyond every resilient timeout (1 s read) and the gateway's 3 s request budget; naive waits up to 30 s.
LATENCY_MS = 4000
# 64 bytes every 200 ms (~320 B/s): every read returns in time, so read timeouts never fire.
SLOW_BODY_SLICE_BYTES, SLOW_BODY_DELAY_US = 64, 200_000
RETRY_AFTER_S = 1

MODES: dict[str, str] = {
    "reset": "connection reset (reset_peer on the answer)",
    "latency": f"{LATENCY_MS} ms latency on the answer (beyond the caller's 1 s read timeout)",
    "http_500": "HTTP 500 to this caller (first request)",
    "http_503": "HTTP 503 to this caller (first request)",
    "http_429": f"HTTP 429 with Retry-After: {RETRY_AFTER_S} to this caller (first request)",
    "slow_body": "slow body: the answer trickles in 64-byte slices 200 ms apart",
    "down": "callee down (proxy disabled)",
}
HTTP_STATUS = {"http_500": 500, "http_503": 503, "http_429": 429}


def split_edge(edge: str) -> tuple[str, str]:
    """Return (caller, callee) of ``caller__callee``."""
    caller, sep, callee = edge.partition("__")
    if not sep or not caller or not callee:
        raise ValueError(f"{edge!r} is not an edge name like orders__payments")
    return caller, callee


def app_rule(edge: str, mode: str) -> AppRule:
    """Return the app fault that answers ``mode``'s status to ``edge``'s caller once."""
    caller, _ = split_edge(edge)
    status = HTTP_STATUS[mode]
    return AppRule(route="/", caller=caller, error_rate=1.0, status=status, times=1,
                   retry_after_s=RETRY_AFTER_S if status == 429 else None)


def fault_specs(points: Iterable[tuple[str, str]]) -> list[FaultSpec]:
    """Return the fault specs of (edge, mode) points; app rules on one callee share one spec (one list)."""
    specs: list[FaultSpec] = []
    rules: dict[str, list[AppRule]] = {}
    for edge, mode in points:
        if mode not in MODES:
            raise ValueError(f"unknown fault mode {mode!r} (known: {', '.join(MODES)})")
        if mode in HTTP_STATUS:
            rules.setdefault(split_edge(edge)[1], []).append(app_rule(edge, mode))
        elif mode == "down":
            specs.append(DownFaultSpec(edge))
        elif mode == "reset":
            specs.append(ToxicFaultSpec(edge, ResetPeer(stream=Stream.DOWNSTREAM, name="explore_reset")))
        elif mode == "latency":
            specs.append(ToxicFaultSpec(edge, Latency(latency_ms=LATENCY_MS, name="explore_latency")))
        else:
            specs.append(ToxicFaultSpec(edge, Slicer(average_size=SLOW_BODY_SLICE_BYTES, delay_us=SLOW_BODY_DELAY_US,
                                                 name="explore_slow_body")))
    specs.extend(AppFaultSpec(service, tuple(rs)) for service, rs in rules.items())
    return specs
