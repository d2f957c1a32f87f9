"""The election lifecycle on the server (Flask test client, SQLite file database): load, register the
opening act, open, cast with receipts, operator events, the close at the close instant, late
ballots, export, the key-holders' part, import, publish, and ``sivei verificar --receipt``."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from servertools import Setup, election_setup, operator_browser, prepare, stored_counts, voter_browser
from sivei.cli.main import main
from sivei.crypto.ecdsa import SoftwareSigner
from sivei.record import layout
from sivei.record.receipts import Receipt
from sivei.record.verify import VerifyOptions, verify_record
from sivei_server.db import session_scope
from sivei_server.models import LateBallot, Voter
from sivei_server.simulacro import complete_record, tar_gz


def _wait_closed(setup: Setup, timeout: float = 20) -> dict[str, object]:
    op = operator_browser(setup.app)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = op.get("/api/operacion/estado").get_json()
        if state.get("closed"):
            return dict(state)
        time.sleep(0.1)
    raise AssertionError("the server did not close the board")


def test_opening_act_must_match(tmp_path: Path) -> None:
    setup = election_setup(tmp_path, voters=4)
    kit = setup.kit
    op = operator_browser(setup.app)
    assert op.post_json("/api/operacion/abrir").status_code == 409  # nothing loaded
    obs = operator_browser(setup.app, "obs")
    assert obs.upload("/api/operacion/manifiesto", {"manifiesto": kit.manifest_bytes}).status_code == 403
    assert op.upload("/api/operacion/manifiesto", {"manifiesto": b"{}"}).status_code == 422
    assert op.upload("/api/operacion/manifiesto", {"manifiesto": kit.manifest_bytes}).status_code == 200
    bad_entries = kit.entries_bytes.replace(b"0", b"1", 1)
    r = op.upload("/api/operacion/credenciales", {"lista": kit.list_bytes, "entradas": bad_entries,
                                                  "fichas": kit.sealed_bytes})
    assert r.status_code == 422 and r.get_json()["error"] == "credenciales"
    assert op.upload("/api/operacion/credenciales", {"lista": kit.list_bytes, "entradas": kit.entries_bytes,
                                                     "fichas": kit.sealed_bytes}).status_code == 200
    # An act with one signature missing, an act naming another receipt key: refused, naming why.
    act = json.loads(kit.act_bytes)
    one_short = dict(act, signatures=act["signatures"][:-1])
    r = op.upload("/api/operacion/acta-inicio", {"ceremonia": kit.ceremony_bytes,
                                                 "acta": json.dumps(one_short).encode()})
    assert r.status_code == 422 and r.get_json()["error"] == "acta-firmas"
    other = json.loads(kit.act_bytes)
    other["body"]["receipt_key"] = SoftwareSigner().public_key.hex()
    r = op.upload("/api/operacion/acta-inicio", {"ceremonia": kit.ceremony_bytes, "acta": json.dumps(other).encode()})
    assert r.status_code == 422 and r.get_json()["fields"] == ["receipt_key"]
    r = op.upload("/api/operacion/acta-inicio", {"ceremonia": b"{}", "acta": kit.act_bytes})
    assert r.status_code == 422 and r.get_json()["error"] == "ceremonia"
    assert op.post_json("/api/operacion/abrir").status_code == 409  # still no verified act
    r = op.upload("/api/operacion/acta-inicio", {"ceremonia": kit.ceremony_bytes, "acta": kit.act_bytes,
                                                 "constancia": kit.constancia.dumps().encode()})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["election_hash"] == kit.ctx.election_hash.hex()
    r = op.post_json("/api/operacion/abrir")
    assert r.status_code == 200 and r.get_json()["head"] == kit.opening.body["genesis_head"]
    assert op.post_json("/api/operacion/abrir").status_code == 409
    assert op.upload("/api/operacion/manifiesto", {"manifiesto": kit.manifest_bytes}).status_code == 409
    kit.close()


def test_open_refused_when_roll_and_list_differ(tmp_path: Path) -> None:
    setup = election_setup(tmp_path, voters=4)
    with session_scope(setup.engine) as s:
        s.add(Voter(voter_id="EXTRA", entity="JAL", email="extra@example.org", phone="+19999999"))
    op = prepare(setup, open_=False)
    r = op.post_json("/api/operacion/abrir")
    assert r.status_code == 409 and r.get_json()["error"] == "padron"
    setup.kit.close()


def test_full_lifecycle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setup = election_setup(tmp_path, voters=6, closes_in=6, grace=0.3, closer_thread=True)
    kit, app = setup.kit, setup.app
    try:
        op = prepare(setup)
        r = op.post_json("/api/operacion/cerrar")
        assert r.status_code == 409 and r.get_json()["error"] == "antes-del-cierre"
        voters = [v.voter_id for v in kit.roll]
        receipts = []
        for vid in voters[:3]:
            b = voter_browser(app, vid)
            info = b.get("/api/votante").get_json()
            assert info["voted"] is False and info["style"] == kit.manifest.style_for_entity(info["entity"]).id
            body = kit.ballot(vid)
            if vid == voters[0]:
                first_body, first_browser = body, b
            r = b.post_raw("/api/votar", body)
            assert r.status_code == 201, r.get_json()
            receipt = r.get_json()["receipt"]
            parsed = Receipt.from_json(receipt)
            assert parsed.signature_valid(setup.receipt_key)
            assert parsed.election_hash == kit.ctx.election_hash
            receipts.append(receipt)
            # A lost answer: the same ballot again → the same receipt, stored once.
            again = b.post_raw("/api/votar", body)
            assert again.status_code == 200 and again.get_json()["receipt"] == receipt
            # Another ballot from a voter who already cast → 409.
            other = b.post_raw("/api/votar", kit.ballot(vid))
            assert other.status_code == 409 and other.get_json()["error"] == "ya-voto"
            assert b.get("/api/votante").get_json()["voted"] is True
        assert stored_counts(setup)[0] == 3
        assert [Receipt.from_json(r).index for r in receipts] == [1, 2, 3]

        # Operator events: pause refuses ballots (503), resume, incident.
        r = op.post_json("/api/operacion/evento", {"tipo": "pause", "descripcion": "mantenimiento"})
        assert r.status_code == 200
        paused = voter_browser(app, voters[3]).post_raw("/api/votar", kit.ballot(voters[3]))
        assert paused.status_code == 503 and paused.get_json()["error"] == "pausa"
        assert op.post_json("/api/operacion/evento", {"tipo": "resume", "descripcion": "listo"}).status_code == 200
        assert op.post_json("/api/operacion/evento", {"tipo": "incident", "descripcion": "prueba"}).status_code == 200
        assert op.post_json("/api/operacion/evento", {"tipo": "close", "descripcion": "x"}).status_code == 400
        b4 = voter_browser(app, voters[3])
        r = b4.post_raw("/api/votar", kit.ballot(voters[3]))
        assert r.status_code == 201
        receipts.append(r.get_json()["receipt"])

        # The public board: head, tracking codes, search by code and by hash, operator events.
        public = app.test_client()
        summary = public.get("/api/tablero").get_json()
        assert summary["cast"] == 4 and summary["election_hash"] == kit.ctx.election_hash.hex()
        page = public.get("/tablero").get_data(as_text=True)
        for rc in receipts:
            assert rc["tracking_code"] in page
        assert "mantenimiento" in page
        found = public.get("/api/tablero/buscar", query_string={"codigo": receipts[0]["tracking_code"].lower()})
        assert found.get_json()["found"] and found.get_json()["ballots"][0]["index"] == 1
        by_hash = public.get("/api/tablero/buscar", query_string={"codigo": receipts[1]["ballot_hash"]}).get_json()
        assert by_hash["ballots"][0]["tracking_code"] == receipts[1]["tracking_code"]
        assert public.get("/api/tablero/buscar", query_string={"codigo": "0" * 20}).get_json()["found"] is False
        assert public.get("/api/tablero/buscar", query_string={"codigo": "xyz"}).status_code == 400
        assert "ballot" in public.get("/api/tablero/boleta", query_string={"indice": 1}).get_json()
        events = public.get("/api/tablero/eventos").get_json()["events"]
        assert [e["type"] for e in events] == ["open", "ballot", "ballot", "ballot", "pause", "resume", "incident",
                                               "ballot"]
        noted_head = summary["head"]

        # Turnout charts (observers too).
        obs = operator_browser(app, "obs")
        svg = obs.get("/operacion/participacion/entidad.svg")
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
        assert b"<svg" in obs.get("/operacion/participacion").data
        assert obs.post_json("/api/operacion/cerrar").status_code == 403

        # The close instant: the server closes the board itself; a late ballot is refused and logged
        # with sender and time only.
        closes = kit.manifest.voting_closes
        time.sleep(max(0.0, (closes - datetime.now(UTC)).total_seconds()) + 0.05)
        late = voter_browser(app, voters[4]).post_raw("/api/votar", kit.ballot(voters[4]))
        assert late.status_code == 409 and late.get_json()["message"] == "La votación cerró."
        # A retry after the close of a ballot cast in time still gets its receipt (not a late ballot).
        retry = first_browser.post_raw("/api/votar", first_body)
        assert retry.status_code == 200 and retry.get_json()["receipt"] == receipts[0]
        # Only the session that cast it gets the receipt again (issue 7, item 8).
        elsewhere = voter_browser(app, voters[0]).post_raw("/api/votar", first_body)
        assert elsewhere.status_code == 409 and "receipt" not in elsewhere.get_json()
        state = _wait_closed(setup)
        assert state["cast"] == 4 and state["late"] == 1
        with session_scope(setup.engine) as s:
            rows = list(s.scalars(select(LateBallot)))
            assert len(rows) == 1 and rows[0].sender == "127.0.0.1"
        closed = op.post_json("/api/operacion/cerrar")  # idempotent: the server's own close event
        assert closed.status_code == 200 and json.loads(closed.get_json()["payload"]) == {"cast": 4, "late": 1}
        assert stored_counts(setup)[0] == 4

        # Export the closed record; the key-holders sign the closing act and decrypt (library phases).
        r = op.client.post("/api/operacion/exportar", headers={"X-CSRF-Token": op.token})
        assert r.status_code == 200 and r.mimetype == "application/gzip"
        closed_dir = tmp_path / "cerrado"
        with tarfile.open(fileobj=io.BytesIO(r.data), mode="r:gz") as tar:
            tar.extractall(closed_dir, filter="data")
        full = complete_record(kit, next(closed_dir.iterdir()), tmp_path / "completo", [1, 2])

        # Publish is refused without a record, and for a tampered one; then accepted.
        assert op.post_json("/api/operacion/publicar").status_code == 409
        tampered = tmp_path / "alterado" / "completo"
        shutil.copytree(full, tampered)
        results = json.loads((tampered / layout.RESULTS).read_text())
        (tampered / layout.RESULTS).write_text(json.dumps(results).replace('"votes": 1', '"votes": 2', 1))
        assert op.upload("/api/operacion/registro", {"registro": tar_gz(tampered)}).status_code == 200
        r = op.post_json("/api/operacion/publicar")
        assert r.status_code == 422 and r.get_json()["error"] == "verificacion"
        assert public.get("/tablero/registro.tar.gz").status_code == 404
        assert op.upload("/api/operacion/registro", {"registro": b"not a tar"}).status_code == 400
        assert op.upload("/api/operacion/registro", {"registro": tar_gz(full)}).status_code == 200
        r = op.post_json("/api/operacion/publicar")
        assert r.status_code == 200, r.get_json()
        download = public.get("/tablero/registro.tar.gz")
        assert download.status_code == 200
        assert public.get("/api/resultados").status_code == 200
        board_page = public.get("/tablero").get_data(as_text=True)
        # The board links the results page (names, percentages, files) rather than repeating code-headed tables.
        assert "Descargar el registro" in board_page and "Ver los resultados por entidad" in board_page
        assert "<table" not in board_page.split("Eventos de la elecci")[0]
        results_page = public.get("/resultados")
        assert results_page.status_code == 200 and "Resultados del cómputo" in results_page.get_data(as_text=True)

        # The published record verifies with every receipt; the CLI says the same.
        published = tmp_path / "publicado"
        with tarfile.open(fileobj=io.BytesIO(download.data), mode="r:gz") as tar:
            tar.extractall(published, filter="data")
        record = next(published.iterdir())
        paths = []
        for i, rc in enumerate(receipts):
            p = tmp_path / f"recibo-{i}.json"
            p.write_text(json.dumps(rc))
            paths.append(p)
        report = verify_record(record, VerifyOptions(allow_test_group=True, receipts=tuple(paths),
                                                     expect_heads=(noted_head,)))
        assert report.ok, report.format_text()
        args = ["verificar", str(record), "--test-group", "--quiet"]
        for p in paths:
            args += ["--receipt", str(p)]
        assert main(args) == 0
        assert "recibos revisados: 4" in capsys.readouterr().out

        # Receipts that do not match the record fail, naming the check.
        forged = dict(receipts[0], index=2)
        bad_sig = dict(receipts[0], signature=receipts[1]["signature"])
        fake_key = Receipt.from_json(receipts[0]).signed_by(SoftwareSigner()).to_json()
        for name, obj, check in (("indice", forged, "receipt"), ("firma", bad_sig, "receipt.signature"),
                                 ("llave", fake_key, "receipt.signature")):
            p = tmp_path / f"malo-{name}.json"
            p.write_text(json.dumps(obj))
            rep = verify_record(record, VerifyOptions(allow_test_group=True, receipts=(p,)))
            assert not rep.ok and any(c.startswith(check) for c in rep.failed_checks()), name
        junk = tmp_path / "junk.json"
        junk.write_text("{}")
        assert main(["verificar", str(record), "--test-group", "--quiet", "--receipt", str(junk)]) == 1
    finally:
        setup.app.extensions["sivei_closer"].stop()
        kit.close()


def test_console_forms(tmp_path: Path) -> None:
    """The console's HTML forms post to /operacion/<accion> with the csrf_token field and get a page."""
    setup = election_setup(tmp_path, voters=4)
    try:
        op = operator_browser(setup.app)
        page = op.get("/operacion").get_data(as_text=True)
        assert 'name="csrf_token"' in page and "Cargar manifiesto" in page
        assert "Cargar manifiesto" not in operator_browser(setup.app, "obs").get("/operacion").get_data(as_text=True)
        data = {"csrf_token": op.token, "manifiesto": (io.BytesIO(setup.kit.manifest_bytes), "m.json")}
        r = op.client.post("/operacion/manifiesto", data=data, content_type="multipart/form-data")
        assert r.status_code == 200 and r.mimetype == "text/html" and "Hecho" in r.get_data(as_text=True)
        # Opening is irreversible: the form first gets a page that names the consequence; only the
        # post that carries its confirmation acts (and here it is refused: nothing is registered yet).
        r = op.client.post("/operacion/abrir", data={"csrf_token": op.token})
        page = r.get_data(as_text=True)
        assert r.status_code == 200 and "¿Abrir la votación?" in page and "No se puede deshacer" in page
        token = f"abrir:{setup.kit.manifest.election_id}"
        assert f'name="confirmo" value="{token}"' in page
        r = op.client.post("/operacion/abrir", data={"csrf_token": op.token, "confirmo": "abrir:otra-eleccion"})
        assert r.status_code == 200 and "¿Abrir la votación?" in r.get_data(as_text=True)
        r = op.client.post("/operacion/abrir", data={"csrf_token": op.token, "confirmo": token})
        assert r.status_code == 409 and "No se pudo" in r.get_data(as_text=True)
        r = op.client.post("/operacion/abrir", data={"csrf_token": "x" * 43})
        assert r.status_code == 403
        anonymous = setup.app.test_client().get("/operacion")
        assert anonymous.status_code in (302, 303, 401)
    finally:
        setup.kit.close()
