"""Read a toxic's attributes from ``key=value`` words, as ``shoplab fault add`` takes them."""

from __future__ import annotations

from collections.abc import Iterable

from chaos.toxiproxy import toxic_fields


def parse_toxic_attributes(toxic_type: str, words: Iterable[str]) -> dict[str, int]:
    """Return the integer attributes named by ``key=value`` words; raise ValueError at the first bad or missing one."""
    known = toxic_fields(toxic_type)
    attributes: dict[str, int] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or key not in known:
            raise ValueError(f"attribute {word!r}: expected key=value with key one of {', '.join(known)}")
        try:
            attributes[key] = int(value)
        except ValueError:
            raise ValueError(f"attribute {key}: expected an integer, got {value!r}") from None
    missing = [k for k, required in known.items() if required and k not in attributes]
    if missing:
        raise ValueError(f"{toxic_type} needs {', '.join(f'{k}=...' for k in missing)}")
    return attributes
