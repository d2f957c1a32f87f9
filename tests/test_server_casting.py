"""Casting refusals: every bad input gets a clear JSON 4xx, nothing is stored, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from servertools import Setup, election_setup, prepare, stored_counts, voter_browser
from sivei.ballot.credential_tokens import sign_token
from sivei.ballot.credentials import credential_public_key, credential_seed, generate_credential
from sivei.ballot.encrypt import encrypt_ballot, new_ballot_nonce, sign_ballot
from sivei.crypto.ecdsa import SoftwareSigner
from sivei_server.casting import max_ballot_bytes, valid_ballot_size
from sivei_server.db import session_scope
from sivei_server.election import loaded
from sivei_server.models import WebSession, utcnow


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    s = election_setup(tmp_path_factory.mktemp("casting"), voters=8)
    prepare(s)
    yield s
    s.kit.close()


def _voters_by_style(setup: Setup) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for v in setup.kit.roll:
        out.setdefault(setup.kit.manifest.style_for_entity(v.entity).id, []).append(v.voter_id)
    return out


def _refused(setup: Setup, response: object, status: int, code: str | None = None) -> None:
    r = response
    assert r.status_code == status, r.get_data(as_text=True)  # type: ignore[attr-defined]
    body = r.get_json()  # type: ignore[attr-defined]
    assert isinstance(body, dict) and body["message"] and body["message_en"]
    if code is not None:
        assert body["error"] == code, body


def test_refusals_store_nothing(setup: Setup) -> None:
    kit, app = setup.kit, setup.app
    voter = kit.roll[0].voter_id
    b = voter_browser(app, voter)
    before = stored_counts(setup)
    assert before == (0, 0, 1, 0)
    good = kit.ballot(voter)
    obj = json.loads(good)

    _refused(setup, b.post_raw("/api/votar", b"{not json"), 400, "boleta-malformada")
    _refused(setup, b.post_raw("/api/votar", b'{"style": 1}'), 400, "boleta-malformada")
    _refused(setup, b.post_raw("/api/votar", good, "text/plain"), 415)
    dup = good[:-1] + b',"signature":"00"}'
    _refused(setup, b.post_raw("/api/votar", dup), 400, "boleta-malformada")
    _refused(setup, b.post_raw("/api/votar", b"[" * 100_000), 413, "boleta-demasiado-grande")
    padded = good[:-1] + b" " * 2000 + b"}"
    _refused(setup, b.post_raw("/api/votar", padded), 413, "boleta-demasiado-grande")
    nan = good[:-1] + b',"extra":NaN}'
    _refused(setup, b.post_raw("/api/votar", nan), 400, "boleta-malformada")

    # Invalid proof: one response scalar changed.
    proof = json.loads(good)
    sel = proof["contests"][0]["selections"][0]["proof"]
    key = next(k for k in sel if k.startswith("v"))
    sel[key] = format((int(sel[key], 16) + 1) % (1 << 255), "064x")
    _refused(setup, b.post_raw("/api/votar", json.dumps(proof, separators=(",", ":")).encode()), 422,
             "boleta-invalida")
    # Bad signature.
    sig = dict(obj, signature=("1" if obj["signature"][0] != "1" else "2") + obj["signature"][1:])
    _refused(setup, b.post_raw("/api/votar", json.dumps(sig).encode()), 422, "boleta-invalida")
    unsigned = dict(obj, signature="")
    _refused(setup, b.post_raw("/api/votar", json.dumps(unsigned).encode()), 422, "boleta-invalida")
    # The checks after the credential token's, each reached with a token the authority signs for the
    # ballot's credential (as if it had issued it to this voter).
    election = kit.manifest.election_id

    def token_for(body: bytes) -> str:
        credential = bytes.fromhex(json.loads(body)["credential"])
        return sign_token(kit.keys.authority, election, voter, credential).hex()

    own_token = b.credential_token
    # Unlisted credential: a valid ballot signed by a credential the authority never listed.
    cred = generate_credential()
    style = kit.manifest.style_for_entity(kit.roll[0].entity).id
    stranger = sign_ballot(kit.ctx, encrypt_ballot(kit.ctx, style, {}, credential_public_key(election, cred),
                                                   new_ballot_nonce()), credential_seed(election, cred))
    stranger_body = json.dumps(stranger.to_json(kit.ctx.group)).encode()
    b.credential_token = token_for(stranger_body)
    r = b.post_raw("/api/votar", stranger_body)
    _refused(setup, r, 422, "boleta-invalida")
    assert "lista" in r.get_json()["message"]

    # Another ballot style: a voter of another entity's ballot.
    styles = _voters_by_style(setup)
    mine = kit.manifest.style_for_entity(kit.roll[0].entity).id
    other_voter = next(v for s, vs in styles.items() if s != mine for v in vs)
    other_body = kit.ballot(other_voter)
    b.credential_token = token_for(other_body)
    _refused(setup, b.post_raw("/api/votar", other_body), 422, "otro-tipo")

    # Another election: the same manifest, another key ceremony (another H_E).
    from servertools import election_setup as make

    other = make(setup.config.data_dir.parent / "otra", voters=8, roll=False)
    try:
        foreign = other.kit.ballot(voter)
        size_ok = len(foreign) <= max_ballot_bytes(loaded_election(setup), mine, setup.config)
        assert size_ok
        b.credential_token = token_for(foreign)
        _refused(setup, b.post_raw("/api/votar", foreign), 422, "boleta-invalida")
    finally:
        other.kit.close()
    b.credential_token = own_token

    # Missing CSRF token; expired session.
    r = b.client.post("/api/votar", data=good, content_type="application/json")
    assert r.status_code == 403 and r.get_json()["error"] == "csrf"
    with session_scope(setup.engine) as s:
        s.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    _refused(setup, b.post_raw("/api/votar", good), 401, "sesion")
    assert stored_counts(setup) == before

    # The good ballot still goes through afterwards (nothing was half-stored).
    b2 = voter_browser(app, voter)
    ok = b2.post_raw("/api/votar", good)
    assert ok.status_code == 201
    assert stored_counts(setup)[0] == 1


def loaded_election(setup: Setup):  # type: ignore[no-untyped-def]
    with setup.app.app_context(), session_scope(setup.engine) as s:
        return loaded(s, setup.config)


def test_replay_and_size_cap(setup: Setup) -> None:
    kit, app = setup.kit, setup.app
    first, second = kit.roll[1].voter_id, kit.roll[2].voter_id
    body = kit.ballot(first)
    assert voter_browser(app, first).post_raw("/api/votar", body).status_code == 201
    before = stored_counts(setup)
    # Another voter replays a ballot already on the board → 403 (not their credential), nothing stored,
    # voter not flagged; so does a fresh encryption under the first voter's (stolen) credential.
    r = voter_browser(app, second).post_raw("/api/votar", body)
    _refused(setup, r, 403, "credencial-ajena")
    r = voter_browser(app, second).post_raw("/api/votar", kit.ballot(first))
    _refused(setup, r, 403, "credencial-ajena")
    # Even with a token the authority signed for the second voter and the first voter's credential (an
    # authority issuing one credential twice), the board's rules hold: 409, nothing stored.
    shared = voter_browser(app, second)
    shared.credential_token = sign_token(kit.keys.authority, kit.manifest.election_id, second,
                                         bytes.fromhex(json.loads(body)["credential"])).hex()
    _refused(setup, shared.post_raw("/api/votar", body), 409, "boleta-repetida")
    _refused(setup, shared.post_raw("/api/votar", kit.ballot(first)), 409, "credencial-usada")
    assert stored_counts(setup) == before
    # The cap is the exact compact size of a valid ballot of the style plus the margin.
    election = loaded_election(setup)
    style = kit.manifest.style_for_entity(next(v.entity for v in kit.roll if v.voter_id == first)).id
    assert len(body) == valid_ballot_size(election, style)
    assert max_ballot_bytes(election, style, setup.config) == len(body) + setup.config.ballot_size_margin


def test_not_open_yet(tmp_path: Path) -> None:
    s = election_setup(tmp_path, voters=2, opens_in=3600, closes_in=7200)
    try:
        prepare(s)
        voter = s.kit.roll[0].voter_id
        r = voter_browser(s.app, voter).post_raw("/api/votar", s.kit.ballot(voter))
        _refused(s, r, 409, "no-abierta")
        assert stored_counts(s)[0] == 0
    finally:
        s.kit.close()


def test_access_log_holds_no_ballot_data(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    """The access log names method, path, status, sender and time — never a ballot hash, tracking
    code or credential (codes travel in bodies and query strings, which are not logged)."""
    kit, app = setup.kit, setup.app
    voter = kit.roll[3].voter_id
    caplog.set_level("INFO", logger="sivei_server.access")
    r = voter_browser(app, voter).post_raw("/api/votar", kit.ballot(voter))
    assert r.status_code == 201
    receipt = r.get_json()["receipt"]
    public = app.test_client()
    public.get("/api/tablero/buscar", query_string={"codigo": receipt["tracking_code"]})
    public.get("/tablero", query_string={"codigo": receipt["ballot_hash"]})
    public.get("/api/tablero/boleta", query_string={"indice": receipt["index"]})
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "sivei_server.access"]
    assert any("POST /api/votar 201" in line for line in lines)
    credential = json.loads(kit.ballot(voter))["credential"]
    compact = receipt["tracking_code"].replace("-", "")
    for line in lines:
        for secret in (receipt["ballot_hash"], receipt["tracking_code"], compact, credential, receipt["head"]):
            assert secret not in line


# -- issue 7 item 7: a credential belongs to one voter ------------------------------------------------------


def _same_style_pair(setup: Setup) -> tuple[str, str]:
    for voters in _voters_by_style(setup).values():
        if len(voters) >= 2:
            return voters[0], voters[1]
    raise AssertionError("no ballot style with two voters")


def test_issue7_item7_stolen_credential_cast_by_another_logged_in_voter_is_refused(tmp_path: Path) -> None:
    """Issue 7 item 7: a logged-in voter (or a buyer holding logins) casting a credential taken from
    another voter's letter, of the same ballot style, is refused — with their own token, none, the
    owner's token or a token signed by anyone but the authority — and nothing is stored; the owner
    then votes normally. (Before credential tokens the stolen credential's ballot was accepted.)"""
    setup = election_setup(tmp_path, voters=14)
    try:
        prepare(setup)
        kit, app = setup.kit, setup.app
        owner, thief = _same_style_pair(setup)
        stolen_ballot = kit.ballot(owner)  # signed with the owner's private credential
        stolen_pk = bytes.fromhex(json.loads(stolen_ballot)["credential"])
        before = stored_counts(setup)
        b = voter_browser(app, thief)  # holds the thief's own opened token
        _refused(setup, b.post_raw("/api/votar", stolen_ballot), 403, "credencial-ajena")
        b.credential_token = None
        _refused(setup, b.post_raw("/api/votar", stolen_ballot), 400, "ficha")
        b.credential_token = kit.token(owner)  # the owner's token names the owner, not the thief
        _refused(setup, b.post_raw("/api/votar", stolen_ballot), 403, "credencial-ajena")
        b.credential_token = sign_token(SoftwareSigner(), kit.manifest.election_id, thief, stolen_pk).hex()
        _refused(setup, b.post_raw("/api/votar", stolen_ballot), 403, "credencial-ajena")
        b.credential_token = "zz" * 64
        _refused(setup, b.post_raw("/api/votar", stolen_ballot), 400, "ficha")
        assert stored_counts(setup) == before
        # The owner still votes with their own credential; the thief with theirs.
        assert voter_browser(app, owner).post_raw("/api/votar", stolen_ballot).status_code == 201
        assert voter_browser(app, thief).post_raw("/api/votar", kit.ballot(thief)).status_code == 201
    finally:
        setup.kit.close()


def test_a_voter_who_voted_gets_only_their_own_receipt(setup: Setup) -> None:
    """The idempotent retry answers with a receipt only for the ballot under the voter's own
    credential: posting someone else's ballot from the board gives 403, not its signed receipt."""
    kit, app = setup.kit, setup.app
    first, second = kit.roll[4].voter_id, kit.roll[5].voter_id
    body1, body2 = kit.ballot(first), kit.ballot(second)
    assert voter_browser(app, first).post_raw("/api/votar", body1).status_code == 201
    b2 = voter_browser(app, second)
    r = b2.post_raw("/api/votar", body2)
    assert r.status_code == 201
    again = b2.post_raw("/api/votar", body2)
    assert again.status_code == 200 and again.get_json()["receipt"] == r.get_json()["receipt"]
    _refused(setup, b2.post_raw("/api/votar", body1), 403, "credencial-ajena")
