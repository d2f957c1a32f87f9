"""gunicorn settings for production: ``gunicorn -c python:sivei_server.gunicorn_conf sivei_server.wsgi:app``.

The access log stays off: the application writes its own (path without query string; see
``sivei_server.app``). Workers are preloaded-free so that each opens its own database pool and, when the
receipt key is in a PKCS#11 token, its own PKCS#11 session after the fork (a session opened before a
fork fails in the child)."""

from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("SIVEI_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("SIVEI_WORKERS", str(max(2, multiprocessing.cpu_count()))))
threads = int(os.environ.get("SIVEI_THREADS", "4"))
worker_class = "gthread"
preload_app = False
accesslog = None
errorlog = "-"
loglevel = "info"
timeout = 60
graceful_timeout = 30
