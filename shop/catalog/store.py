"""catalog's tables in SQLite and the store the domain uses."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import Float, ForeignKey, Integer, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from shop.catalog.service import Line, Product, Reservation, ReservationStatus, StockRecord
from shop.kit.db import session_scope


class Base(DeclarativeBase):
    """catalog's tables."""


class ProductRow(Base):
    """A product and its stock."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(50), index=True)
    price_cents: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer)
    seeded_stock: Mapped[int] = mapped_column(Integer)

    def to_domain(self) -> Product:
        """Return the domain product."""
        return Product(self.id, self.name, self.category, self.price_cents, self.stock)


class ReservationRow(Base):
    """Stock held for one order."""

    __tablename__ = "reservations"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[float] = mapped_column(Float)
    items: Mapped[list[ReservationItemRow]] = relationship(
        order_by="ReservationItemRow.position", lazy="selectin", cascade="all, delete-orphan"
    )

    def to_domain(self) -> Reservation:
        """Return the domain reservation."""
        return Reservation(
            self.order_id,
            ReservationStatus(self.status),
            tuple(Line(i.product_id, i.qty) for i in self.items),
        )


class ReservationItemRow(Base):
    """One product line of a reservation."""

    __tablename__ = "reservation_items"

    order_id: Mapped[str] = mapped_column(ForeignKey("reservations.order_id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    qty: Mapped[int] = mapped_column(Integer)


class SqlCatalogTx:
    """The domain's view of one SQLAlchemy transaction."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def get_products(self, ids: Iterable[int]) -> dict[int, Product]:
        """Return the products with these ids."""
        wanted = list(ids)
        rows = self.s.scalars(select(ProductRow).where(ProductRow.id.in_(wanted))).all()
        return {r.id: r.to_domain() for r in rows}

    def set_stock(self, product_id: int, stock: int) -> None:
        """Set a product's current stock."""
        row = self.s.get(ProductRow, product_id)
        assert row is not None
        row.stock = stock

    def restock(self, product_id: int, stock: int) -> None:
        """Set stock and shift seeded stock by the same delta."""
        row = self.s.get(ProductRow, product_id)
        assert row is not None
        row.seeded_stock += stock - row.stock
        row.stock = stock

    def get_reservation(self, order_id: str) -> Reservation | None:
        """Return the reservation of ``order_id`` or None."""
        row = self.s.get(ReservationRow, order_id)
        return None if row is None else row.to_domain()

    def add_reservation(self, reservation: Reservation) -> None:
        """Store a new reservation."""
        row = ReservationRow(
            order_id=reservation.order_id, status=reservation.status.value, created_at=time.time()
        )
        row.items = [
            ReservationItemRow(
                order_id=reservation.order_id, product_id=line.product_id, position=i, qty=line.qty
            )
            for i, line in enumerate(reservation.items)
        ]
        self.s.add(row)

    def set_reservation_status(self, order_id: str, status: ReservationStatus) -> None:
        """Change a reservation's status."""
        row = self.s.get(ReservationRow, order_id)
        assert row is not None
        row.status = status.value


class SqlCatalogStore:
    """catalog's SQLite file; every write transaction is BEGIN IMMEDIATE (kit/db.py)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    @contextmanager
    def transaction(self) -> Iterator[SqlCatalogTx]:
        """Open one serialised write transaction."""
        with session_scope(self.sessions) as s:
            yield SqlCatalogTx(s)

    def seed_if_empty(self, products: Iterable[Product]) -> bool:
        """Insert the seed catalog unless products exist; say whether it seeded."""
        with session_scope(self.sessions) as s:
            if s.scalar(select(func.count()).select_from(ProductRow)):
                return False
            for p in products:
                s.add(
                    ProductRow(
                        id=p.id,
                        name=p.name,
                        category=p.category,
                        price_cents=p.price_cents,
                        stock=p.stock,
                        seeded_stock=p.stock,
                    )
                )
            return True

    def list_products(self) -> list[Product]:
        """Return every product by id."""
        with self.sessions() as s:
            return [r.to_domain() for r in s.scalars(select(ProductRow).order_by(ProductRow.id))]

    def get_product(self, product_id: int) -> Product | None:
        """Return one product or None."""
        with self.sessions() as s:
            row = s.get(ProductRow, product_id)
            return None if row is None else row.to_domain()

    def list_stock(self) -> list[StockRecord]:
        """Return seeded and current stock per product."""
        with self.sessions() as s:
            rows = s.scalars(select(ProductRow).order_by(ProductRow.id))
            return [StockRecord(r.id, r.seeded_stock, r.stock) for r in rows]

    def list_reservations(self) -> list[Reservation]:
        """Return every reservation, oldest first."""
        with self.sessions() as s:
            rows = s.scalars(
                select(ReservationRow).order_by(ReservationRow.created_at, ReservationRow.order_id)
            )
            return [r.to_domain() for r in rows]
