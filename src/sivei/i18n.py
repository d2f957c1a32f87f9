"""Language selection for user-facing text: Spanish (es-MX) first, English on request.

Messages are written inline as ``tr(spanish, english)`` pairs at the place they are produced, so a
message and its translation never drift apart. The CLI chooses the language once, at start.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["es", "en"]

_current: Language = "es"


def set_language(language: Language) -> None:
    """Select the language of every message produced from now on."""
    global _current
    if language not in ("es", "en"):
        raise ValueError(f"unsupported language: {language!r}")
    _current = language


def language() -> Language:
    return _current


def tr(es: str, en: str) -> str:
    """Return the message in the selected language."""
    return es if _current == "es" else en
