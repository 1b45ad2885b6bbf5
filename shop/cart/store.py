"""cart's table in SQLite (SQLAlchemy Core): one row per (user, product), and the ``CartStore``."""

from __future__ import annotations

import time

from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, delete, insert, select, update

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
)


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

    def add_qty(self, user_id: str, product_id: int, qty: int, *, max_qty: int) -> int:
        """Add to a line in one transaction; raise QuantityLimit past ``max_qty``."""
        line = (cart_items.c.user_id == user_id) & (cart_items.c.product_id == product_id)
        with self.engine.begin() as conn:
            current = conn.execute(select(cart_items.c.qty).where(line)).scalar_one_or_none()
            new_qty = qty + (current or 0)
            if new_qty > max_qty:
                raise QuantityLimit(f"a cart line holds at most {max_qty} units")
            if current is None:
                conn.execute(
                    insert(cart_items).values(
                        user_id=user_id, product_id=product_id, qty=new_qty, added_at=time.time()
                    )
                )
            else:
                conn.execute(update(cart_items).where(line).values(qty=new_qty))
            return new_qty

    def remove(self, user_id: str, product_id: int) -> None:
        """Remove one line."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(cart_items).where(
                    cart_items.c.user_id == user_id, cart_items.c.product_id == product_id
                )
            )

    def clear(self, user_id: str) -> None:
        """Remove every line of the user's cart."""
        with self.engine.begin() as conn:
            conn.execute(delete(cart_items).where(cart_items.c.user_id == user_id))
