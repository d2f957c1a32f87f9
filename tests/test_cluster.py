"""``sivei verificar --scheduler``: the board's chunks checked on a real Dask cluster of worker
processes (``LocalCluster``, processes=True, on loopback), against a record with a planted fault.
The report must be the one-process report, the fault at its location; a worker killed while it
checks a chunk is replaced and its chunk checked again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from recordtools import board_lines, copy_record, write_board
from sivei.crypto.group import TEST_GROUP
from sivei.drill import DrillOptions, DrillOutcome, run_drill
from sivei.record import layout
from sivei.record.cluster import ClusterError, DaskChecker, check_address
from sivei.record.verify import VerifyOptions, verify_record

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> tuple[DrillOutcome, Path, int]:
    """A drill record whose 9th ballot has one 0/1 proof response changed: the planted fault."""
    base = tmp_path_factory.mktemp("cluster")
    outcome = run_drill(DrillOptions(group=TEST_GROUP, voters=24, challenges=0, output=base / "record", seed=9,
                                     tokens=False, jobs=1), say=lambda _m: None)
    record = copy_record(outcome.record, base / "faulty")
    lines = board_lines(record)
    k = [i for i, obj in enumerate(lines) if obj["type"] == "ballot"][8]
    proof = lines[k]["ballot"]["contests"][1]["selections"][0]["proof"]
    proof["v1"] = f"{(int(proof['v1'], 16) + 1) % TEST_GROUP.q:064x}"
    write_board(record, lines)
    return outcome, record, k + 1


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0", silence_logs=40) as c:
        yield c


def _report(record: Path, **options: Any) -> dict[str, Any]:
    return verify_record(record, VerifyOptions(allow_test_group=True, **options)).to_json()


def test_cluster_report_is_the_local_report(faulty: tuple[DrillOutcome, Path, int], cluster: Any) -> None:
    _, record, position = faulty
    local = _report(record, jobs=1)
    assert not local["ok"] and f"{layout.BOARD_BIN}:{position} " in "".join(
        p["location"] for p in local["problems"] if p["check"] == "ballot.proof.zero-one")
    with DaskChecker(cluster.scheduler_address) as checker:
        assert checker.workers == 2
        on_cluster = _report(record, checker=checker, chunk_events=3)  # 9 chunks over 2 workers
    assert on_cluster == local
    # The command line, as an auditor runs it.
    run = subprocess.run([sys.executable, "-m", "sivei.cli.main", "verificar", "--test-group", "--quiet",
                          "--json", "-", "--scheduler", cluster.scheduler_address, str(record)],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 1, run.stderr
    assert json.loads(run.stdout) == local


def test_a_worker_killed_mid_run_is_replaced(faulty: tuple[DrillOutcome, Path, int], cluster: Any) -> None:
    _, record, _ = faulty
    local = _report(record, jobs=1)
    with DaskChecker(cluster.scheduler_address) as checker:
        client = checker.client
        pids = client.run(os.getpid)
        killed: list[str] = []

        def kill_a_busy_worker(events: int, done: int, total: int, elapsed: float) -> None:
            if killed:
                return
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:  # a worker in the middle of a chunk: SIGKILL, no goodbye to the scheduler
                killed.append(busy[0])
                os.kill(pids[busy[0]], signal.SIGKILL)

        on_cluster = _report(record, checker=checker, chunk_events=2, progress=kill_a_busy_worker)
        assert killed, "no worker was busy when the first chunk came back"
        assert killed[0] not in client.scheduler_info()["workers"]
    assert on_cluster == local


def test_addresses() -> None:
    assert check_address("tls://verificador.example.org:8786") == "tls://verificador.example.org:8786"
    assert check_address("tcp://127.0.0.1:8786") and check_address("tcp://[::1]:8786")
    assert check_address("tcp://localhost:8786")
    for bad, fragment in (("tcp://192.0.2.7:8786", "solo se acepta en esta máquina"),
                          ("tcp://0.0.0.0:8786", "solo se acepta en esta máquina"),
                          ("inproc://x", "no válida"), ("tls://host", "no válida"), ("host:8786", "no válida")):
        with pytest.raises(ClusterError, match=fragment):
            check_address(bad)


def test_no_scheduler_there(faulty: tuple[DrillOutcome, Path, int]) -> None:
    with pytest.raises(ClusterError, match="no se pudo conectar"):
        DaskChecker("tcp://127.0.0.1:9", timeout=2)


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and one certificate it signed (for the scheduler, the workers and the client)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("ca")).issuer_name(name("ca")).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(name("sivei")).issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(2).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def test_tls_cluster_with_certificates(faulty: tuple[DrillOutcome, Path, int], tmp_path: Path) -> None:
    """The command line over tls:// with the auditor's certificates: the same report; without them the
    scheduler cannot be reached."""
    _, record, _ = faulty
    ca, cert, key = (str(p) for p in _certificates(tmp_path))
    security = distributed.Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key,
                                    tls_scheduler_cert=cert, tls_scheduler_key=key, tls_worker_cert=cert,
                                    tls_worker_key=key, require_encryption=True)
    local = _report(record, jobs=1)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, protocol="tls",
                                  host="127.0.0.1", security=security, dashboard_address="127.0.0.1:0",
                                  silence_logs=40) as tls_cluster:
        address = tls_cluster.scheduler_address
        assert address.startswith("tls://")
        command = [sys.executable, "-m", "sivei.cli.main", "verificar", "--test-group", "--quiet", "--json", "-",
                   "--scheduler", address, str(record)]
        run = subprocess.run([*command, "--tls-ca-file", ca, "--tls-cert", cert, "--tls-key", key],
                             capture_output=True, text=True, timeout=300, check=False)
        assert run.returncode == 1 and json.loads(run.stdout) == local, run.stderr
        with pytest.raises(ClusterError, match="no se pudo conectar"):
            DaskChecker(address, timeout=3)
        partial = subprocess.run([*command, "--tls-ca-file", ca], capture_output=True, text=True, timeout=60,
                                 check=False)
        assert partial.returncode == 2 and "TLS necesita las tres opciones" in partial.stderr
