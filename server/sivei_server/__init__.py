"""SIVEI's reference voting server: a thin Flask application over the ``sivei`` library.

Routes call the library and hold no cryptography. Start with ``create_app(config)``.
"""

from sivei_server.app import create_app
from sivei_server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
