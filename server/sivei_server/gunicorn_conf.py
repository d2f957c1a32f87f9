"""gunicorn settings for production: ``gunicorn -c python:sivei_server.gunicorn_conf sivei_server.wsgi:app``,
behind nginx (``sivei_server/deploy/nginx/``), which buffers request bodies and stamps arrivals.

* gunicorn's own access log stays off: the application writes its own (``sivei_server.access``:
  address, method, path without query string, status, time), sent here to standard error with
  the rest of the ``sivei_server`` loggers (``logconfig_dict``), or to ``SIVEI_LOG_FILE``.
* No preloading: each worker opens its own database pool and, when the receipt key is in a PKCS#11
  token, its own PKCS#11 session after the fork (a session opened before a fork fails in the child).
* A worker whose master died (``kill -9``) closes its listening socket at once (it notices within a
  second), finishes the requests it holds and exits: a restarted master can bind the port right away.
* ``timeout`` (a worker silent this long is killed and replaced) and nginx's ``proxy_read_timeout``
  stay below the close grace (``SIVEI_CLOSE_GRACE_SECONDS``, 60 s by default): a ballot that arrived
  in time is answered, one way or another, before the board is sealed.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

bind = os.environ.get("SIVEI_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("SIVEI_WORKERS", str(max(2, multiprocessing.cpu_count()))))
threads = int(os.environ.get("SIVEI_THREADS", "4"))
worker_class = "gthread"
preload_app = False
accesslog = None
errorlog = "-"
loglevel = "info"
timeout = 30
graceful_timeout = 20
keepalive = 30  # nginx keeps upstream connections open (its ``keepalive`` in the upstream block)

_LOG_FILE = os.environ.get("SIVEI_LOG_FILE")
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"sivei": {"format": "%(asctime)s [%(process)d] %(name)s %(levelname)s %(message)s"}},
    "handlers": {"sivei": ({"class": "logging.FileHandler", "filename": _LOG_FILE, "formatter": "sivei"}
                           if _LOG_FILE else
                           {"class": "logging.StreamHandler", "formatter": "sivei", "stream": "ext://sys.stderr"})},
    "root": {"level": "WARNING", "handlers": ["sivei"]},
    "loggers": {"sivei_server": {"level": "INFO", "handlers": ["sivei"], "propagate": False},
                "gunicorn.error": {"level": "INFO", "handlers": ["sivei"], "propagate": False},
                "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False}},
}


def post_worker_init(worker: Any) -> None:
    """Free the listening socket as soon as the master is gone (see the module docstring)."""
    parent_alive = worker.is_parent_alive

    def is_parent_alive() -> bool:
        alive = bool(parent_alive())
        if not alive:
            worker.set_accept_enabled(False)
            for sock in worker.sockets:
                sock.close()
        return alive

    worker.is_parent_alive = is_parent_alive
