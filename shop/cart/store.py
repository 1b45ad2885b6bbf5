"""cart's table in SQLite: one row per (user, product)."""

from __future__ import annotations

import time

from sqlalchemy import Float, Integer, String, delete, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from shop.cart.service import QuantityLimit
from shop.kit.db import session_scope


class Base(DeclarativeBase):
    """cart's tables."""


class CartItemRow(Base):
    """One product line of one user's cart."""

    __tablename__ = "cart_items"

    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    qty: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[float] = mapped_column(Float)


class SqlCartStore:
    """Carts in cart's SQLite file."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def get_lines(self, user_id: str) -> dict[int, int]:
        """Return the user's lines, oldest first."""
        with self.sessions() as s:
            rows = s.scalars(
                select(CartItemRow).where(CartItemRow.user_id == user_id).order_by(CartItemRow.added_at)
            )
            return {r.product_id: r.qty for r in rows}

    def add_qty(self, user_id: str, product_id: int, qty: int, *, max_qty: int) -> int:
        """Add to a line in one transaction; raise QuantityLimit past ``max_qty``."""
        with session_scope(self.sessions) as s:
            row = s.get(CartItemRow, (user_id, product_id))
            new_qty = qty + (row.qty if row else 0)
            if new_qty > max_qty:
                raise QuantityLimit(f"a cart line holds at most {max_qty} units")
            if row is None:
                s.add(CartItemRow(user_id=user_id, product_id=product_id, qty=new_qty, added_at=time.time()))
            else:
                row.qty = new_qty
            return new_qty

    def remove(self, user_id: str, product_id: int) -> None:
        """Remove one line."""
        with session_scope(self.sessions) as s:
            s.execute(
                delete(CartItemRow).where(
                    CartItemRow.user_id == user_id, CartItemRow.product_id == product_id
                )
            )

    def clear(self, user_id: str) -> None:
        """Remove every line of the user's cart."""
        with session_scope(self.sessions) as s:
            s.execute(delete(CartItemRow).where(CartItemRow.user_id == user_id))
