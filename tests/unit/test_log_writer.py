"""The background line writer keeps every line, whole and in each thread's order, and batches the writes."""

from __future__ import annotations

import io
import threading

import pytest

from shop.kit.logs import LineWriter

pytestmark = pytest.mark.unit


class CountingStream(io.StringIO):
    """A StringIO that counts write calls."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, s: str) -> int:
        self.writes += 1
        return super().write(s)


def test_every_line_from_many_threads_arrives_whole_and_in_order() -> None:
    stream = CountingStream()
    writer = LineWriter(stream, max_pending=50)  # small, so backpressure is exercised too

    def emit(t: int) -> None:
        for i in range(500):
            writer.write(f"t{t} {i}\n")

    threads = [threading.Thread(target=emit, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    writer.drain()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 8 * 500
    for t in range(8):
        assert [int(x.split()[1]) for x in lines if x.startswith(f"t{t} ")] == list(range(500))
    assert stream.writes < len(lines)  # batched: fewer write calls than lines


def test_drain_returns_only_after_the_last_line_is_written() -> None:
    stream = CountingStream()
    writer = LineWriter(stream)
    writer.write('{"event": "last"}\n')
    writer.drain()
    assert stream.getvalue() == '{"event": "last"}\n'
