"""Name what the payment simulator speaks of: charges, their outcomes and its refusals.

No Flask, no SQLAlchemy, no HTTP: the store, the service and the api import these words.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shop.kit.domain import DomainError

# Stripe's "generic decline" test card: the one card the simulator declines.
DECLINE_CARD = "4000000000000002"


class ChargeStatus(StrEnum):
    """The outcome of a charge."""

    SUCCEEDED = "succeeded"
    DECLINED = "declined"


@dataclass(frozen=True)
class ChargeRow:
    """One ledger row."""

    charge_id: str
    idempotency_key: str
    order_id: str
    amount_cents: int
    status: str
    card_last4: str = ""


@dataclass(frozen=True)
class ChargeResult:
    """A charge and whether this call created it."""

    charge: ChargeRow
    created: bool


class PaymentError(DomainError):
    """A domain refusal of the simulator; ``api.py`` maps each kind to its HTTP error."""


class IdempotencyKeyMismatch(PaymentError):
    """The Idempotency-Key is not the order id of the body."""

    code = "idempotency_key_mismatch"


class IdempotencyKeyReused(PaymentError):
    """A key already charged one order and amount was sent with another."""

    code = "idempotency_key_reused"


class DuplicateKey(Exception):
    """A charge with this idempotency key already exists (the store's signal to the service)."""
