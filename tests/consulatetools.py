"""Helpers for the consulates' tests: a server with in-person voting at LAX and MAD, their officials,
kiosks enrolled by an official, serving people and voting on a kiosk (Flask test client)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flask import Flask

from recordtools import chihuahua_only
from servertools import Browser, Setup, csrf, election_setup, operator_browser, prepare
from sivei.ballot.credential_tokens import TOKEN_HEADER
from sivei.ballot.in_person import ConsulateLog
from sivei_server.db import session_scope
from sivei_server.models import ROLE_CONSULATE, Kiosk, Operator
from sivei_server.passwords import hash_password
from sivei_server.simulacro import ElectionKit

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


def channels_kit(consulates: Mapping[str, tuple[int, int]], voters: int = 64) -> ElectionKit:
    """A closed election of CHIH alone (test group) with in-person voting at ``consulates`` (code →
    (cap, roll voters registered there)); the caller closes the kit."""
    from datetime import UTC, datetime, timedelta

    from sivei.crypto.ecdsa import SoftwareSigner
    from sivei.crypto.group import TEST_GROUP
    from sivei_server.simulacro import build_kit

    now = datetime.now(UTC)
    return build_kit(TEST_GROUP, voters, SoftwareSigner().public_key, opens=now - timedelta(hours=2),
                     closes=now - timedelta(hours=1), manifest=chihuahua_only(), consulates=consulates)


def library_record(kit: ElectionKit, tmp: Path, pool_ballots: Mapping[str, int],
                   logs: Mapping[str, ConsulateLog], present: Sequence[int] = (1, 3)) -> Path:
    """A complete record written by the library (no server): every roll voter's ballot, then
    ``pool_ballots[C]`` ballots of consulate C's pool, the declaration and the consulates' ``logs``
    signed by their keys, decrypted by ``present`` (with ``consulados/canales.json``)."""
    from sivei.ballot.board import Board
    from sivei.ballot.encrypt import EncryptedBallot
    from sivei.drill import draft_closing_act
    from sivei.record.writer import add_files, write_closed_record
    from sivei.tally.aggregate import aggregate
    from sivei_server.simulacro import complete_record

    def ballot(data: bytes) -> EncryptedBallot:
        return EncryptedBallot.from_json(kit.ctx.group, json.loads(data))

    manifest = kit.manifest
    assert manifest.in_person is not None and kit.declaration_bytes is not None
    board = Board(kit.ctx, kit.credential_list.styles)
    for v in kit.roll:
        board.cast(ballot(kit.ballot(v.voter_id)))
    for code, n in pool_ballots.items():
        for credential in kit.pools[code][:n]:
            board.cast(ballot(kit.ballot_with(credential, manifest.in_person.unregistered_style)))
    board.close()
    events = board.events
    tally = aggregate(kit.ctx, (e.ballot for e in events if e.ballot is not None))
    closing, _ = draft_closing_act(kit.ctx, events, tally)
    closed = write_closed_record(tmp / "cerrado", kit.ctx, ceremony_id=kit.guardians.ceremony_id, n=kit.guardians.n,
                                 t=kit.guardians.t, rounds=kit.guardians.rounds, credential_list=kit.credential_list,
                                 events=events, tally=tally, opening=kit.opening, closing=closing,
                                 constancia=kit.constancia)
    files = {"consulados/consulados.json": kit.declaration_bytes}
    for code, log in logs.items():
        envelope = log.sign(kit.consulate_signers[code], manifest.election_id, kit.ctx.election_hash)
        files[f"consulados/bitacora-{code}.json"] = json.dumps(envelope.to_json()).encode()
    add_files(closed, files)
    return complete_record(kit, closed, tmp / "completo", list(present))


def upload_log(setup: Setup, code: str, data: bytes) -> Any:
    b = official(setup, code)
    return b.upload("/consulado/bitacora", {"bitacora": data})


__all__ = ["CONSULATES", "consulate_setup", "prepare"]
