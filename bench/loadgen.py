"""Closed-loop HTTP load from processes of its own, counted over a measured interval after a warm-up.

``ClosedLoop(procs, threads)`` starts ``procs`` load processes once (spawned, so none inherits the
bench's threads) with ``threads`` closed-loop httpx clients each. ``window()`` runs every client from
now until the window's end and counts only the answers that arrive inside the measured interval
(after ``warmup_s``): connections are open, caches warm and exporters' batches in flight when
counting starts, and a window's first and last moments are not part of its figure.

Why processes: eight client threads in the bench's own process share one GIL with the bench's
bookkeeping, and on a busy machine one preempted GIL holder stalls every client at once (a 4 s
window then counted the scheduler as much as the shop). Two processes of four clients halve that,
and each reports its own CPU time, so the generator's share of the 2 cores is on record.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import httpx


@dataclass(frozen=True)
class WindowCounts:
    """What the clients saw in one measured interval."""

    ok: int
    bad: int
    latency_ms_median: float | None
    client_cpu_s: float


def _drive(base_url: str, paths: list[str], start: float, end: float, offset: int) -> tuple[int, int, list[float]]:
    ok = bad = 0
    latencies: list[float] = []
    n = offset
    with httpx.Client(base_url=base_url, timeout=10) as http:
        while (now := time.monotonic()) < end:
            try:
                good = http.get(paths[n % len(paths)]).status_code == 200
            except httpx.HTTPError:
                good = False
            done = time.monotonic()
            if start <= done < end:
                if good:
                    ok += 1
                    latencies.append((done - now) * 1000)
                else:
                    bad += 1
            n += 1
    return ok, bad, latencies


def _window(base_url: str, paths: list[str], start: float, end: float, threads: int, index: int) -> tuple[Any, ...]:
    """Run one window's clients in this process; return their counts, latencies and this process's CPU."""
    results: list[tuple[int, int, list[float]]] = [(0, 0, [])] * threads
    cpu: list[float] = []

    def client(i: int) -> None:
        results[i] = _drive(base_url, paths, start, end, index * threads + i)

    def cpu_at_edges() -> None:
        time.sleep(max(0.0, start - time.monotonic()))
        cpu.append(time.process_time())
        time.sleep(max(0.0, end - time.monotonic()))
        cpu.append(time.process_time())

    workers = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(threads)]
    workers.append(threading.Thread(target=cpu_at_edges, daemon=True))
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return [r[0] for r in results], [r[1] for r in results], [x for r in results for x in r[2]], cpu[1] - cpu[0]


def _serve(conn: Connection, threads: int, index: int) -> None:
    """Run windows as the bench asks, until it sends None."""
    while (job := conn.recv()) is not None:
        base_url, paths, start, end = job
        conn.send(_window(base_url, paths, start, end, threads, index))


class ClosedLoop:
    """A pool of load processes, kept for a whole benchmark run."""

    def __init__(self, procs: int, threads: int) -> None:
        ctx = mp.get_context("spawn")
        self.procs, self.threads = procs, threads
        self._conns: list[Connection] = []
        self._procs: list[Any] = []
        for i in range(procs):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child, threads, i), daemon=True, name=f"bench-load-{i}")
            proc.start()
            self._conns.append(parent)
            self._procs.append(proc)

    @property
    def clients(self) -> int:
        """Closed-loop clients in all."""
        return self.procs * self.threads

    def start(self, base_url: str, paths: list[str], warmup_s: float, measure_s: float) -> tuple[float, float]:
        """Start a window now; return its measured interval (monotonic clock, shared by all processes)."""
        start = time.monotonic() + warmup_s
        end = start + measure_s
        for conn in self._conns:
            conn.send((base_url, paths, start, end))
        return start, end

    def collect(self) -> WindowCounts:
        """Wait for the window started last and return its counts."""
        ok = bad = 0
        latencies: list[float] = []
        cpu = 0.0
        for conn in self._conns:
            oks, bads, lat, cpu_s = conn.recv()
            ok, bad, cpu = ok + sum(oks), bad + sum(bads), cpu + cpu_s
            latencies += lat
        latencies.sort()
        median = round(latencies[len(latencies) // 2], 2) if latencies else None
        return WindowCounts(ok, bad, median, round(cpu, 3))

    def close(self) -> None:
        """Stop the load processes."""
        for conn in self._conns:
            try:
                conn.send(None)
            except OSError:
                pass
        for proc in self._procs:
            proc.join(timeout=15)
            if proc.is_alive():
                proc.kill()

    def __enter__(self) -> ClosedLoop:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
