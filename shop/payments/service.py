"""Simulate a payment provider: idempotent charges recorded in a ledger.

Rules of the simulator (tests rely on them):

- ``Idempotency-Key`` is required and must equal the ``order_id`` of the body; a
  repeat of a key answers the charge already recorded (``created=False``), never a
  second one; a repeat with another order or amount is a conflict.
- The card ``4000000000000002`` (Stripe's "generic decline" test card) is declined;
  any other card, or none, succeeds.
- Each new charge takes ``PAYMENTS_LATENCY_MS`` of processing time (default 0).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from shop.payments.model import (
    DECLINE_CARD,
    ChargeResult,
    ChargeRow,
    ChargeStatus,
    DuplicateKey,
    IdempotencyKeyMismatch,
    IdempotencyKeyReused,
)
from shop.payments.store import LedgerStore


def is_declined(card: str | None) -> bool:
    """Say whether the simulator declines ``card``."""
    return (card or "").replace(" ", "") == DECLINE_CARD


class PaymentService:
    """Charge orders exactly once per idempotency key."""

    def __init__(
        self,
        store: LedgerStore,
        *,
        latency_ms: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.latency_ms = latency_ms
        self._sleep = sleep

    def charge(self, *, idempotency_key: str, order_id: str, amount_cents: int, card: str | None) -> ChargeResult:
        """Charge ``amount_cents`` for ``order_id`` once; a repeated key returns the first charge.

        Raises IdempotencyKeyMismatch when the key is not the order id, IdempotencyKeyReused
        when a key is reused for another order or amount.
        """
        if idempotency_key != order_id:
            raise IdempotencyKeyMismatch("Idempotency-Key must equal order_id")
        existing = self.store.get_by_key(idempotency_key)
        if existing is not None:
            return ChargeResult(_ensure_same(existing, order_id, amount_cents), created=False)
        if self.latency_ms > 0:
            self._sleep(self.latency_ms / 1000)
        status = ChargeStatus.DECLINED if is_declined(card) else ChargeStatus.SUCCEEDED
        row = ChargeRow(
            charge_id=f"ch_{uuid.uuid4().hex}",
            idempotency_key=idempotency_key,
            order_id=order_id,
            amount_cents=amount_cents,
            status=str(status),
            card_last4=(card or "")[-4:],
        )
        try:
            self.store.insert(row)
        except DuplicateKey:
            # A concurrent request with the same key won the insert: answer its charge.
            winner = self.store.get_by_key(idempotency_key)
            if winner is None:  # pragma: no cover - the unique index says it exists
                raise
            return ChargeResult(_ensure_same(winner, order_id, amount_cents), created=False)
        return ChargeResult(row, created=True)

    def write_raw(self, *, order_id: str, amount_cents: int, status: str) -> ChargeRow:
        """Write a ledger row without any rule (admin test hook to break an invariant on purpose)."""
        row = ChargeRow(
            charge_id=f"ch_raw_{uuid.uuid4().hex}",
            idempotency_key=f"raw-{uuid.uuid4().hex}",
            order_id=order_id,
            amount_cents=amount_cents,
            status=status,
        )
        self.store.insert(row)
        return row

    def get_audit(self) -> list[dict[str, object]]:
        """Return every charge for the consistency audit."""
        return [
            {"charge_id": c.charge_id, "order_id": c.order_id, "amount_cents": c.amount_cents, "status": c.status}
            for c in self.store.list_all()
        ]


def _ensure_same(existing: ChargeRow, order_id: str, amount_cents: int) -> ChargeRow:
    if existing.order_id != order_id or existing.amount_cents != amount_cents:
        raise IdempotencyKeyReused(f"Idempotency-Key {existing.idempotency_key} was used for another charge")
    return existing
