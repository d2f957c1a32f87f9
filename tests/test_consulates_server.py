"""In-person voting at consulates on the server (Flask test client, SQLite, test group): the officials'
page, kiosks, one vote per person across internet, kiosks and consulates, the pools' binding, the
cap, the signed logs, and the closed record that carries them."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from consulatetools import (
    consulate_setup,
    enroll_kiosk,
    finish,
    form,
    kiosk_cast,
    kiosk_id,
    message,
    official,
    registered_at,
    serve_registered,
    serve_unregistered,
    sign_log,
    upload_log,
    vote_registered_on_kiosk,
    vote_with_card,
)
from recordtools import copy_record, read_json, reindex, write_json
from servertools import Setup, operator_browser, prepare, voter_browser
from sivei.ballot.credentials import credential_public_key
from sivei.ballot.in_person import ConsulateLog
from sivei.crypto.ecdsa import SoftwareSigner
from sivei.crypto.envelope import Envelope
from sivei.record.verify import VerifyOptions, verify_record
from sivei_server import election as server_election
from sivei_server import models as server_models
from sivei_server.db import session_scope
from sivei_server.models import KioskSession, ServedVoter, Voter
from sivei_server.simulacro import complete_record

UNREGISTERED = ["SINREG000000000001", "SINREG000000000002", "SINREG000000000003", "SINREG000000000004"]


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Election:
    setup: Setup
    record: Path


@pytest.fixture(scope="module")
def election(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Election]:
    """The whole consulates' journey through the server (asserted step by step), then the close, the
    closed record with the consulates' files, and the key-holders' count: the complete record."""
    clock = Clock()
    tmp = tmp_path_factory.mktemp("consulados")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(server_election, "utcnow", clock.now)
        mp.setattr(server_models, "utcnow", clock.now)
        setup = consulate_setup(tmp)
        try:
            journey(setup)
            yield Election(setup, count(setup, clock, tmp))
        finally:
            setup.kit.close()


def count(setup: Setup, clock: Clock, tmp: Path) -> Path:
    op = operator_browser(setup.app)
    clock.offset = timedelta(hours=2)
    assert op.post_json("/api/operacion/cerrar").status_code == 200
    r = op.client.post("/api/operacion/exportar", headers={"X-CSRF-Token": op.token})
    assert r.status_code == 200
    closed = tmp / "cerrado"
    with tarfile.open(fileobj=io.BytesIO(r.data), mode="r:gz") as tar:
        tar.extractall(closed, filter="data")
    closed_record = next(closed.iterdir())
    assert sorted(p.name for p in (closed_record / "consulados").iterdir()) == [
        "bitacora-LAX.json", "bitacora-MAD.json", "consulados.json"]
    return complete_record(setup.kit, closed_record, tmp / "completo", [1, 2])


def journey(setup: Setup) -> None:
    prepare(setup)
    kit, app = setup.kit, setup.app
    lax_voters, mad_voters = registered_at(setup, "LAX"), registered_at(setup, "MAD")
    internet = [v.voter_id for v in kit.roll if v.consulate is None]
    q1 = enroll_kiosk(setup, "LAX", "LAX-1")
    enroll_kiosk(setup, "LAX", "LAX-2")
    enroll_kiosk(setup, "MAD", "MAD-1")

    # A kiosk with no session: nothing to vote with.
    assert q1.client.get("/api/quiosco/estado").get_json() == {"kiosk": "LAX-1", "consulate": "LAX", "session": None}
    assert q1.client.get("/api/quiosco/votante").status_code == 409
    assert app.test_client().get("/api/quiosco/estado").status_code == 403  # not a kiosk

    # A registered in-person voter, looked up by their voter-ID number: served on LAX-1, votes there.
    a = lax_voters[0]
    page = form(official(setup, "LAX"), "/consulado/buscar", texto=kit.cards[a]).get_data(as_text=True)
    assert "Registrado para votar en este consulado; no ha votado." in page and a in page
    r = serve_registered(setup, "LAX", a, "LAX-1")
    assert r.status_code == 200 and "Sesión emitida en el quiosco «LAX-1»" in message(r.get_data(as_text=True))
    assert q1.client.get("/api/quiosco/estado").get_json()["session"] == {"unregistered": False}
    r = vote_registered_on_kiosk(setup, q1, a)
    assert r.status_code == 201, r.get_json()
    receipt = r.get_json()["receipt"]
    # a lost answer: the same receipt to the same kiosk session
    finish(q1)
    with session_scope(setup.engine) as s:
        voter = s.get(Voter, a)
        assert voter is not None and voter.voted
        assert s.query(KioskSession).count() == 0  # the session (and its ballot hash) is gone
        served = s.query(ServedVoter).filter_by(voter_id=a).one()
        assert served.voted and served.consulate == "LAX"
    assert receipt["tracking_code"]

    # ... and is refused everywhere afterwards: at the consulate and by internet.
    page = form(official(setup, "LAX"), "/consulado/buscar", texto=a).get_data(as_text=True)
    assert "Ya votó en un quiosco del consulado LAX." in page
    b = voter_browser(app, a)
    assert b.get("/api/votante").get_json()["voted"] is True
    assert b.post_raw("/api/votar", kit.ballot(a)).get_json()["error"] == "ya-voto"

    # A registered in-person voter who has not voted cannot vote by internet.
    b = voter_browser(app, lax_voters[1])
    assert b.get("/api/votante").get_json()["error"] == "voto-presencial"
    r = b.post_raw("/api/votar", kit.ballot(lax_voters[1]))
    assert r.status_code == 409 and r.get_json()["error"] == "voto-presencial"

    # An internet voter who voted is refused at the consulate, also as an "unregistered" person.
    v = internet[0]
    b = voter_browser(app, v)
    assert b.post_raw("/api/votar", kit.ballot(v)).status_code == 201
    page = form(official(setup, "LAX"), "/consulado/buscar", texto=kit.cards[v]).get_data(as_text=True)
    assert "Ya votó por internet." in page
    r = serve_unregistered(setup, "LAX", kit.cards[v], "LAX-1")
    assert r.status_code == 409 and "está en la lista nominal del extranjero" in message(r.get_data(as_text=True))
    # Not voted, but registered by internet; registered at another consulate; not on the roll at all.
    assert "Se registró para votar por internet" in form(official(setup, "LAX"), "/consulado/buscar",
                                                        texto=internet[1]).get_data(as_text=True)
    assert "Se registró para votar en el consulado MAD." in form(official(setup, "LAX"), "/consulado/buscar",
                                                                 texto=mad_voters[0]).get_data(as_text=True)
    r = form(official(setup, "LAX"), "/consulado/buscar", texto="NADIE0000000000000")
    assert r.status_code == 404 and "No está en el padrón" in message(r.get_data(as_text=True))
    # a registered voter cannot be served while they have a session; a busy kiosk cannot be given another
    assert serve_registered(setup, "LAX", lax_voters[1], "LAX-1").status_code == 200
    r = serve_registered(setup, "LAX", lax_voters[1], "LAX-2")
    assert r.status_code == 409 and "Ya tiene una sesión en un quiosco" in message(r.get_data(as_text=True))
    r = serve_unregistered(setup, "LAX", UNREGISTERED[0], "LAX-1")
    assert r.status_code == 409 and "está ocupado" in message(r.get_data(as_text=True))
    r = form(official(setup, "LAX"), "/consulado/liberar", quiosco=kiosk_id(setup, "LAX-1"))  # walked away
    assert r.status_code == 200
    with session_scope(setup.engine) as s:
        assert s.query(ServedVoter).filter_by(voter_id=lax_voters[1]).count() == 0  # not served after all

    # An unregistered voter at LAX: a card of LAX's pool, nothing else.
    lax_pool, mad_pool = kit.pools["LAX"], kit.pools["MAD"]
    r = serve_unregistered(setup, "LAX", UNREGISTERED[0], "LAX-1")
    assert r.status_code == 200, message(r.get_data(as_text=True))
    info = q1.client.get("/api/quiosco/votante").get_json()
    assert info["unregistered"] and info["voter_id"] is None and info["ficha"] is None
    assert info["style"] == kit.manifest.in_person.unregistered_style  # type: ignore[union-attr]
    eid = kit.manifest.election_id

    def card(credential_text: str) -> int:
        public = credential_public_key(eid, credential_text).hex()
        r = q1.client.post("/api/quiosco/tarjeta", json={"credential": public}, headers={"X-CSRF-Token": q1.token})
        return int(r.status_code)

    assert card(mad_pool[0]) == 403  # another consulate's card
    assert card(kit.deliveries[internet[2]].credential) == 403  # a voter's own credential
    assert card(lax_pool[0]) == 200
    r = vote_with_card(setup, q1, mad_pool[0])
    assert r.status_code == 403 and r.get_json()["error"] == "tarjeta-ajena"
    r = vote_with_card(setup, q1, kit.deliveries[internet[2]].credential)  # a voter's own credential
    assert r.status_code == 403 and r.get_json()["error"] == "tarjeta-ajena"
    assert kiosk_cast(setup, q1, kit.ballot(internet[2])).status_code == 413  # and their (bigger) ballot
    assert vote_with_card(setup, q1, lax_pool[0]).status_code == 201
    finish(q1)
    # served once: refused again at LAX and at MAD
    r = serve_unregistered(setup, "MAD", UNREGISTERED[0].lower(), "MAD-1")
    assert r.status_code == 409 and "ya fue atendida en el consulado LAX" in message(r.get_data(as_text=True))
    # the cap (3 at LAX): two more, then refused
    for n, number in enumerate(UNREGISTERED[1:3], start=1):
        assert serve_unregistered(setup, "LAX", number, "LAX-1").status_code == 200
        assert vote_with_card(setup, q1, lax_pool[n]).status_code == 201
        finish(q1)
    r = serve_unregistered(setup, "LAX", UNREGISTERED[3], "LAX-1")
    assert r.status_code == 409 and "Se alcanzó el tope de 3 personas" in message(r.get_data(as_text=True))
    page = official(setup, "LAX").get("/consulado").get_data(as_text=True)
    assert '<dd id="sin-registro">3 de 3</dd>' in page

    # The log: signed with LAX's key, exactly the server's; then LAX serves nobody else.
    data = sign_log(setup, "LAX")
    log = json.loads(data)
    assert log["body"]["registered_served"] == 1 and len(log["body"]["unregistered"]) == 3
    assert UNREGISTERED[0] not in data.decode()  # only keyed hashes
    wrong = sign_log(setup, "MAD")  # MAD's log, uploaded by LAX's official
    r = upload_log(setup, "LAX", wrong)
    assert r.status_code == 422
    r = upload_log(setup, "LAX", data)
    assert r.status_code == 200 and "Bitácora firmada recibida" in message(r.get_data(as_text=True))
    r = serve_registered(setup, "LAX", lax_voters[1], "LAX-1")
    assert r.status_code == 409 and "ya se firmó" in message(r.get_data(as_text=True))
    # MAD: one registered voter, then its log.
    mad_kiosk = enroll_kiosk(setup, "MAD", "MAD-2")
    assert serve_registered(setup, "MAD", mad_voters[0], "MAD-2").status_code == 200
    assert vote_registered_on_kiosk(setup, mad_kiosk, mad_voters[0]).status_code == 201
    finish(mad_kiosk)
    assert upload_log(setup, "MAD", sign_log(setup, "MAD")).status_code == 200


def verify(record: Path) -> Any:
    return verify_record(record, VerifyOptions(allow_test_group=True, jobs=1))


def problems(record: Path, check: str) -> list[str]:
    return [f"{p.location}: {p.message}" for p in verify(record).problems if p.check == check]


def test_consulates_serve_once_across_channels_and_reconcile(election: Election) -> None:
    report = verify(election.record)
    assert report.ok, report.format_text()
    facts = report.to_json()["facts"]
    assert facts["counting_policy"] == "one-vote-per-person"
    assert "one_vote_per_person" in facts
    assert facts["consulate_LAX"] == ("credenciales del fondo usadas 3, personas sin registro atendidas 3 (tope 3); "
                                      "boletas de votantes registrados 1, registrados atendidos 1")
    assert facts["consulate_MAD"] == ("credenciales del fondo usadas 0, personas sin registro atendidas 0 (tope 2); "
                                      "boletas de votantes registrados 1, registrados atendidos 1")
    # no voter-ID number, voter id or email is published
    text = "".join(p.read_text(errors="replace") for p in election.record.rglob("*") if p.is_file())
    for number in (*UNREGISTERED, *election.setup.kit.cards.values()):
        assert number not in text
    for v in election.setup.kit.roll:
        assert v.voter_id not in text and v.email not in text


# -- tampering: each new check fails with its message and location ------------------------------------------------


@pytest.fixture
def record(election: Election, tmp_path: Path) -> Path:
    return copy_record(election.record, tmp_path / "registro")


def resign_log(election: Election, record: Path, code: str, body: dict[str, Any],
               signer: SoftwareSigner | None = None) -> None:
    """An attacker with the consulate's key (the official) rewrites its log."""
    from sivei.ballot.in_person import parse_log_body

    ctx = election.setup.kit.ctx
    log = parse_log_body(body, "body")
    key = signer or election.setup.kit.consulate_signers[code]
    envelope = log.sign(key, ctx.manifest.election_id, ctx.election_hash)
    write_json(record, f"consulados/bitacora-{code}.json", envelope.to_json())


