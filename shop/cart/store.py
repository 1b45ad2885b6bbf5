"""cart's table in SQLite (SQLAlchemy Core): one row per (user, product), and the ``CartStore``."""

from __future__ import annotations

import time

from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.engine import Connection

from shop.cart.model import QuantityLimit
from shop.kit.db import read_scope

metadata = MetaData()

cart_items = Table(
    "cart_items",
    metadata,
    Column("user_id", String(128), primary_key=True),
    Column("product_id", Integer, primary_key=True, autoincrement=False),
    Column("qty", Integer, nullable=False),
    Column("added_at", Float, nullable=False),
    # The cart version that last changed this line: a checkout clears only lines up to its version.
    Column("version", Integer, nullable=False, default=0),
)

# One row per user, never deleted: a cart's version only grows, so a version names one content for good.
cart_versions = Table(
    "cart_versions",
    metadata,
    Column("user_id", String(128), primary_key=True),
    Column("version", Integer, nullable=False),
)


def _bump(conn: Connection, user_id: str) -> int:
    """Move the user's cart to its next version inside the caller's transaction; return it."""
    current = conn.execute(
        select(cart_versions.c.version).where(cart_versions.c.user_id == user_id)
    ).scalar_one_or_none()
    if current is None:
        conn.execute(insert(cart_versions).values(user_id=user_id, version=1))
        return 1
    conn.execute(update(cart_versions).where(cart_versions.c.user_id == user_id).values(version=current + 1))
    return int(current) + 1


class CartStore:
    """Carts in cart's SQLite file; writes are BEGIN IMMEDIATE, reads deferred (kit/db.py)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get_lines(self, user_id: str) -> dict[int, int]:
        """Return the user's lines, oldest first."""
        with read_scope(self.engine) as conn:
            rows = conn.execute(
                select(cart_items.c.product_id, cart_items.c.qty)
                .where(cart_items.c.user_id == user_id)
                .order_by(cart_items.c.added_at)
            )
            return {r.product_id: r.qty for r in rows}

    def get_version(self, user_id: str) -> int:
        """Return the cart's current version (0 for a cart never changed)."""
        with read_scope(self.engine) as conn:
            version = conn.execute(
                select(cart_versions.c.version).where(cart_versions.c.user_id == user_id)
            ).scalar_one_or_none()
        return int(version or 0)

    def get_lines_at_version(self, user_id: str) -> tuple[dict[int, int], int]:
        """Return the user's lines and the version they belong to, read in one statement (one snapshot)."""
        version = (
            select(cart_versions.c.version).where(cart_versions.c.user_id == user_id).scalar_subquery()
        )
        with read_scope(self.engine) as conn:
            rows = list(conn.execute(
                select(cart_items.c.product_id, cart_items.c.qty, version.label("cart_version"))
                .where(cart_items.c.user_id == user_id)
                .order_by(cart_items.c.added_at)
            ))
        if not rows:
            return {}, self.get_version(user_id)
        return {r.product_id: r.qty for r in rows}, int(rows[0].cart_version or 0)

    def add_qty(self, user_id: str, product_id: int, qty: int, *, max_qty: int) -> int:
        """Add to a line in one transaction; raise QuantityLimit past ``max_qty``."""
        line = (cart_items.c.user_id == user_id) & (cart_items.c.product_id == product_id)
        with self.engine.begin() as conn:
            current = conn.execute(select(cart_items.c.qty).where(line)).scalar_one_or_none()
            new_qty = qty + (current or 0)
            if new_qty > max_qty:
                raise QuantityLimit(f"a cart line holds at most {max_qty} units")
            version = _bump(conn, user_id)
            if current is None:
                conn.execute(
                    insert(cart_items).values(
                        user_id=user_id, product_id=product_id, qty=new_qty, added_at=time.time(), version=version
                    )
                )
            else:
                conn.execute(update(cart_items).where(line).values(qty=new_qty, version=version))
            return new_qty

    def remove(self, user_id: str, product_id: int) -> None:
        """Remove one line."""
        with self.engine.begin() as conn:
            deleted = conn.execute(
                delete(cart_items).where(
                    cart_items.c.user_id == user_id, cart_items.c.product_id == product_id
                )
            ).rowcount
            if deleted:
                _bump(conn, user_id)

    def clear(self, user_id: str, up_to_version: int | None = None) -> None:
        """Remove every line of the user's cart, or only the lines last changed at or before ``up_to_version``."""
        with self.engine.begin() as conn:
            query = delete(cart_items).where(cart_items.c.user_id == user_id)
            if up_to_version is not None:
                # Lines added or changed after the checkout's version stay for the next order.
                query = query.where(cart_items.c.version <= up_to_version)
            if conn.execute(query).rowcount:
                _bump(conn, user_id)
