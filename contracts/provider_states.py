"""The provider states every pact names, per provider (registered with ``contracts.states``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.states import StateContext, StateValues, provider_state


# -- payments ------------------------------------------------------------------------------
@provider_state("payments", "the order has no charge yet")
def _payments_no_charge(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    return {}  # the fresh order id is enough


@provider_state("payments", "the order was already charged")
def _payments_charged(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    order_id = params["order_id"]
    amount = int(params.get("amount_cents", 4200))
    ctx.call("payments", "POST", "/charges", json={"order_id": order_id, "amount_cents": amount},
             headers={"Idempotency-Key": order_id}, expect=(201,))
    return {"order_id": order_id}