def log_body(record: Path, code: str) -> dict[str, Any]:
    return dict(read_json(record, f"consulados/bitacora-{code}.json")["body"])


def test_a_missing_log_fails(election: Election, record: Path) -> None:
    (record / "consulados/bitacora-MAD.json").unlink()
    reindex(record)
    assert problems(record, "consulates.log") == [
        "consulados/bitacora-MAD.json: falta la bitácora firmada del consulado MAD"]


def test_a_log_not_signed_by_the_consulate_fails(election: Election, record: Path) -> None:
    resign_log(election, record, "LAX", log_body(record, "LAX"), SoftwareSigner())
    assert problems(record, "consulates.log") == [
        "consulados/bitacora-LAX.json: bitácora: la firma no es de la llave de bitácora del consulado LAX "
        "(manifiesto)"]
    # an altered body under the old signature fails the same way
    other = copy_record(election.record, record.parent / "otro")
    obj = read_json(other, "consulados/bitacora-LAX.json")
    obj["body"]["registered_served"] = 5
    write_json(other, "consulados/bitacora-LAX.json", obj)
    assert len(problems(other, "consulates.log")) == 1


def test_a_log_of_another_election_fails(election: Election, record: Path) -> None:
    ctx = election.setup.kit.ctx
    log = ConsulateLog("LAX", 1, tuple(bytes.fromhex(h) for h in log_body(record, "LAX")["unregistered"]))
    envelope = log.sign(election.setup.kit.consulate_signers["LAX"], ctx.manifest.election_id, bytes(32))
    write_json(record, "consulados/bitacora-LAX.json", envelope.to_json())
    assert problems(record, "consulates.log") == [
        "consulados/bitacora-LAX.json: bitácora: «previous» no es la huella de esta elección (H_E)"]


