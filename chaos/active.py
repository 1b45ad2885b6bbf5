"""See and clear what is on: every active fault read from the real APIs, joined with its lease.

The faults come from Toxiproxy (toxics, disabled proxies) and each service's
``/admin/faults``, never from our own bookkeeping; the lease table only adds the
owner, age and time left. A fault with no lease shows owner ``unknown`` and no
expiry. Profile leases (a run switched the profile) are listed as well.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from chaos.admin import ShopAdmin
from chaos.errors import ChaosError
from chaos.leases import Lease, LeaseFileCorrupt, LeaseTable
from chaos.reaper import ProcessUndo, undo_lease
from chaos.toxiproxy import ToxiproxyClient

UNKNOWN_OWNER = "unknown"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration_s(text: str) -> float:
    """Parse ``10m``, ``90s``, ``1.5h`` or plain seconds; raise ValueError naming the text."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration (e.g. 30s, 10m, 1h)")
    return float(match.group(1)) * _UNIT_S[match.group(2) or "s"]


@dataclass(frozen=True)
class ActiveFault:
    """One fault that is on now, with its lease's owner, age and time left (None: no expiry)."""

    kind: str  # toxic | down | app | profile
    target: str
    what: str
    owner: str
    age_s: float | None
    left_s: float | None
    lease_id: str | None = None

    @property
    def never_expires(self) -> bool:
        """Say whether nothing will ever remove this fault by itself."""
        return self.left_s is None


def _joined(kind: str, target: str, what: str, lease: Lease | None, now: float) -> ActiveFault:
    if lease is None:
        return ActiveFault(kind, target, what, UNKNOWN_OWNER, None, None)
    return ActiveFault(kind, target, what, lease.owner, max(0.0, now - lease.created_at), lease.time_left_s(now),
                       lease.id)


def list_active_faults(toxiproxy: ToxiproxyClient, admin: ShopAdmin, table: LeaseTable) -> list[ActiveFault]:
    """Return every active fault (toxics, disabled proxies, app faults, switched profiles) with its lease."""
    leases = table.read()
    now = table.clock()

    def lease_for(kind: str, target: str, name: str = "") -> Lease | None:
        return next((x for x in leases if x.kind == kind and x.target == target and x.name == name), None)

    active: list[ActiveFault] = []
    # With SHOPLAB_PROXIES=off there is no toxiproxy to ask: only app faults and profiles exist.
    proxies = toxiproxy.list_proxies() if admin.topology.proxies else {}
    for name, proxy in sorted(proxies.items()):
        if not proxy.enabled:
            active.append(_joined("down", name, "proxy disabled", lease_for("down", name), now))
        for toxic in proxy.toxics:
            what = f"{toxic.name}: {toxic.type} {toxic.attributes} toxicity={toxic.toxicity:g}"
            active.append(_joined("toxic", name, what, lease_for("toxic", name, toxic.name), now))
    for service in admin.topology.service_names:
        try:
            rules = admin.get_faults(service)
        except ChaosError:  # a service that is down shows in the process table; its faults cannot be read
            continue
        if rules:
            active.append(_joined("app", service, f"{len(rules)} rule(s)", lease_for("app", service), now))
    for lease in leases:
        if lease.kind == "profile":
            active.append(_joined("profile", lease.target, f"switched; restores {lease.restore}", lease, now))
    return active


def clear_all(toxiproxy: ToxiproxyClient, admin: ShopAdmin, table: LeaseTable,
              processes: Callable[[], ProcessUndo] | None = None) -> list[str]:
    """Remove every active fault, restore switched profiles and killed or paused processes (through
    ``processes``, the stack's supervisor), and empty the lease table; return problems."""
    problems: list[str] = []
    try:
        if admin.topology.proxies:
            toxiproxy.reset()
    except ChaosError as exc:
        problems.append(f"toxiproxy reset failed: {exc}")
    problems += [f"clearing app faults on {s} failed" for s in admin.clear_all_faults()]
    try:
        leases = table.read()
    except LeaseFileCorrupt as exc:
        moved = table.quarantine()
        return [*problems, f"{exc}; moved it to {moved}: a profile a run switched may need `shoplab profile`"]
    for lease in leases:
        if lease.kind in ("profile", "process"):
            try:
                undo_lease(lease, toxiproxy, admin, processes)
            except ChaosError as exc:
                what = "the profile" if lease.kind == "profile" else f"process {lease.target}"
                problems.append(f"restoring {what} of {lease.owner} failed: {exc}")
                continue
        table.remove(lease.id)
    return problems


def get_profiles(admin: ShopAdmin) -> dict[str, str]:
    """Return each service's current resilience profile (``unreachable`` when its admin API does not answer)."""
    profiles = {}
    for service in admin.topology.service_names:
        try:
            profiles[service] = admin.get_profile(service)
        except ChaosError:
            profiles[service] = "unreachable"
    return profiles
