"""Do what the page asks through the CLI's own code paths: chaos faults and profiles, loadtests, labs.

Faults go through ``chaos.faults.ShopFaults`` (each one applied and rolled back like
an experiment's), profiles through ``chaos.profiles``, load through ``loadtests.api``
(open loop), labs through ``labs.session``. Every fault the console applies carries a
time to live (``lease_fault``), kept in the run folder's lease table like a run's: it is rolled back
when the lease expires, by the console or by the supervised reaper, even if the page is
closed or the console is killed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaos.admin import AppFaultRule, ShopAdmin
from chaos.errors import ChaosError
from chaos.experiment import AppFaultSpec, DownFaultSpec, FaultSpec, ToxicFaultSpec
from chaos.faults import Fault, LeasedFault, ShopFaults
from chaos.leases import LeaseTable
from chaos.profiles import ProfileAnswer, build_requests, parse_override, send_profile_requests
from chaos.toxiproxy import ToxiproxyClient, make_toxic
from loadtests.api import LoadError, LoadRun, LoadSpec, start_load
from shoplab.console.forms import AppFaultForm, FaultForm, LabCheckForm, LoadForm, ProfileForm, RemoveForm


class ActionRefused(Exception):
    """An action cannot be done as asked; the message says why (answered as a 400/409)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Lease:
    """A fault the console applied, and when it rolls back by itself."""

    key: str
    description: str
    fault: Fault
    expires_at: float

    def to_json(self, now: float) -> dict[str, Any]:
        """Return the lease for the page."""
        return {"key": self.key, "description": self.description, "ttl_left_s": max(0, round(self.expires_at - now))}


CONSOLE_OWNER = "console"


def lease_fault(faults: ShopFaults, spec: FaultSpec, ttl_s: int, leases: dict[str, Lease], key: str,
                table: LeaseTable) -> Lease:
    """Apply one fault for ``ttl_s`` seconds and keep its lease (the one place a TTL goes).

    The lease is also written to the run folder's lease table (owner ``console``), so the
    supervised reaper removes the fault on time even if the console dies, and
    ``shoplab status`` lists it with its owner and time left.
    """
    fault = LeasedFault(faults.build(spec), spec, table, CONSOLE_OWNER, ttl_s)
    fault.apply()
    lease = Lease(key, fault.description, fault, time.monotonic() + ttl_s)
    leases[key] = lease
    return lease


