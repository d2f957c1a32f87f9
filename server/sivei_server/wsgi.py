"""WSGI entry point for gunicorn: ``gunicorn -c python:sivei_server.gunicorn_conf sivei_server.wsgi:app``.
Configuration from the environment (``sivei_server.config``). The schema must be current
(``sivei servidor db-upgrade``) before starting workers."""

from __future__ import annotations

from sivei_server.app import create_app

app = create_app()
