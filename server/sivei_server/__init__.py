"""SIVEI's reference voting server: a thin Flask application over the ``sivei`` library.

Routes call the library and hold no cryptography. Start with ``create_app(config)``.

Flask and SQLAlchemy are imported only when the application is built, so that every ``sivei``
command (which registers the ``servidor`` plug-in at start) does not pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sivei_server.app import create_app
    from sivei_server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from sivei_server.app import create_app

        return create_app
    if name == "ServerConfig":
        from sivei_server.config import ServerConfig

        return ServerConfig
    raise AttributeError(name)
