"""Election operations on the server (issue 9): the console's checklist with who did each step, the
results pages and files as INE publishes them (they agree with ``resultados.json`` for an election
with coalitions, non-registered candidates and null votes), the practice election (its own ids, a
banner on every page, never published, archived and reset keeping the accounts), the real election
never archived, turnout per country, and the personal data deleted on the confirmed date with the
public record holding nothing personal."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import nacl.pwhash
import pytest
from sqlalchemy import func, select, update

import sivei_server.election as server_election
import sivei_server.models as server_models
from resultstools import expected_rows, mixed_choices, page_rows
from servertools import Browser, Setup, election_setup, operator_browser, prepare, voter_browser
from sivei import passphrase_file
from sivei.ballot.manifest import sample_manifest
from sivei.cli.main import main
from sivei.election_kind import derived_manifest
from sivei.record.verify import VerifyOptions, verify_record
from sivei_server.db import session_scope
from sivei_server.models import ArchivedElection, AuditLog, SealedToken, Voter, WebSession
from sivei_server.simulacro import complete_record, tar_gz


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture(scope="module")
def clock() -> Iterator[Clock]:
    c = Clock()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(server_election, "utcnow", c.now)
        mp.setattr(server_models, "utcnow", c.now)
        yield c


def cast_all(setup: Setup, count: int) -> None:
    for k, voter in enumerate(setup.kit.roll[:count]):
        b = voter_browser(setup.app, voter.voter_id)
        choices = mixed_choices(setup.kit.manifest, voter.entity, k)
        r = b.post_raw("/api/votar", setup.kit.ballot(voter.voter_id, choices))
        assert r.status_code == 201, r.get_json()


def count_and_import(setup: Setup, op: Browser, clock: Clock, tmp: Path) -> None:
    """Close after the close instant, export, the key-holders' part (library), import."""
    clock.offset = timedelta(hours=2)
    assert op.post_json("/api/operacion/cerrar").status_code == 200
    r = op.client.post("/api/operacion/exportar", headers={"X-CSRF-Token": op.token})
    assert r.status_code == 200
    closed = tmp / "cerrado"
    with tarfile.open(fileobj=io.BytesIO(r.data), mode="r:gz") as tar:
        tar.extractall(closed, filter="data")
    full = complete_record(setup.kit, next(closed.iterdir()), tmp / "completo", [1, 2])
    assert op.upload("/api/operacion/registro", {"registro": tar_gz(full)}).status_code == 200


@dataclass
class Counted:
    setup: Setup
    op: Browser
    tmp: Path


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory, clock: Clock) -> Iterator[Counted]:
    """The real election (sample manifest), run through the API to its publication."""
    tmp = tmp_path_factory.mktemp("operaciones")
    clock.offset = timedelta()
    setup = election_setup(tmp, voters=7)
    try:
        op = prepare(setup)
        cast_all(setup, 6)
        r = op.post_json("/api/operacion/evento", {"tipo": "incident", "descripcion": "Corte de luz en el centro"})
        assert r.status_code == 200
        count_and_import(setup, op, clock, tmp)
        r = op.post_json("/api/operacion/verificar")
        assert r.status_code == 200 and r.get_json()["ok"] is True, r.get_json()
        r = op.post_json("/api/operacion/publicar", {"lugar": "Ciudad de México", "fecha": "2 de junio de 2027",
                                                     "firmas": ["Lic. Ana Lucía Gálvez Ruiz|Presidenta de la Mesa",
                                                                "Jorge Máynez Ortiz|Secretario"]})
        assert r.status_code == 200, r.get_json()
        yield Counted(setup, op, tmp)
    finally:
        setup.kit.close()


# -- results pages and files ---------------------------------------------------------------------------


def test_results_pages_agree_with_results_json(counted: Counted) -> None:
    public = counted.setup.app.test_client()
    data = public.get("/resultados/resultados.json").get_json()
    assert data["format"] == "sivei-resultados" and data["election_kind"] == "real"
    want = expected_rows(data)
    # The election has coalition combinations, non-registered candidates and null votes.
    totals = data["totals"]
    assert any(o["votes"] for c in totals for o in c["options"] if o["kind"] == "combination")
    assert any(c["non_registered_candidates"]["votes"] for c in totals)
    assert any(c["null_votes"]["votes"] for c in totals)
    for lang, null_label in (("es", "Votos nulos"), ("en", "Null votes")):
        r = public.get(f"/resultados?lang={lang}")
        html = r.get_data(as_text=True)
        assert r.status_code == 200 and null_label in html and f'<html lang="{lang}">' in html
        got = page_rows(html)
        assert set(got) == set(want), set(got) ^ set(want)
        for key, (votes, pct) in want.items():
            cells = got[key]
            assert int(cells[1].replace(",", "")) == votes, key
            assert cells[2] == pct, key
    # The CSV has every value of the JSON, and the console shows the same page to staff.
    rows = list(csv.DictReader(io.StringIO(public.get("/resultados/resultados.csv").get_data(as_text=True))))
    by_key = {(r["entity"], r["contest"], r["section"], r["id"]): r for r in rows}
    for (entity, contest, table, ident), (votes, _) in want.items():
        section = {"options": "option", "candidacies": "candidacy",
                   "parties_after_distribution": "party_after_distribution"}.get(table, "summary")
        if ident != "total_votes":
            assert int(by_key[(entity, contest, section, ident)]["votes"]) == votes
    console = counted.op.get("/operacion/resultados").get_data(as_text=True)
    assert page_rows(console) == page_rows(public.get("/resultados?lang=es").get_data(as_text=True))