def test_pool_ballots_beyond_the_voters_served_fail(election: Election, record: Path) -> None:
    """The official (with the consulate's key) drops a person from the log: three pool credentials were
    used at LAX for two people served."""
    body = log_body(record, "LAX")
    body["unregistered"] = body["unregistered"][:2]
    resign_log(election, record, "LAX", body)
    assert problems(record, "consulates.reconciliation") == [
        "consulados/bitacora-LAX.json: consulado LAX: se usaron 3 credenciales de su fondo y su bitácora firmada "
        "registra 2 personas sin registro atendidas: 1 boletas sin una persona atendida"]
    body = log_body(record, "MAD")
    body["registered_served"] = 0
    resign_log(election, record, "MAD", body)
    assert problems(record, "consulates.reconciliation")[1] == (
        "consulados/bitacora-MAD.json: consulado MAD: 1 boletas de credenciales de sus votantes registrados y su "
        "bitácora firmada registra 0 votantes registrados atendidos")


def test_one_person_served_at_two_consulates_fails(election: Election, record: Path) -> None:
    person = log_body(record, "LAX")["unregistered"][0]
    body = log_body(record, "MAD")
    body["unregistered"] = [person]
    resign_log(election, record, "MAD", body)
    assert problems(record, "consulates.one-person") == [
        f"consulados/bitacora-MAD.json: la persona sin registro {person[:16]}… ya fue atendida en el consulado LAX: "
        "votó dos veces"]


