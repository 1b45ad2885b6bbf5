"""Open a service's own SQLite database through SQLAlchemy (WAL, busy timeout, read and write scopes)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from shop.kit.config import KitSettings
from shop.kit.health import add_readiness_check
from shop.kit.state import get_component

BUSY_TIMEOUT_MS = 10_000
# Execution option that marks a connection's transactions as reads: plain deferred BEGIN.
READ_ONLY_OPTION = "shoplab_read_only"


def make_engine(url_or_path: str | Path) -> Engine:
    """Create an engine; a path becomes a SQLite file in WAL mode with a busy timeout.

    WAL lets readers run beside the writer; the busy timeout makes concurrent writers
    wait instead of failing with "database is locked".
    """
    url = str(url_or_path)
    if "://" not in url:
        Path(url).parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{url}"
    is_sqlite = url.startswith("sqlite")
    kwargs: dict[str, Any] = {}
    if is_sqlite:
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
    engine = create_engine(url, **kwargs)
    if is_sqlite:

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when a transaction begins, so
            # BEGIN IMMEDIATE below takes the write lock up front.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # Reads take a deferred snapshot beside the WAL writer and never wait for it;
            # writers queue on the busy timeout at BEGIN instead of deadlocking on upgrade.
            if conn.get_execution_options().get(READ_ONLY_OPTION):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@contextmanager
def read_scope(engine: Engine) -> Iterator[Connection]:
    """Yield a connection whose transaction is a deferred read: it never waits for the writer."""
    with engine.connect() as conn:
        conn.execution_options(**{READ_ONLY_OPTION: True})
        yield conn


@contextmanager
def write_scope(engine: Engine) -> Iterator[Connection]:
    """Yield a connection in one write transaction (BEGIN IMMEDIATE on SQLite): commit or roll back."""
    with engine.begin() as conn:
        yield conn


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory bound to ``engine``."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session in one transaction: commit on success, roll back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_database_ready(engine: Engine) -> bool:
    """Say whether the database answers a trivial query (the ``/readyz`` check)."""
    with read_scope(engine) as conn:
        return bool(conn.execute(text("SELECT 1")).scalar() == 1)


def init_service_db(app: Flask, metadata: Any, filename: str) -> Engine:
    """Open ``<data_dir>/<filename>``, create ``metadata``'s tables and register the ``database`` readiness check."""
    engine = make_engine(get_component(app, KitSettings).data_dir / filename)
    metadata.create_all(engine)
    add_readiness_check(app, "database", lambda: is_database_ready(engine))
    return engine
