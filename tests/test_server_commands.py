"""``sivei servidor``: the receipt key in a key file or a SoftHSM2 token, and ``ejecutar``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sivei.cli.main import main
from sivei.crypto.ecdsa import verify_digest
from sivei.custody import SoftHsmEnvironment, find_softhsm_module, softhsm_available
from sivei_server.config import ServerConfig
from sivei_server.receipt_key import forget_cached, receipt_signer
from sivei_server.simulacro import Client, free_port


def test_receipt_key_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "llave.pem"
    public = tmp_path / "publica.pem"
    assert main(["servidor", "llave-recibos", "--archivo", str(key), "--publica", str(public)]) == 0
    out = capsys.readouterr().out
    assert oct(key.stat().st_mode & 0o777) == "0o600" and "BEGIN PUBLIC KEY" in public.read_text()
    assert main(["servidor", "llave-recibos", "--archivo", str(key), "--publica", str(public)]) == 2  # no overwrite
    signer = receipt_signer(ServerConfig(data_dir=tmp_path, receipt_key_file=key))
    assert signer.public_key.hex() in out
    digest = bytes(range(32))
    assert verify_digest(signer.public_key, digest, signer.sign_digest(digest))
    forget_cached()


@pytest.mark.skipif(not softhsm_available(), reason="SoftHSM2 is not installed (make setup-system)")
def test_receipt_key_in_a_token(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    module = find_softhsm_module()
    assert module is not None
    with SoftHsmEnvironment(tmp_path / "hsm") as env:
        env.init_token("servidor-recibos", "87654321", "12345678")
        monkeypatch.setenv("SIVEI_PIN", "12345678")
        assert main(["servidor", "llave-recibos", "--token", "servidor-recibos", "--pkcs11-module", module,
                     "--publica", str(tmp_path / "publica.pem"), "--datos", str(tmp_path)]) == 0
        point = capsys.readouterr().out.split("\n")[2].strip()
        config = ServerConfig(data_dir=tmp_path, receipt_token="servidor-recibos", receipt_token_module=module)
        try:
            signer = receipt_signer(config)
            assert signer.public_key.hex() == point
            digest = bytes(32)
            assert verify_digest(signer.public_key, digest, signer.sign_digest(digest))
        finally:
            forget_cached()


def test_ejecutar_serves(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "SIVEI_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "sivei.cli.main", "servidor", "ejecutar", "--puerto", str(port),
                             "--cookies-inseguras"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert Client(f"http://127.0.0.1:{port}").json("GET", "/api/salud") == {"ok": True}
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        status, _body, headers = Client(f"http://127.0.0.1:{port}").request("GET", "/tablero")
        assert status == 200 and "worker-src 'self'" in headers["Content-Security-Policy"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