def test_acta_pdf_holds_the_totals(counted: Counted, tmp_path: Path) -> None:
    public = counted.setup.app.test_client()
    r = public.get("/resultados/acta-computo.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    assert "attachment" in r.headers["Content-Disposition"]
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed: .ci/run installs it")
    pdf = tmp_path / "acta.pdf"
    pdf.write_bytes(r.data)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Lic. Ana Lucía Gálvez Ruiz" in text and "Jorge Máynez Ortiz" in text and "2 de junio de 2027" in text
    data = public.get("/resultados/resultados.json").get_json()
    for c in data["totals"]:
        assert re.search(rf"VOTACIÓN TOTAL\s+{c['total_votes']}\b", text), c["contest"]


def test_checklist_names_who_did_each_step(counted: Counted) -> None:
    steps = {s["step"]: s for s in counted.op.get("/api/operacion/lista").get_json()["steps"]}
    assert list(steps) == ["manifiesto", "credenciales", "padron", "acta-inicio", "abrir", "votacion", "cerrar",
                           "exportar", "boveda", "importar", "verificar", "publicar", "datos"]
    for key in ("manifiesto", "credenciales", "acta-inicio", "abrir", "cerrar", "exportar", "importar", "verificar",
                "publicar"):
        assert steps[key]["status"] == "hecho" and steps[key]["by"] == "admin", steps[key]
    assert steps["votacion"]["status"] == "hecho" and steps["boveda"]["by"] == "los custodios, fuera del servidor"
    # The roll was loaded without links sent (a test shortcut): the checklist says so.
    assert steps["padron"]["status"] == "siguiente" and steps["datos"]["status"] == "pendiente"
    html = counted.op.get("/operacion").get_data(as_text=True)
    assert "Hecho por" in html and "Corte de luz en el centro" in html and "Siguiente paso" in html
    english = counted.op.get("/operacion?lang=en").get_data(as_text=True)
    assert "Checklist" in english and "Done by" in english and "Publication of results" in english
    assert "Lista de pasos" in counted.op.get("/operacion?lang=es").get_data(as_text=True)  # back to Spanish
    # Observers see the checklist, not the forms.
    assert "Hecho por" in operator_browser(counted.setup.app, "obs").get("/operacion").get_data(as_text=True)


def test_the_real_election_is_never_archived(counted: Counted) -> None:
    r = counted.op.post_json("/api/operacion/archivar")
    assert r.status_code == 409 and r.get_json()["error"] == "eleccion-real"
    assert counted.op.get("/api/operacion/estado").get_json()["state"] == "published"


def test_personal_data_deleted_on_the_confirmed_date(counted: Counted, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    app, op = counted.setup.app, counted.op
    with session_scope(counted.setup.engine) as s:
        people = [(v.voter_id, v.email, v.phone) for v in s.scalars(select(Voter))]
    assert people
    # The form asks first, naming the consequence; a past date is refused.
    page = op.client.post("/operacion/datos/programar", data={"csrf_token": op.token, "fecha": "2020-01-01"})
    assert page.status_code == 200 and "¿Programar la eliminación" in page.get_data(as_text=True)
    assert op.post_json("/api/operacion/datos/programar", {"fecha": "2020-01-01"}).status_code == 400
    assert op.post_json("/api/operacion/datos/eliminar").status_code == 409  # not scheduled
    today = clock.now().astimezone(ZoneInfo("America/Mexico_City")).date()  # the server's clock: hours ahead
    later = today + timedelta(days=2)
    assert op.post_json("/api/operacion/datos/programar", {"fecha": later.isoformat()}).status_code == 200
    assert op.post_json("/api/operacion/datos/eliminar").status_code == 409  # its date has not come
    # The archive copy holds the roll, sealed under the passphrase typed on the confirmation page (and
    # is logged with its fingerprint); the server's command opens it with that passphrase only.
    page = op.client.post("/operacion/datos/exportar", data={"csrf_token": op.token}).get_data(as_text=True)
    assert 'type="password"' in page and "¿Exportar los datos personales?" in page
    assert op.post_json("/api/operacion/datos/exportar", {"frase": "corta"}).status_code == 400
    phrase = "una frase de paso para el archivo"
    monkeypatch.setattr(passphrase_file, "OPSLIMIT", nacl.pwhash.argon2id.OPSLIMIT_MIN)  # fast, tests only
    monkeypatch.setattr(passphrase_file, "MEMLIMIT", nacl.pwhash.argon2id.MEMLIMIT_MIN)
    r = op.client.post("/api/operacion/datos/exportar", json={"frase": phrase}, headers={"X-CSRF-Token": op.token})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert all(email.encode() not in r.data for _, email, _ in people)
    sealed = counted.tmp / "datos.sellado"
    sealed.write_bytes(r.data)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SIVEI_DATOS_PASSPHRASE", "otra frase de paso cualquiera")
        assert main(["servidor", "datos-personales", "--abrir", str(sealed), "--salida",
                     str(counted.tmp / "mal.tar.gz")]) == 2
        assert not (counted.tmp / "mal.tar.gz").exists()
        mp.setenv("SIVEI_DATOS_PASSPHRASE", phrase)
        assert main(["servidor", "datos-personales", "--abrir", str(sealed), "--salida",
                     str(counted.tmp / "datos.tar.gz")]) == 0
    with tarfile.open(counted.tmp / "datos.tar.gz", mode="r:gz") as tar:
        member = tar.extractfile("datos-personales/padron.csv")
        assert member is not None
        roll = member.read().decode()
    assert all(email in roll for _, email, _ in people)
    # On the date (today, from 00:00 in Mexico City), the deletion: voters, tokens, sessions gone; the
    # log keeps that it happened.
    assert op.post_json("/api/operacion/datos/programar", {"fecha": today.isoformat()}).status_code == 200
    r = op.post_json("/api/operacion/datos/eliminar")
    assert r.status_code == 200 and r.get_json()["counts"]["voters"] == len(people)
    with session_scope(counted.setup.engine) as s:
        assert (s.scalar(select(func.count()).select_from(Voter)) or 0) == 0
        assert (s.scalar(select(func.count()).select_from(SealedToken)) or 0) == 0
        assert (s.scalar(select(func.count()).select_from(WebSession).where(WebSession.kind == "voter")) or 0) == 0
        actions = [a for (a,) in s.execute(select(AuditLog.action))]
        assert {"datos.programar", "datos.exportar", "datos.eliminar"} <= set(actions)
        assert (s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.address.is_not(None))) or 0) == 0
    assert op.post_json("/api/operacion/datos/eliminar").status_code == 409  # once
    data_dir = Path(app.extensions["sivei_config"].data_dir)
    assert main(["servidor", "datos-personales", "--datos", str(data_dir), "--ejecutar"]) == 0
    assert "Datos personales eliminados el" in capsys.readouterr().out
    # Turnout figures outlive the deletion.
    turnout = op.get("/operacion/participacion").get_data(as_text=True)
    assert "cifras conservadas" in turnout and "Total:</strong> 6 de 7 " in turnout
    # The published record and results never held anything personal.
    blobs = [p.read_bytes() for folder in ("registro-publicado", "resultados-publicados")
             for p in (data_dir / folder).rglob("*") if p.is_file()]
    for voter_id, email, phone in people:
        for blob in blobs:
            assert email.encode() not in blob and phone.encode() not in blob and voter_id.encode() not in blob


