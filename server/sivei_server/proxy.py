"""What the server believes from its reverse proxy: the client's address and the request's arrival.

Production runs behind nginx (``server/deploy/nginx-sivei.conf``), which buffers every request body
before passing it on (a slow client ties up nginx, never a worker) and stamps each request with the
instant it had it complete, in ``X-Sivei-Llegada`` (nginx's ``$msec``: Unix seconds with
milliseconds), overwriting any header of that name a client sent. That stamp, not the moment a
worker picks the request up, is when a ballot was received (docs/protocol.md §14.4): under a closing
rush a ballot may wait in the queue for seconds after it arrived.

Both headers are believed only on connections from ``ServerConfig.proxy_addresses``; a request that
reaches the server any other way is stamped with the server's own clock when a worker picks it up,
and its address is the socket's.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta

from flask import Request

from sivei_server.config import ServerConfig

ARRIVAL_HEADER = "X-Sivei-Llegada"
# A stamp more than this far in the past is not believed (a proxy with a broken clock); the queue
# itself is bounded by the close grace (at most 120 s).
MAX_STAMP_AGE = timedelta(minutes=10)
LOG = logging.getLogger("sivei_server.proxy")


def from_proxy(request: Request, config: ServerConfig) -> bool:
    return bool(config.proxy_addresses) and request.remote_addr in config.proxy_addresses


def client_address(request: Request, config: ServerConfig) -> str:
    """The socket address, or (from the trusted proxy) the address ``trusted_proxies`` hops back in
    ``X-Forwarded-For``."""
    trusted = from_proxy(request, config) if config.proxy_addresses else config.trusted_proxies > 0
    if trusted and config.trusted_proxies > 0:
        forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
        if len(forwarded) >= config.trusted_proxies:
            return forwarded[-config.trusted_proxies][:64]
    return (request.remote_addr or "desconocido")[:64]


def parse_stamp(raw: str | None) -> datetime | None:
    """nginx's ``$msec`` (``1700000000.123``) as an aware UTC instant; None when malformed."""
    if raw is None or not 1 <= len(raw) <= 32:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def arrival(request: Request, config: ServerConfig, now: datetime) -> datetime:
    """When this request arrived: the proxy's stamp (from the trusted proxy only, never later than
    ``now`` nor older than ``MAX_STAMP_AGE``), else ``now``."""
    if not from_proxy(request, config):
        return now
    stamp = parse_stamp(request.headers.get(ARRIVAL_HEADER))
    if stamp is None:
        LOG.warning("solicitud del proxy sin sello de llegada válido en %s", ARRIVAL_HEADER)
        return now
    if stamp > now:
        return now
    if now - stamp > MAX_STAMP_AGE:
        LOG.warning("sello de llegada de hace %.0f s: no se cree", (now - stamp).total_seconds())
        return now
    return stamp