@dataclass
class ConsoleActions:
    """The console's write side on one running stack (anything with topology, admin_token, run_dir)."""

    stack: Any
    leases: dict[str, Lease] = field(default_factory=dict)
    load: LoadRun | None = None
    load_points: list[dict[str, float]] = field(default_factory=list)
    lab_check: dict[str, Any] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        # one client each for the console's life: a lease's fault rolls back through them later
        t = self.stack.topology
        self.toxiproxy = ToxiproxyClient(t.toxiproxy_url)
        self.admin = ShopAdmin(t, self.stack.admin_token)
        self.faults = ShopFaults(self.toxiproxy, self.admin, None, topology=t)
        self.lease_table = LeaseTable(Path(self.stack.run_dir))

    # -- faults ----------------------------------------------------------------------------------
    def add_fault(self, form: FaultForm) -> str:
        """Apply a toxic or take an edge down, as ``shoplab fault add``/``down`` do; return what was done."""
        if form.edge not in {e.proxy_name for e in self.stack.topology.edges}:
            raise ActionRefused(f"unknown edge {form.edge!r}")
        spec: FaultSpec
        if form.kind == "down":
            spec, key = DownFaultSpec(form.edge), f"down:{form.edge}"
        else:
            try:
                spec = ToxicFaultSpec(form.edge, make_toxic(form.kind, toxicity=form.toxicity, **form.attributes()))
            except ChaosError as exc:
                raise ActionRefused(str(exc)) from None
            key = f"toxic:{form.edge}:{spec.toxic.toxic_name}"
        return self._lease(spec, form.ttl_s, key)

    def add_app_fault(self, form: AppFaultForm) -> str:
        """Set an app-level fault on a service, as ``shoplab fault app`` does; return what was done."""
        if form.service not in self.stack.topology.service_names:
            raise ActionRefused(f"unknown service {form.service!r}")
        rule = AppFaultRule(route=form.route, method=form.method, error_rate=form.error_rate, status=form.status,
                            latency_ms=form.latency_ms)
        return self._lease(AppFaultSpec(form.service, (rule,)), form.ttl_s, f"app:{form.service}")

    def _lease(self, spec: FaultSpec, ttl_s: int, key: str) -> str:
        with self._lock:
            if key in self.leases:
                raise ActionRefused(f"already active: {self.leases[key].description}; remove it first", 409)
            try:
                return lease_fault(self.faults, spec, ttl_s, self.leases, key, self.lease_table).description
            except ChaosError as exc:
                raise ActionRefused(str(exc), 409) from None

    def remove_fault(self, form: RemoveForm) -> str:
        """Roll back a fault (the console's, or one added by ``shoplab fault``); return what was done."""
        key = {"toxic": f"toxic:{form.target}:{form.name}", "down": f"down:{form.target}",
               "app": f"app:{form.target}"}[form.kind]
        with self._lock:
            lease = self.leases.pop(key, None)
            tp, admin = self.toxiproxy, self.admin
            try:
                if lease is not None:
                    lease.fault.rollback()
                    return f"removed {lease.description}"
                if form.kind == "toxic":
                    if not form.name:
                        raise ActionRefused("name the toxic to remove")
                    tp.remove_toxic(form.target, form.name)
                elif form.kind == "down":
                    tp.enable_proxy(form.target)
                else:
                    admin.clear_faults(form.target)
                return f"removed {form.kind} {form.name or ''} on {form.target}"
            except ChaosError as exc:
                raise ActionRefused(str(exc), 409) from None

    def expire(self) -> list[str]:
        """Roll back every fault whose lease ran out; return what was rolled back."""
        now, done = time.monotonic(), []
        with self._lock:
            for key in [k for k, lease in self.leases.items() if lease.expires_at <= now]:
                lease = self.leases.pop(key)
                try:
                    lease.fault.rollback()
                    done.append(f"expired: {lease.description}")
                except ChaosError as exc:
                    done.append(f"expiry failed: {exc}")
        return done

    def app_faults(self) -> dict[str, list[dict[str, Any]]]:
        """Return the app-level faults active on each service that has some."""
        out = {}
        with ShopAdmin(self.stack.topology, self.stack.admin_token, timeout_s=0.8) as admin:
            for service in self.stack.topology.service_names:
                try:
                    if faults := admin.get_faults(service):
                        out[service] = faults
                except ChaosError:
                    continue
        return out

    # -- profiles ----------------------------------------------------------------------------------
    def set_profile(self, form: ProfileForm) -> list[ProfileAnswer]:
        """Switch the profile (with overrides) as ``shoplab profile`` does; return each service's answer."""
        topology = self.stack.topology
        unknown = [s for s in form.services if s not in topology.service_names]
        if unknown:
            raise ActionRefused(f"unknown service(s): {', '.join(unknown)}")
        try:
            overrides = [parse_override(raw) for raw in form.overrides if raw]
            bodies = build_requests(topology, form.profile, overrides, form.services or topology.service_names)
        except ChaosError as exc:
            raise ActionRefused(str(exc)) from None
        answers = send_profile_requests(topology, self.stack.admin_headers(), dict(bodies))
        if not all(a.ok for a in answers):
            problems = "; ".join(f"{a.service}: {a.problem}" for a in answers if not a.ok)
            raise ActionRefused(f"not switched everywhere: {problems}", 409)
        return answers

    def profiles(self) -> dict[str, str]:
        """Return each service's live profile."""
        answers = send_profile_requests(self.stack.topology, self.stack.admin_headers(),
                                        dict.fromkeys(self.stack.topology.service_names))
        return {a.service: a.profile if a.ok else "?" for a in answers}

    # -- load --------------------------------------------------------------------------------------
    def start_load(self, form: LoadForm) -> str:
        """Start open-loop load on the gateway (as ``shoplab load --rate``); return what started."""
        with self._lock:
            if self.load is not None and self.load.is_running():
                raise ActionRefused("load is already running: stop it first", 409)
            out = Path(self.stack.run_dir) / "console" / f"load-{datetime.now(UTC):%Y%m%dT%H%M%S}"
            spec = LoadSpec(host=self.stack.topology.service_url("gateway"), users=form.users,
                            spawn_rate=float(form.users), duration_s=form.duration_s, rate_per_s=form.rate_per_s)
            try:
                self.load = start_load(spec, out_dir=out)
            except LoadError as exc:
                raise ActionRefused(str(exc), 409) from None
            self.load_points = []
            return f"open-loop load at {form.rate_per_s:g} journeys/s for at most {form.duration_s} s"

    def stop_load(self) -> str:
        """Stop the load (idempotent)."""
        with self._lock:
            run, self.load = self.load, None
        if run is None:
            return "no load was running"
        run.stop()
        return "load stopped"

    def load_status(self) -> dict[str, Any]:
        """Return whether load runs and its per-second journey outcomes (the strip chart)."""
        run = self.load
        if run is None:
            return {"running": False, "points": self.load_points[-120:]}
        samples = run.samples()
        points, prev = [], {"success": 0, "degraded": 0, "failure": 0}
        for s in samples:
            total = {o: sum(j.get(o, 0) for j in s.journeys.values()) for o in prev}
            points.append({"t": s.t, **{o: max(total[o] - prev[o], 0) for o in prev}})
            prev = total
        self.load_points = points
        return {"running": run.is_running(), "points": points[-120:], "rate_per_s": run.spec.rate_per_s}

    # -- labs --------------------------------------------------------------------------------------
    def run_lab_check(self, form: LabCheckForm) -> str:
        """Start the lab's quick check in the background; its result shows in the live state."""
        from labs import session  # lazy: an install without labs/ keeps a working console
        from labs.model import LabInvalid, find_lab

        try:
            lab = find_lab(form.number, topology=self.stack.topology)
        except LabInvalid as exc:
            raise ActionRefused(str(exc)) from None
        edges = {e.proxy_name for e in self.stack.topology.edges}
        if form.answer is not None and form.answer not in edges:
            raise ActionRefused(f"answer {form.answer!r} is not an edge")
        with self._lock:
            if self.lab_check.get("running"):
                raise ActionRefused("a lab check is already running", 409)
            self.lab_check = {"running": True, "lab": lab.number, "title": lab.title}

        def work() -> None:
            try:
                result, index = session.check(self.stack, lab, quick=form.quick, answer=form.answer,
                                              reports_root=Path(self.stack.run_dir) / "console" / "reports")
                outcome: dict[str, Any] = {
                    "passed": result.passed, "problems": list(result.problems), "report": str(index or ""),
                    "results": [{"label": r.label, "met": r.met, "value": None if r.value is None else str(r.value),
                                 "target": r.tolerance} for r in result.results]}
            except Exception as exc:  # the check's own failure is the result the page shows
                outcome = {"passed": False, "problems": [f"check failed to run: {exc}"], "results": []}
            with self._lock:
                self.lab_check = {"running": False, "lab": lab.number, "title": lab.title, **outcome}

        threading.Thread(target=work, name="console-lab-check", daemon=True).start()
        return f"checking lab {lab.number}"

    def close(self) -> None:
        """Stop the console's load and roll back its faults: none outlives the console that leased it."""
        self.stop_load()
        with self._lock:
            for lease in self.leases.values():
                lease.expires_at = 0.0
        self.expire()
        self.toxiproxy.close()
        self.admin.close()
