"""Fixtures of the browser tests (defined in e2etools.py, next to the helpers the tests import)."""

from e2etools import browser, live_server

__all__ = ["browser", "live_server"]
