"""The voter roll: CSV import through the library function, the operators' console and the command
line; every refusal names its lines and imports nothing; activation links sent to the roll."""

from __future__ import annotations

import io
import re
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from servertools import make_app, opened_operator_totp, sealed_operator_totp
from sivei.ballot.credential_tokens import seal_tokens
from sivei.ballot.credentials import RollEntry, issue_credentials, synthetic_roll
from sivei.ballot.manifest import sample_manifest
from sivei.cli.main import main
from sivei.crypto.ecdsa import SoftwareSigner
from sivei_server import election as el
from sivei_server.auth import codes
from sivei_server.auth.settings import AuthSettings
from sivei_server.db import session_scope
from sivei_server.models import AuditLog, Operator, Voter
from sivei_server.notify import read_mail_outbox
from sivei_server.roll import RollError, import_roll, parse_roll
from sivei_server.usernames import shown

FAST = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
N = 12  # two voters per entity of the sample manifest
OP_PASSWORD = "operador-clave-larga"


@pytest.fixture(scope="module")
def credentials() -> tuple[list[RollEntry], bytes, bytes, bytes]:
    manifest = sample_manifest()
    roll = synthetic_roll(manifest, N)
    authority = SoftwareSigner()
    issued = issue_credentials(manifest, roll, authority, retain=False)
    sealed = seal_tokens(manifest.election_id, issued.deliveries, authority).to_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        issued.credential_list.write(tmp)
        return (roll, Path(tmp, "credential-list.json").read_bytes(), Path(tmp, "credentials.jsonl").read_bytes(),
                sealed)


def csv_of(roll: list[RollEntry], *, header: str = "id_votante,entidad,nombre,correo,celular") -> bytes:
    lines = [header]
    for i, v in enumerate(roll):
        lines.append(f"{v.voter_id},{v.entity},{v.name},{v.email},+52 55 1234 {i:04d}")
    return ("\n".join(lines) + "\n").encode()


def engine(app: Flask) -> Any:
    return app.extensions["sivei_engine"]


def load_election_files(app: Flask, credentials: tuple[list[RollEntry], bytes, bytes, bytes], *,
                        with_list: bool = True) -> None:
    _, list_bytes, entries_bytes, sealed_bytes = credentials
    data = (resources.files("sivei") / "data" / "sample-manifest.json").read_bytes()
    with session_scope(engine(app)) as s:
        el.load_manifest(s, data, None)
    if with_list:
        with session_scope(engine(app)) as s:
            el.import_credentials(s, list_bytes, entries_bytes, sealed_bytes, None)


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path, extra=FAST)


def voters(app: Flask) -> int:
    with session_scope(engine(app)) as s:
        return s.scalar(select(func.count()).select_from(Voter)) or 0


def refused(app: Flask, data: bytes, **kw: Any) -> RollError:
    with pytest.raises(RollError) as info, session_scope(engine(app)) as s:
        import_roll(s, data, None, **kw)
    return info.value


def test_import_and_counts(app: Flask, credentials: Any) -> None:
    roll = credentials[0]
    load_election_files(app, credentials)
    with session_scope(engine(app)) as s:
        summary = import_roll(s, csv_of(roll), None)
    assert summary.voters == N and sum(summary.by_style.values()) == N
    assert set(summary.by_entity) == {e.code for e in sample_manifest().entities}
    with session_scope(engine(app)) as s:
        v = s.get(Voter, roll[0].voter_id)
        assert v is not None and v.phone == "+525512340000" and v.email == roll[0].email.lower()
        assert s.scalar(select(AuditLog).where(AuditLog.action == "padron.importar")) is not None
    # A second import needs «replace»; replacing works while nobody has activated.
    assert refused(app, csv_of(roll)).code == "padron-existente"
    with session_scope(engine(app)) as s:
        assert import_roll(s, csv_of(roll), None, replace=True).replaced == N
    with session_scope(engine(app)) as s:
        v = s.get(Voter, roll[0].voter_id)
        assert v is not None
        v.activated_at = v.created_at
    assert refused(app, csv_of(roll), replace=True).code == "padron-en-uso"


