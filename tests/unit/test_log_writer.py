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


def test_a_full_queue_cuts_the_writers_linger_short() -> None:
    stream = CountingStream()
    writer = LineWriter(stream, max_pending=10, linger_s=60.0)  # a linger no test could wait out
    for i in range(100):
        writer.write(f"{i}\n")  # blocks at 10 pending until the writer takes a batch
    writer.drain(timeout_s=10)
    assert stream.getvalue().splitlines() == [str(i) for i in range(100)]


def test_one_burst_of_lines_is_written_in_a_few_calls() -> None:
    stream = CountingStream()
    writer = LineWriter(stream, linger_s=0.2)
    for i in range(200):
        writer.write(f"{i}\n")
    writer.drain()
    assert len(stream.getvalue().splitlines()) == 200
    assert stream.writes <= 2  # one wake-up for the burst (two if the first line was taken alone)
