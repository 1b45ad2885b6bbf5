"""A real shop service whose JSON answers rename fields: the provider a contract gate must reject.

Gunicorn runs ``tests.contracts.mutant_app:create_app()`` with
``SHOPLAB_MUTANT_SERVICE=payments`` and ``SHOPLAB_MUTANT_RENAME=charge_id:id`` (pairs
``old:new``, comma-separated; an empty new name drops the field). Everything else is the
real service, so only the renamed field can make its verification fail.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

from flask import Flask, Response


def _rename(data: Any, renames: dict[str, str]) -> Any:
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            new = renames.get(key, key)
            if new:
                out[new] = _rename(value, renames)
        return out
    if isinstance(data, list):
        return [_rename(item, renames) for item in data]
    return data


def create_app() -> Flask:
    """Build the real service named by ``SHOPLAB_MUTANT_SERVICE`` with its answers' fields renamed."""
    service = os.environ["SHOPLAB_MUTANT_SERVICE"]
    renames = dict(pair.split(":", 1) for pair in os.environ["SHOPLAB_MUTANT_RENAME"].split(",") if pair)
    app: Flask = importlib.import_module(f"shop.{service}").create_app()

    @app.after_request
    def _mutate(resp: Response) -> Response:
        if resp.is_json and not resp.direct_passthrough:
            resp.set_data(json.dumps(_rename(resp.get_json(), renames)))
        return resp

    return app
