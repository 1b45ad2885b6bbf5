"""Serve the payments simulator: ``POST /charges`` and its admin audit and test hooks."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from pydantic import Field

from shop.kit import api_spec
from shop.kit.admin import make_admin_blueprint
from shop.kit.api_spec import ApiModel, Header, operation, parse_body
from shop.kit.errors import BadRequest, Conflict, NotFound, ValidationFailed, map_domain_errors
from shop.kit.metrics import record_charge
from shop.payments.bootstrap import get_deps
from shop.payments.model import ChargeRow, IdempotencyKeyMismatch, IdempotencyKeyReused
from shop.payments.service import PaymentService

bp = Blueprint("payments", __name__)
admin_bp = make_admin_blueprint("payments_admin")
map_domain_errors(bp, {IdempotencyKeyMismatch: ValidationFailed, IdempotencyKeyReused: Conflict})

ORDER_ID = Field(min_length=1, max_length=128)


class ChargeIn(ApiModel):
    """A charge request; ``card`` only selects the simulator's outcome."""

    order_id: str = ORDER_ID
    amount_cents: int = Field(gt=0, le=100_000_000)
    card: str | None = Field(default=None, min_length=1, max_length=32)


class ChargeOut(ApiModel):
    """A recorded charge."""

    charge_id: str
    order_id: str
    status: Literal["succeeded", "declined"]
    amount_cents: int


class LedgerRowIn(ApiModel):
    """A raw ledger row (admin test hook)."""

    order_id: str = ORDER_ID
    amount_cents: int = Field(ge=0, le=100_000_000)
    status: Literal["succeeded", "declined"] = "succeeded"


def init_app(app: Flask) -> None:
    """Register the payments routes, the admin routes and the OpenAPI document on ``app``."""
    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    api_spec.init_app(app, title="payments")


def get_service() -> PaymentService:
    """Return this app's payment service."""
    return get_deps(current_app).service


def charge_to_dict(charge: ChargeRow) -> dict[str, object]:
    """Serialise a charge for the API (never the card digits)."""
    return {
        "charge_id": charge.charge_id,
        "order_id": charge.order_id,
        "status": charge.status,
        "amount_cents": charge.amount_cents,
    }


@operation(
    bp, "POST", "/charges", body=ChargeIn,
    headers=[Header("Idempotency-Key", required=True, description="Must equal order_id")],
    responses={201: ChargeOut, 200: ChargeOut}, errors=(409,),
)
def create_charge(body: ChargeIn) -> tuple[ChargeOut, int]:
    """Charge an order once; a repeated Idempotency-Key answers 200 with the first charge."""
    key = request.headers.get("Idempotency-Key", "")
    if not key.strip():
        raise BadRequest("header Idempotency-Key is required")
    result = get_service().charge(
        idempotency_key=key, order_id=body.order_id, amount_cents=body.amount_cents, card=body.card
    )
    if result.created:
        record_charge(result.charge.status, result.charge.amount_cents)
    return ChargeOut(**charge_to_dict(result.charge)), 201 if result.created else 200  # type: ignore[arg-type]


@admin_bp.get("/audit")
def audit() -> Response:
    """Return every charge for the consistency audit."""
    return jsonify(charges=get_service().get_audit())


@admin_bp.post("/ledger")
def write_ledger_row() -> tuple[Response, int]:
    """Write a raw ledger row, bypassing every rule (tests break an invariant on purpose)."""
    body: LedgerRowIn = parse_body(LedgerRowIn)
    row = get_service().write_raw(order_id=body.order_id, amount_cents=body.amount_cents, status=body.status)
    return jsonify(charge_to_dict(row)), 201


@admin_bp.delete("/ledger/<charge_id>")
def delete_ledger_row(charge_id: str) -> Response:
    """Delete one ledger row (undo a test's broken invariant)."""
    if not get_deps(current_app).store.delete(charge_id):
        raise NotFound(f"charge {charge_id} not found")
    return jsonify(deleted=charge_id)
