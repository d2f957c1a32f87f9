"""Strict JSON reading for everything the record is made of: a duplicate key anywhere, or NaN /
Infinity, is refused (the standard parser keeps the last of two equal keys, so two parsers could read
two different ballots from one line). Errors are ``json.JSONDecodeError``, as the standard parser's,
so callers' handling stays as it is."""

from __future__ import annotations

import json
from typing import Any


class _RefusedError(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _RefusedError(f"duplicate key {key!r} / clave repetida {key!r}")
        out[key] = value
    return out


def _constant(name: str) -> Any:
    raise _RefusedError(f"{name} is not JSON / {name} no es JSON")


def loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses duplicate keys and non-finite numbers."""
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except _RefusedError as exc:
        doc = text if isinstance(text, str) else text.decode("utf-8", "replace")
        raise json.JSONDecodeError(str(exc), doc, 0) from None
