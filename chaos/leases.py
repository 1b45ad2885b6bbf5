"""Keep the lease table: every fault shoplab applied, its owner and when it expires, in the run dir.

Toxiproxy has nowhere to store an owner, and the runner may be killed, so the
table is a JSON file (``<run dir>/leases.json``), written atomically (temporary
file + rename) under an advisory lock, and read by the runner, the reaper, the
``fault`` commands and ``status``. Times are wall-clock epoch seconds, since
several processes share them. A corrupt file raises ``LeaseFileCorrupt`` naming it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from chaos.errors import ChaosError

LEASE_FILE = "leases.json"
MANUAL = "manual"
RUN_TTL_S = 15.0
KINDS = ("toxic", "down", "app", "profile", "process")


class LeaseFileCorrupt(ChaosError):
    """The lease file cannot be read as a lease table; the message names the file."""


@dataclass(frozen=True)
class Lease:
    """One applied fault: what it is, who owns it, and when it expires (None: never)."""

    id: str
    owner: str
    kind: str  # toxic | down | app | profile | process
    target: str  # the edge (toxic, down) or the service (app, profile: "*" for every service)
    description: str
    created_at: float
    expires_at: float | None
    name: str = ""  # the toxic's name
    restore: str = ""  # profile leases: the profile to restore

    def is_expired(self, now: float) -> bool:
        """Say whether the lease ran out at ``now``."""
        return self.expires_at is not None and now >= self.expires_at

    def time_left_s(self, now: float) -> float | None:
        """Return the seconds left (None: no expiry)."""
        return None if self.expires_at is None else max(0.0, self.expires_at - now)


def new_lease_id() -> str:
    """Return a fresh lease id."""
    return secrets.token_hex(6)


def new_run_owner() -> str:
    """Return a fresh owner name for one run (``run-<pid>-<random>``)."""
    return f"run-{os.getpid()}-{secrets.token_hex(3)}"


def _parse(path: Path, text: str) -> list[Lease]:
    if not text.strip():
        return []
    try:
        data = json.loads(text)
        rows = data["leases"]
        return [Lease(**row) for row in rows]
    except (ValueError, KeyError, TypeError) as exc:
        raise LeaseFileCorrupt(
            f"the lease file {path} is corrupt ({exc}); fix or delete it, then run `shoplab fault clear`"
        ) from exc


class LeaseTable:
    """The lease table of one run dir; every change is read-modify-write under a file lock."""

    def __init__(self, run_dir: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(run_dir) / LEASE_FILE
        self.clock = clock

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def read(self) -> list[Lease]:
        """Return every lease; raise LeaseFileCorrupt when the file is not a lease table."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        return _parse(self.path, text)

    def _write(self, leases: list[Lease]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".leases-", suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump({"leases": [asdict(lease) for lease in leases]}, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def _update(self, change: Callable[[list[Lease]], list[Lease]]) -> list[Lease]:
        with self._locked():
            leases = change(self.read())
            self._write(leases)
            return leases

    def add(self, owner: str, kind: str, target: str, description: str, *, ttl_s: float | None,
            name: str = "", restore: str = "") -> Lease:
        """Record a new lease (``ttl_s`` None: no expiry) and return it."""
        if kind not in KINDS:
            raise ValueError(f"unknown lease kind {kind!r} (expected one of {', '.join(KINDS)})")
        now = self.clock()
        lease = Lease(new_lease_id(), owner, kind, target, description, now,
                      None if ttl_s is None else now + ttl_s, name, restore)
        self._update(lambda leases: [*leases, lease])
        return lease

    def remove(self, lease_id: str) -> None:
        """Drop one lease (nothing happens when it is gone already)."""
        self._update(lambda leases: [x for x in leases if x.id != lease_id])

    def remove_where(self, keep: Callable[[Lease], bool]) -> list[Lease]:
        """Drop every lease for which ``keep`` is false; return the dropped ones."""
        dropped: list[Lease] = []

        def change(leases: list[Lease]) -> list[Lease]:
            dropped.extend(x for x in leases if not keep(x))
            return [x for x in leases if keep(x)]

        self._update(change)
        return dropped

    def renew(self, owner: str, ttl_s: float) -> int:
        """Push the expiry of every lease ``owner`` holds to now + ``ttl_s``; return how many."""
        now = self.clock()
        count = 0

        def change(leases: list[Lease]) -> list[Lease]:
            nonlocal count
            out = []
            for x in leases:
                if x.owner == owner:
                    x = replace(x, expires_at=now + ttl_s)
                    count += 1
                out.append(x)
            return out

        self._update(change)
        return count

    def quarantine(self) -> Path:
        """Move a corrupt lease file aside (``leases.json.corrupt-<epoch>``) and return where it went."""
        with self._locked():
            target = self.path.with_name(f"{self.path.name}.corrupt-{int(self.clock())}")
            os.replace(self.path, target)
            return target

    def adopt_profile_leases(self, owner: str) -> str | None:
        """Take over other owners' profile leases (a killed run's); return the profile the oldest restores.

        A new run on a shop whose last run was killed must restore the profile from before that
        run, and the dead run's lease must not switch the profile back under the new run.
        """
        dropped = self.remove_where(lambda x: not (x.kind == "profile" and x.owner != owner))
        oldest = min(dropped, key=lambda x: x.created_at, default=None)
        return oldest.restore if oldest is not None else None

    def expired(self) -> list[Lease]:
        """Return the leases that ran out by now."""
        now = self.clock()
        return [x for x in self.read() if x.is_expired(now)]

    def to_json(self) -> dict[str, Any]:
        """Return the table as plain JSON (for ``status --json`` and the tests)."""
        return {"path": str(self.path), "leases": [asdict(x) for x in self.read()]}


class LeaseKeeper:
    """Renew one owner's leases every ``ttl_s / 3`` seconds from a daemon thread while the run is alive."""

    def __init__(self, table: LeaseTable, owner: str, ttl_s: float = RUN_TTL_S) -> None:
        self.table = table
        self.owner = owner
        self.ttl_s = ttl_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    def _loop(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                self.table.renew(self.owner, self.ttl_s)
            except (OSError, LeaseFileCorrupt) as exc:  # keep trying: the reaper reports a corrupt file
                self.errors.append(str(exc))

    def __enter__(self) -> LeaseKeeper:
        self._thread = threading.Thread(target=self._loop, name=f"lease-keeper-{self.owner}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def lease_ttl_s() -> float:
    """Return a run's lease TTL: ``SHOPLAB_LEASE_TTL_S`` or 15 s."""
    raw = os.environ.get("SHOPLAB_LEASE_TTL_S")
    if not raw:
        return RUN_TTL_S
    try:
        value = float(raw)
    except ValueError:
        raise ChaosError(f"SHOPLAB_LEASE_TTL_S must be a number of seconds, got {raw!r}") from None
    if value < 3:
        raise ChaosError(f"SHOPLAB_LEASE_TTL_S must be at least 3 s (the keeper renews every third), got {raw!r}")
    return value
