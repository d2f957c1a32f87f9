"""The authentication flows' clock: ``sivei_server.models.utcnow`` looked up at each call, so that tests
can move time forward (expiring codes, links, lockouts and sessions) by patching that one function."""

from __future__ import annotations

from datetime import datetime

from sivei_server import models


def now() -> datetime:
    return models.utcnow()
