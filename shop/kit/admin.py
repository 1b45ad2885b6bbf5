"""Guard the admin API (``/admin/*``) with ``Authorization: Bearer $SHOPLAB_ADMIN_TOKEN``."""

from __future__ import annotations

import hmac

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from shop.kit.errors import Unauthorized


def ensure_admin() -> None:
    """Raise Unauthorized unless the request carries the admin token."""
    from shop.kit.app import get_kit

    expected = get_kit(current_app).settings.admin_token
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Unauthorized("admin token required")


def make_admin_blueprint(name: str, url_prefix: str = "/admin") -> Blueprint:
    """Return a blueprint whose every route requires the admin token."""
    bp = Blueprint(name, __name__, url_prefix=url_prefix)
    bp.before_request(ensure_admin)
    return bp


def init_app(app: Flask) -> None:
    """Register the kit's own admin routes (``GET /admin/unhandled``)."""
    bp = make_admin_blueprint("kit_admin")

    @bp.get("/unhandled")
    def unhandled() -> Response:
        """Say how many unhandled 500s this process has served (the audit reads it)."""
        from shop.kit.errors import get_unhandled_count

        return jsonify(service=current_app.name, unhandled_errors=get_unhandled_count(current_app))

    app.register_blueprint(bp)
