"""Serve notifications: idempotent ``POST /events``, the owner's emails, the audit."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from pydantic import Field

from shop.kit import api_spec
from shop.kit.admin import make_admin_blueprint
from shop.kit.api_spec import ApiModel, QueryModel, operation
from shop.kit.metrics import record_notification
from shop.notifications.bootstrap import get_deps
from shop.notifications.service import NotificationService

bp = Blueprint("notifications", __name__)
admin_bp = make_admin_blueprint("notifications_admin")

ID = Field(min_length=1, max_length=128)


class EventIn(ApiModel):
    """An order event to apply once."""

    event_id: str = ID
    type: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
    order_id: str = ID
    user_id: str = ID
    payload: dict[str, Any] = Field(default_factory=dict)


class EventOut(ApiModel):
    """The event as recorded."""

    event_id: str
    type: str
    order_id: str


class NotificationsQuery(QueryModel):
    """Whose emails to list."""

    user_id: str = ID


class NotificationOut(ApiModel):
    """One "sent" email."""

    event_id: str
    type: str
    order_id: str
    subject: str
    body: str
    sent_at: str


class NotificationsOut(ApiModel):
    """A user's emails, oldest first."""

    items: list[NotificationOut]


def init_app(app: Flask) -> None:
    """Register the notifications routes, the admin routes and the OpenAPI document on ``app``."""
    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    api_spec.init_app(app, title="notifications")


def get_service() -> NotificationService:
    """Return this app's notification service."""
    return get_deps(current_app).service


@operation(bp, "POST", "/events", body=EventIn, responses={201: EventOut, 200: EventOut})
def receive_event(body: EventIn) -> tuple[EventOut, int]:
    """Apply an event once: 201 the first time, 200 (no second effect) for a duplicate."""
    record, applied = get_service().receive(
        event_id=body.event_id, type=body.type, order_id=body.order_id, user_id=body.user_id,
        payload=body.payload,
    )
    record_notification(body.type, duplicate=not applied)
    return EventOut(**record), 201 if applied else 200


@operation(bp, "GET", "/notifications", query=NotificationsQuery, responses={200: NotificationsOut})
def list_notifications(query: NotificationsQuery) -> NotificationsOut:
    """List the emails sent to one user."""
    items = get_service().list_for_user(query.user_id)
    return NotificationsOut(items=[NotificationOut(**i) for i in items])


@admin_bp.get("/audit")
def audit() -> Response:
    """Return every event with its received and applied counts, and the messages set aside as unparseable."""
    service = get_service()
    return jsonify(events=service.get_audit(), dead_letters=service.get_dead_letters())
