"""Hold each app's kit components in one typed registry: a leaf that imports nothing from the kit.

Every kit module and every service's ``bootstrap`` stores what it built with
``set_component(app, obj)`` and reads it back with ``get_component(app, Kind)``,
keyed by the object's class, so a reader gets the type it asked for and a
missing component fails with a message naming it.
"""

from __future__ import annotations

from typing import TypeVar, cast

from flask import Flask

T = TypeVar("T")

EXTENSION = "shoplab"


def set_component(app: Flask, component: object) -> None:
    """Keep ``component`` on ``app`` under its own class."""
    registry: dict[type, object] = app.extensions.setdefault(EXTENSION, {})
    registry[type(component)] = component


def get_component(app: Flask, kind: type[T]) -> T:
    """Return the ``kind`` component of ``app``; fail naming it when it was never set."""
    registry: dict[type, object] = app.extensions.get(EXTENSION, {})
    try:
        component = registry[kind]
    except KeyError:
        raise LookupError(
            f"{kind.__name__} is not set up on app {app.name!r}: build the app with create_service_app"
        ) from None
    return cast(T, component)


def has_component(app: Flask, kind: type) -> bool:
    """Return whether a ``kind`` component was set on ``app``."""
    return kind in app.extensions.get(EXTENSION, {})
