"""Checking the board on a Dask cluster: ``sivei verificar RECORD --scheduler tls://HOST:8786``.

For a board too large for one machine. The cluster is started with Dask's own commands
(``dask scheduler``, ``dask worker``; docs/cluster.md) on machines the auditor controls, each with
the same SIVEI installation (the optional ``sivei[dask]`` extra, not in the key-holders' offline
bundle). This process stays the coordinator: it reads the record, cuts the board into chunks of raw
events and sends them to the workers, which parse and check each chunk as ONE batch (protocol §8.5)
— the weights drawn on the worker, from ``secrets``, never sent anywhere. The results come back in
file order and the coordinator applies the global rules (chain, one ballot per credential, unique α,
aggregation) itself, so the report is the one a local run gives, every failure at its location. A
task whose worker is lost is run again on another worker (Dask reschedules it); a task that raises
is retried ``retries`` times.

Workers are trusted to compute honestly, as the auditor's own laptop is: before anything is sent,
every worker must show the same software-integrity constancia as this process (``sivei.integrity``),
or the run is refused. Plain ``tcp://`` (unencrypted, unauthenticated) is accepted only on this
machine's loopback; across machines the connection must be ``tls://`` with certificates.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sivei.ballot.context import ElectionContext
from sivei.errors import SiveiError
from sivei.i18n import language, tr
from sivei.record.board_check import Chunk, ChunkResult, check_chunk_in, in_order

RETRIES = 3
"""Times a chunk whose task raised is tried again (a lost worker's tasks are rescheduled by Dask)."""


class ClusterError(SiveiError):
    """The cluster cannot be used: address refused, unreachable, no workers, or other software."""


def check_address(address: str) -> str:
    """The scheduler address, if allowed: ``tls://HOST:PORT``, or ``tcp://`` on loopback only."""
    parts = urlsplit(address)
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("tls", "tcp") or not host or port is None or parts.path not in ("", "/"):
        raise ClusterError(tr(f"dirección del planificador no válida: {address!r} (se espera tls://HOST:PUERTO)",
                              f"invalid scheduler address: {address!r} (expected tls://HOST:PORT)"))
    if parts.scheme == "tcp" and not _loopback(host):
        raise ClusterError(tr(
            f"tcp:// no cifra ni autentica: solo se acepta en esta máquina (127.0.0.1, ::1, localhost), no en {host}. "
            "Entre máquinas use tls:// con certificados (docs/cluster.md)",
            f"tcp:// neither encrypts nor authenticates: it is accepted only on this machine (127.0.0.1, ::1, "
            f"localhost), not on {host}. Across machines use tls:// with certificates (docs/cluster.md)"))
    return address


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class TlsFiles:
    """The client's side of Dask's TLS: the CA that signed the cluster's certificates, and this
    client's certificate and key (PEM)."""

    ca_file: str
    cert: str
    key: str


def _import_distributed() -> Any:
    try:
        import distributed
    except ModuleNotFoundError as exc:
        raise ClusterError(tr("--scheduler necesita Dask: pip install 'sivei[dask]' (docs/cluster.md)",
                              "--scheduler needs Dask: pip install 'sivei[dask]' (docs/cluster.md)")) from exc
    return distributed


def _worker_constancia() -> str:
    from sivei.integrity import installation_constancia

    return installation_constancia().digest.hex()


class DaskChecker:
    """Chunks checked on the workers of a Dask cluster (``board_check.ChunkChecker``)."""

    def __init__(self, address: str, *, tls: TlsFiles | None = None, timeout: float = 30) -> None:
        check_address(address)
        distributed = _import_distributed()
        security = None  # without files, Dask's configuration (distributed.comm.tls.*) applies
        if tls is not None:
            security = distributed.Security(tls_ca_file=tls.ca_file, tls_client_cert=tls.cert,
                                            tls_client_key=tls.key, require_encryption=True)
        try:
            self.client = distributed.Client(address, security=security, timeout=timeout,
                                             set_as_default=False)
        except TypeError as exc:  # Dask's way of saying that tls:// came without certificates
            raise ClusterError(tr(
                f"no se pudo conectar con el planificador {address}: tls:// necesita los certificados "
                "(--tls-ca-file, --tls-cert, --tls-key, o la configuración TLS de Dask)",
                f"cannot connect to the scheduler {address}: tls:// needs the certificates "
                "(--tls-ca-file, --tls-cert, --tls-key, or Dask's TLS configuration)")) from exc
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(tr(f"no se pudo conectar con el planificador {address}: {exc}",
                                  f"cannot connect to the scheduler {address}: {exc}")) from exc
        try:
            self._check_workers()
        except BaseException:
            self.close()
            raise

    def _check_workers(self) -> None:
        threads = self.client.nthreads()
        if not threads:
            raise ClusterError(tr("el planificador no tiene trabajadores", "the scheduler has no workers"))
        mine = _worker_constancia()
        theirs = self.client.run(_worker_constancia)
        other = sorted(w for w, digest in theirs.items() if digest != mine)
        if other:
            raise ClusterError(tr(
                f"trabajadores con otro software (constancia de integridad distinta de la de este equipo): "
                f"{', '.join(other)}; instale en cada máquina el mismo paquete de SIVEI",
                f"workers with other software (an integrity constancia other than this machine's): "
                f"{', '.join(other)}; install the same SIVEI bundle on every machine"))

    local_workers = 0
    """The workers' memory is theirs: only the chunks in flight count against this machine's budget."""

    @property
    def workers(self) -> int:
        """Worker threads in the cluster (each checks one chunk at a time)."""
        return max(1, int(sum(self.client.nthreads().values())))

    @property
    def window(self) -> int:
        """Two chunks in flight per worker: one being checked, one on its way (network latency)."""
        return 2 * self.workers

    def run(self, ctx: ElectionContext, work: Iterable[Chunk], bits: int) -> Iterator[tuple[ChunkResult, int]]:
        ctx_future = self.client.scatter(ctx, broadcast=True, hash=False)
        lang = language()

        def submit(chunk: Chunk) -> Any:
            return self.client.submit(check_chunk_in, lang, ctx_future, chunk.name, chunk.items, bits,
                                      retries=RETRIES, pure=False)

        yield from in_order(submit, work, self.window)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> DaskChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