def test_a_log_beyond_the_cap_fails(election: Election, record: Path) -> None:
    body = log_body(record, "MAD")
    body["unregistered"] = sorted(f"{n:064x}" for n in range(3))  # cap 2
    resign_log(election, record, "MAD", body)
    assert problems(record, "consulates.log") == [
        "consulados/bitacora-MAD.json: bitácora: 3 personas sin registro atendidas, más que el tope de 2"]


def test_a_doctored_declaration_fails(election: Election, record: Path) -> None:
    """Moving a used pool credential out of LAX's pool (to hide it) breaks the hash the list signs."""
    declaration = read_json(record, "consulados/consulados.json")
    declaration["consulates"][0]["pool"] = declaration["consulates"][0]["pool"][1:]
    write_json(record, "consulados/consulados.json", declaration)
    found = problems(record, "consulates.declaration")
    assert found[0] == ("consulados/consulados.json: consulados.json: su hash no es el «in_person_hash» que firma la "
                        "lista de credenciales")
    assert "LAX.pool tiene 2 credenciales; el tope del manifiesto es 3" in found[1]
    assert "no están en ningún fondo" in found[-1]
    (record / "consulados/consulados.json").unlink()
    reindex(record)
    assert problems(record, "consulates.declaration") == [
        "consulados/consulados.json: consulados/consulados.json: falta el archivo"]