def test_refusals_name_lines_and_import_nothing(app: Flask, credentials: Any) -> None:
    roll = credentials[0]
    load_election_files(app, credentials)
    good = csv_of(roll).decode().splitlines()

    dup_email = good.copy()
    dup_email[3] = dup_email[3].replace(roll[2].email, roll[0].email.upper())
    err = refused(app, "\n".join(dup_email).encode())
    text = str(err)
    assert "línea 4" in text and "ya en la línea 2" in text and "correo repetido" in text

    dup_phone = good.copy()
    dup_phone[5] = re.sub(r"\+52 55 1234 \d{4}$", "+52-55-1234-0001", dup_phone[5])
    err = refused(app, "\n".join(dup_phone).encode())
    assert "línea 6" in str(err) and "celular repetido" in str(err) and "ya en la línea 3" in str(err)

    unknown = good.copy()
    unknown[2] = unknown[2].replace(f",{roll[1].entity},", ",ZZZ,")
    err = refused(app, "\n".join(unknown).encode())
    assert "línea 3" in str(err) and "entidad desconocida" in str(err)

    missing = good[:-1]  # one voter fewer than credentials of that style
    err = refused(app, "\n".join(missing).encode())
    assert err.code == "padron-conteos"
    style = sample_manifest().style_for_entity(roll[-1].entity).id
    assert f"«{style}»" in str(err) and "el padrón tiene 1 votantes y la lista de credenciales 2" in str(err)

    several = good.copy()
    several[1] = several[1].replace(roll[0].email, "no-es-correo")
    several[2] = several[2].replace("+52 55 1234 0001", "5512340001")
    several.append("V99,JAL,X,x@ejemplo.org,+5255")
    err = refused(app, "\n".join(several).encode())
    assert len(err.problems) == 3 and "línea 2" in str(err) and "línea 3" in str(err) and "línea 14" in str(err)

    assert refused(app, b"").code == "padron-vacio"
    assert refused(app, b"id,entidad\nA,JAL\n").code == "padron-encabezado"
    assert refused(app, b"\xff\xfeid").code == "padron-codificacion"
    assert refused(app, good[0].encode() + b"\n").code == "padron"
    assert voters(app) == 0  # nothing was imported by any refusal


def test_credential_list_must_be_loaded_first(app: Flask, credentials: Any) -> None:
    err = refused(app, csv_of(credentials[0]))
    assert err.code == "sin-manifiesto"
    load_election_files(app, credentials, with_list=False)
    err = refused(app, csv_of(credentials[0]))
    assert err.code == "sin-credenciales" and "no está cargada todavía" in str(err)
    assert voters(app) == 0


def test_parse_accepts_english_headers_and_semicolons() -> None:
    data = b"voter_id;entity;email;mobile\nv-1;jal;A@Ejemplo.org;+1 (555) 010-0001\n"
    rows = parse_roll(data, sample_manifest())
    assert rows[0].voter_id == "V-1" and rows[0].entity == "JAL" and rows[0].email == "a@ejemplo.org"
    assert rows[0].phone == "+15550100001"


