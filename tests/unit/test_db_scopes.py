"""A read scope runs beside an open write scope on the same SQLite file; write scopes still serialise."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, func, insert, select

from shop.kit.db import make_engine, read_scope, write_scope

pytestmark = pytest.mark.unit

metadata = MetaData()
rows = Table("rows", metadata, Column("id", Integer, primary_key=True))

# Far longer than a read takes, far shorter than the busy timeout, so a read that
# queued behind the writer shows up as a failure instead of a hang.
WRITER_HOLD_S = 3.0


def _engine(tmp_path: Path) -> Engine:
    engine = make_engine(tmp_path / "scopes.db")
    metadata.create_all(engine)
    return engine


def _count(engine: Engine) -> int:
    with read_scope(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(rows)).scalar_one())


def test_read_does_not_wait_for_an_open_write_transaction(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    writing = threading.Event()
    read_done = threading.Event()
    committed = threading.Event()

    def writer() -> None:
        with write_scope(engine) as conn:
            conn.execute(insert(rows).values(id=1))
            writing.set()
            read_done.wait(WRITER_HOLD_S)
        committed.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(WRITER_HOLD_S)
        seen = _count(engine)
        finished_before_commit = not committed.is_set()
        read_done.set()
    finally:
        thread.join()
    assert finished_before_commit, "the read waited for the writer's commit"
    assert seen == 0  # the read's snapshot predates the uncommitted insert
    assert _count(engine) == 1


def test_second_write_scope_waits_for_the_first_to_commit(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    writing = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        with write_scope(engine) as conn:
            conn.execute(insert(rows).values(id=1))
            writing.set()
            release.wait(WRITER_HOLD_S)
            order.append("first commits")

    def second() -> None:
        with write_scope(engine) as conn:
            order.append("second begins")
            conn.execute(insert(rows).values(id=2))

    t1 = threading.Thread(target=first)
    t1.start()
    assert writing.wait(WRITER_HOLD_S)
    t2 = threading.Thread(target=second)
    t2.start()
    t2.join(0.3)  # the second writer is still queued at BEGIN IMMEDIATE
    still_waiting = t2.is_alive()
    release.set()
    t1.join()
    t2.join()
    assert still_waiting
    assert order == ["first commits", "second begins"]
    assert _count(engine) == 2