def test_the_consulates_stage_reads_both_record_formats(election: Election, tmp_path: Path) -> None:
    """The complete record is of format 2 (board.bin); converted to format 1 (board.jsonl) the stage
    finds the same counts, and the same forged log fails the same way."""
    from sivei.record.convert import convert_record

    assert read_json(election.record, "record.json")["version"] == 2 and (election.record / "board.bin").is_file()
    v1 = convert_record(election.record, tmp_path / "v1", 1, allow_test_group=True)
    assert (v1 / "board.jsonl").is_file() and (v1 / "consulados/bitacora-LAX.json").is_file()
    facts = verify(election.record).to_json()["facts"]
    report = verify(v1)
    assert report.ok, report.format_text()
    assert report.to_json()["facts"]["record_version"] == 1
    for code in ("LAX", "MAD"):
        assert report.to_json()["facts"][f"consulate_{code}"] == facts[f"consulate_{code}"]
    body = log_body(v1, "LAX")
    body["unregistered"] = body["unregistered"][:2]
    resign_log(election, v1, "LAX", body)
    assert problems(v1, "consulates.reconciliation") == [
        "consulados/bitacora-LAX.json: consulado LAX: se usaron 3 credenciales de su fondo y su bitácora firmada "
        "registra 2 personas sin registro atendidas: 1 boletas sin una persona atendida"]


def test_an_envelope_that_is_no_log_fails(election: Election, record: Path) -> None:
    obj = read_json(record, "consulados/bitacora-LAX.json")
    envelope = Envelope.from_json(obj)
    assert envelope.type == "consulate-log"
    write_json(record, "consulados/bitacora-LAX.json", {"no": "log"})
    assert len(problems(record, "consulates.log")) == 1