def test_console_import_and_notify(app: Flask, credentials: Any) -> None:
    roll = credentials[0]
    load_election_files(app, credentials)
    admin = logged_operator(app, "admin", "administrador")
    observer = logged_operator(app, "obs", "observador")
    token = admin_token(admin, "/operacion/padron")
    assert 'enctype="multipart/form-data"' in admin.get("/operacion/padron").get_data(as_text=True)

    bad = csv_of(roll).decode().replace(roll[3].email, roll[4].email).encode()
    r = admin.post("/api/operacion/padron", data={"padron": (io.BytesIO(bad), "padron.csv")},
                   headers={"X-CSRF-Token": token}, content_type="multipart/form-data")
    assert r.status_code == 422 and "línea" in r.get_json()["problems"][0] and voters(app) == 0
    r = admin.post("/api/operacion/padron", data={}, headers={"X-CSRF-Token": token},
                   content_type="multipart/form-data")
    assert r.status_code == 400
    obs_token = admin_token(observer, "/operacion/padron")
    r = observer.post("/api/operacion/padron", data={"padron": (io.BytesIO(csv_of(roll)), "padron.csv")},
                      headers={"X-CSRF-Token": obs_token}, content_type="multipart/form-data")
    assert r.status_code == 403 and voters(app) == 0
    r = admin.post("/operacion/padron", data={"padron": (io.BytesIO(csv_of(roll)), "padron.csv"),
                                              "csrf_token": token}, content_type="multipart/form-data")
    assert r.status_code == 200 and "Padrón importado" in r.get_data(as_text=True) and voters(app) == N

    r = admin.post("/api/operacion/padron/notificar", headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.get_json() == {"sent": N, "skipped": 0}
    mails = read_mail_outbox(app.extensions["sivei_config"].data_dir / "buzon")
    assert len(mails) == N
    mail = next(m for m in mails if m.to == roll[0].email.lower())
    with session_scope(engine(app)) as s:
        issued = s.get(Voter, roll[0].voter_id)
        assert issued is not None
        username = shown(issued.username)
    # The email names the username the server issued, never the registry's id (issue 7, item 2).
    assert username in mail.body and roll[0].voter_id not in mail.body and "/cuenta/activar?t=" in mail.body
    r = admin.post("/api/operacion/padron/notificar", headers={"X-CSRF-Token": token})
    assert r.get_json() == {"sent": 0, "skipped": N}  # links still valid


def logged_operator(app: Flask, username: str, role: str) -> Any:
    secret = codes.new_totp_secret()
    settings: AuthSettings = app.extensions["sivei_auth_settings"]
    with session_scope(engine(app)) as s:
        s.add(Operator(username=username, role=role, password_hash=codes.hash_password(settings, OP_PASSWORD),
                       totp_secret=sealed_operator_totp(app, username, secret)))
    client = app.test_client()
    token = admin_token(client, "/operacion/entrar")
    r = client.post("/operacion/entrar", data={"csrf_token": token, "usuario": username, "clave": OP_PASSWORD})
    assert r.status_code == 303
    token = admin_token(client, "/operacion/codigo")
    from sivei_server import models

    r = client.post("/operacion/codigo", data={"csrf_token": token,
                                               "codigo": codes.totp_now(secret, models.utcnow())})
    assert r.status_code == 303
    return client


def admin_token(client: Any, page: str) -> str:
    html = client.get(page).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, html
    return match.group(1)


def test_command_line(tmp_path: Path, credentials: Any, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIVEI_BUZON_DESARROLLO", "1")  # the command line's file outbox (development)
    roll = credentials[0]
    app = make_app(tmp_path, extra=FAST)
    load_election_files(app, credentials)
    data_dir = str(app.extensions["sivei_config"].data_dir)
    bad = tmp_path / "malo.csv"
    bad.write_bytes(csv_of(roll).decode().replace(",JAL,", ",XX,").encode())
    assert main(["servidor", "padron", "importar", str(bad), "--datos", data_dir]) == 1
    err = capsys.readouterr().err
    assert "no se importó" in err and "entidad desconocida" in err and "línea" in err
    assert voters(app) == 0
    good = tmp_path / "padron.csv"
    good.write_bytes(csv_of(roll))
    assert main(["servidor", "padron", "importar", str(good), "--datos", data_dir]) == 0
    assert f"{N} votantes" in capsys.readouterr().out and voters(app) == N
    assert main(["servidor", "padron", "notificar", "--datos", data_dir]) == 2  # no public URL
    assert "SIVEI_PUBLIC_URL" in capsys.readouterr().err
    assert main(["servidor", "padron", "notificar", "--datos", data_dir, "--url", "https://votar.example/"]) == 0
    mails = read_mail_outbox(Path(data_dir) / "buzon")
    assert len(mails) == N and "https://votar.example/cuenta/activar?t=" in mails[0].body

    with session_scope(engine(app)) as s:
        s.add(Operator(username="ana", role="soporte", password_hash="x", totp_secret=None))
    qr = tmp_path / "qr.svg"
    assert main(["servidor", "operador-totp", "ana", "--datos", data_dir, "--qr", str(qr)]) == 0
    out = capsys.readouterr().out
    assert "otpauth://totp/" in out and qr.read_text().startswith("<?xml") and (qr.stat().st_mode & 0o077) == 0
    with session_scope(engine(app)) as s:
        op = s.scalar(select(Operator).where(Operator.username == "ana"))
        assert op is not None and op.totp_secret is not None and op.totp_secret not in out
        assert opened_operator_totp(app, "ana", op.totp_secret) in out
    assert main(["servidor", "operador-totp", "nadie", "--datos", data_dir]) == 2