# -- the practice election --------------------------------------------------------------------------------


def test_practice_election_banner_never_published_then_archived(tmp_path: Path, clock: Clock) -> None:
    clock.offset = timedelta()
    practice = derived_manifest(sample_manifest(), "practice")
    setup = election_setup(tmp_path, voters=4, manifest=practice)
    try:
        app, kit = setup.app, setup.kit
        assert kit.manifest.election_id == "practica-mx-2027-local-ext"
        op = prepare(setup)
        public = app.test_client()
        for path in ("/", "/tablero", "/votar", "/resultados", "/archivo"):
            html = public.get(path).get_data(as_text=True)
            assert "PRÁCTICA — NO ES LA ELECCIÓN REAL" in html and "PRACTICE — NOT THE REAL ELECTION" in html, path
        assert "PRÁCTICA" in op.get("/operacion").get_data(as_text=True)
        cast_all(setup, 3)
        with session_scope(setup.engine) as s:
            s.execute(update(Voter).values(password_hash="cuenta-activada"))
        clock.offset = timedelta(hours=2)
        assert op.post_json("/api/operacion/cerrar").status_code == 200
        steps = [s["step"] for s in op.get("/api/operacion/lista").get_json()["steps"]]
        assert steps[-1] == "archivar" and "publicar" not in steps
        # Its results are never published (not even with a record the key-holders decrypted).
        r = op.post_json("/api/operacion/publicar")
        assert r.status_code == 409 and r.get_json()["error"] == "practica"
        # Archive from the console: a confirmation page first, then the slot is empty.
        page = op.client.post("/operacion/archivar", data={"csrf_token": op.token})
        assert "¿Archivar esta elección" in page.get_data(as_text=True)
        token = f"archivar:{kit.manifest.election_id}"
        r = op.client.post("/operacion/archivar", data={"csrf_token": op.token, "confirmo": token})
        assert r.status_code == 200 and "Hecho" in r.get_data(as_text=True), r.get_data(as_text=True)
        state = op.get("/api/operacion/estado").get_json()
        assert state["state"] is None and not any(state["artifacts"].values())
        journal = setup.config.journal_path  # its board journal set aside: the next board starts an empty one
        assert not journal.exists() and journal.with_name(f"{journal.name}.01-{kit.manifest.election_id}").is_file()
        assert "NO ES LA ELECCIÓN REAL" not in public.get("/").get_data(as_text=True)
        with session_scope(setup.engine) as s:
            voters = list(s.scalars(select(Voter)))
            assert len(voters) == 4 and not any(v.voted for v in voters)  # accounts kept, «voted» cleared
            assert all(v.password_hash == "cuenta-activada" for v in voters)
            archived = s.scalars(select(ArchivedElection)).one()
            assert archived.kind == "practice" and archived.cast_count == 3
            kept = json.loads(archived.summary_json)["turnout"]
            assert sum(r["voted"] for r in kept["by_entity"]) == 3
        listing = public.get("/archivo").get_data(as_text=True)
        assert "practica-mx-2027-local-ext" in listing
        record = public.get(f"/archivo/{archived.id}/registro.tar.gz")
        assert record.status_code == 200
        assert hashlib.sha256(record.data).hexdigest() == archived.record_sha256
        with tarfile.open(fileobj=io.BytesIO(record.data), mode="r:gz") as tar:
            tar.extractall(tmp_path / "archivado", filter="data")
        # Anyone checks the practice's board and ballots up to the encrypted tally; the report says what it
        # is. Only the closing act is missing (the key-holders sign one only if asked to).
        report = verify_record(next((tmp_path / "archivado").iterdir()),
                               VerifyOptions(allow_test_group=True, closed=True, jobs=1))
        assert report.heading is not None and "PRÁCTICA — NO ES LA ELECCIÓN REAL" in report.heading
        assert {p.location for p in report.problems} == {"acts/closing.json"}, report.format_text()
        # The console starts the next election's checklist from the first step.
        first = op.get("/api/operacion/lista").get_json()["steps"][0]
        assert first["step"] == "manifiesto" and first["status"] == "siguiente" and first["by"] is None
    finally:
        setup.kit.close()


