"""Helpers for the consulates' tests: a server with in-person voting at LAX and MAD, their officials,
kiosks enrolled by an official, serving people and voting on a kiosk (Flask test client)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from flask import Flask

from servertools import Browser, Setup, csrf, election_setup, operator_browser, prepare
from sivei.ballot.credential_tokens import TOKEN_HEADER
from sivei_server.db import session_scope
from sivei_server.models import ROLE_CONSULATE, Kiosk, Operator
from sivei_server.passwords import hash_password

# LAX: cap 3, two roll voters registered there; MAD: cap 2, one.
CONSULATES = {"LAX": (3, 2), "MAD": (2, 1)}


def consulate_setup(tmp_path: Path, *, voters: int = 8, **kw: Any) -> Setup:
    setup = election_setup(tmp_path, voters=voters, consulates=CONSULATES, **kw)
    for code in CONSULATES:
        add_official(setup.app, code.lower(), code)
    return setup


def add_official(app: Flask, username: str, consulate: str) -> int:
    with session_scope(app.extensions["sivei_engine"]) as s:
        op = Operator(username=username, role=ROLE_CONSULATE, consulate=consulate,
                      password_hash=hash_password("x" * 16))
        s.add(op)
        s.flush()
        return op.id


def registered_at(setup: Setup, code: str) -> list[str]:
    return [v.voter_id for v in setup.kit.roll if v.consulate == code]


def internet_voters(setup: Setup) -> list[str]:
    return [v.voter_id for v in setup.kit.roll if v.consulate is None]


def official(setup: Setup, code: str) -> Browser:
    return operator_browser(setup.app, code.lower())


def enroll_kiosk(setup: Setup, code: str, name: str) -> Browser:
    """A browser that an official of ``code`` turned into a kiosk named ``name``."""
    b = official(setup, code)
    r = b.client.post("/consulado/quiosco", data={"nombre": name, "csrf_token": b.token})
    assert r.status_code == 303, r.get_data(as_text=True)
    assert r.headers["Location"].endswith("/quiosco")
    b.token = csrf(b.client)
    return b


def kiosk_id(setup: Setup, name: str) -> int:
    with session_scope(setup.engine) as s:
        kiosk = s.query(Kiosk).filter_by(name=name).one()
        return kiosk.id


def form(b: Browser, path: str, **fields: Any) -> Any:
    return b.client.post(path, data={**{k: str(v) for k, v in fields.items()}, "csrf_token": b.token})


def message(html: str) -> str:
    """The official page's message (what was done, or why not)."""
    m = re.search(r'id="mensaje"[^>]*>(.*?)</p>', html, re.S)
    return m.group(1) if m else ""


def serve_registered(setup: Setup, code: str, voter_id: str, kiosk: str) -> Any:
    return form(official(setup, code), "/consulado/atender", votante=voter_id, quiosco=kiosk_id(setup, kiosk))


def serve_unregistered(setup: Setup, code: str, card: str, kiosk: str) -> Any:
    return form(official(setup, code), "/consulado/sin-registro", clave=card, identificacion="si",
                quiosco=kiosk_id(setup, kiosk))


def kiosk_cast(setup: Setup, kiosk: Browser, ballot: bytes, token: str | None = None) -> Any:
    headers = {"X-CSRF-Token": kiosk.token}
    if token is not None:
        headers[TOKEN_HEADER] = token
    return kiosk.client.post("/api/quiosco/votar", data=ballot, content_type="application/json", headers=headers)


def vote_registered_on_kiosk(setup: Setup, kiosk: Browser, voter_id: str) -> Any:
    info = kiosk.client.get("/api/quiosco/votante").get_json()
    assert info["voter_id"] == voter_id and not info["unregistered"]
    token = setup.kit.open_token(voter_id, info["ficha"])
    return kiosk_cast(setup, kiosk, setup.kit.ballot(voter_id), token)


def vote_with_card(setup: Setup, kiosk: Browser, card_credential: str) -> Any:
    manifest = setup.kit.manifest
    assert manifest.in_person is not None
    return kiosk_cast(setup, kiosk, setup.kit.ballot_with(card_credential, manifest.in_person.unregistered_style))


def finish(kiosk: Browser) -> None:
    r = kiosk.client.post("/api/quiosco/terminar", headers={"X-CSRF-Token": kiosk.token})
    assert r.status_code == 200


def sign_log(setup: Setup, code: str) -> bytes:
    """The official downloads the unsigned log and signs it with the consulate's key (as ``sivei
    consulado firmar`` does)."""
    from sivei.ballot.in_person import sign_log_draft

    b = official(setup, code)
    r = b.client.get("/consulado/bitacora.json")
    assert r.status_code == 200, r.get_data(as_text=True)
    envelope = sign_log_draft(json.loads(r.get_data()), setup.kit.consulate_signers[code])
    return json.dumps(envelope.to_json()).encode()


def upload_log(setup: Setup, code: str, data: bytes) -> Any:
    b = official(setup, code)
    return b.upload("/consulado/bitacora", {"bitacora": data})


__all__ = ["CONSULATES", "consulate_setup", "prepare"]
