"""In-person voting at consulates on the server (Flask test client, SQLite, test group): the officials'
page, kiosks, one vote per person across internet, kiosks and consulates, the pools' binding, the
cap, the signed logs, and the closed record that carries them."""

from __future__ import annotations

import json
from pathlib import Path

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
from servertools import prepare, voter_browser
from sivei.ballot.credentials import credential_public_key
from sivei_server.db import session_scope
from sivei_server.models import KioskSession, ServedVoter, Voter

UNREGISTERED = ["SINREG000000000001", "SINREG000000000002", "SINREG000000000003", "SINREG000000000004"]


def test_consulates_serve_once_across_channels_and_reconcile(tmp_path: Path) -> None:
    setup = consulate_setup(tmp_path)
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