def test_roll_country_column_and_turnout_per_country(tmp_path: Path) -> None:
    setup = election_setup(tmp_path, voters=4, roll=False)
    try:
        kit = setup.kit
        op = operator_browser(setup.app)
        assert op.upload("/api/operacion/manifiesto", {"manifiesto": kit.manifest_bytes}).status_code == 200
        assert op.upload("/api/operacion/credenciales", {"lista": kit.list_bytes, "entradas": kit.entries_bytes,
                                                         "fichas": kit.sealed_bytes}).status_code == 200
        countries = ["US", "US", "es", ""]
        lines = ["id_votante,entidad,correo,celular,pais"]
        lines += [f"{v.voter_id},{v.entity},{v.email},{kit.phones[v.voter_id]},{c}" for v, c in zip(kit.roll, countries,
                                                                                                   strict=True)]
        bad = "\n".join([*lines[:-1], lines[-1] + "X"]).encode()  # «X» is no ISO code
        r = op.upload("/api/operacion/padron", {"padron": bad})
        assert r.status_code == 422 and "país no válido" in r.get_json()["message"]
        assert op.upload("/api/operacion/padron", {"padron": "\n".join(lines).encode()}).status_code == 200
        html = op.get("/operacion/participacion").get_data(as_text=True)
        assert 'data-clave="US"' in html and "Estados Unidos (US)" in html and "España (ES)" in html
        assert "Sin país en el padrón" in html
    finally:
        setup.kit.close()
