"""The server's side of credential tokens: the sealed tokens imported with the list (refused when they do
not fit it), each voter served only their own, opening refused while a roll voter has none, and no
table that links a voter to a public credential."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, inspect, select

from servertools import election_setup, operator_browser, prepare, voter_browser
from sivei.ballot.credential_tokens import seal_tokens, unseal_token, verify_token
from sivei.ballot.credentials import credential_public_key
from sivei.crypto.ecdsa import SoftwareSigner
from sivei_server.db import session_scope
from sivei_server.models import SealedToken


def test_sealed_tokens_are_imported_with_the_list(tmp_path: Path) -> None:
    setup = election_setup(tmp_path, voters=4)
    kit = setup.kit
    try:
        op = operator_browser(setup.app)
        assert op.upload("/api/operacion/manifiesto", {"manifiesto": kit.manifest_bytes}).status_code == 200
        files = {"lista": kit.list_bytes, "entradas": kit.entries_bytes}
        r = op.upload("/api/operacion/credenciales", files)
        assert r.status_code == 400 and "fichas" in r.get_json()["message"]
        other_key = seal_tokens(kit.manifest.election_id, kit.deliveries.values(), SoftwareSigner()).to_bytes()
        lines = kit.sealed_bytes.decode().splitlines()
        one_short = "\n".join([lines[0].replace('"count":4', '"count":3'), *lines[1:-1]]).encode() + b"\n"
        for bad, why in ((other_key, "otra llave"), (one_short, "3 fichas y 4 credenciales"),
                         (b"no es json\n", "JSON no válido")):
            r = op.upload("/api/operacion/credenciales", {**files, "fichas": bad})
            assert r.status_code == 422 and r.get_json()["error"] == "fichas", r.get_json()
            assert why in r.get_json()["message"]
        with session_scope(setup.engine) as s:
            assert s.scalars(select(SealedToken)).all() == []
        assert op.upload("/api/operacion/credenciales", {**files, "fichas": kit.sealed_bytes}).status_code == 200
        with session_scope(setup.engine) as s:
            assert len(s.scalars(select(SealedToken)).all()) == 4
        # A new manifest drops them with the list.
        assert op.upload("/api/operacion/manifiesto", {"manifiesto": kit.manifest_bytes}).status_code == 200
        with session_scope(setup.engine) as s:
            assert s.scalars(select(SealedToken)).all() == []
    finally:
        kit.close()


def test_each_voter_gets_their_own_sealed_token_and_opening_needs_them(tmp_path: Path) -> None:
    setup = election_setup(tmp_path, voters=4)
    kit, app = setup.kit, setup.app
    try:
        op = prepare(setup, open_=False)
        # Opening is refused while a voter on the roll has no sealed token.
        missing = kit.roll[2].voter_id
        with session_scope(setup.engine) as s:
            s.execute(delete(SealedToken).where(SealedToken.voter_id == missing))
        r = op.post_json("/api/operacion/abrir")
        assert r.status_code == 409 and r.get_json()["error"] == "fichas"
        assert "1 votantes del padrón no tienen ficha" in r.get_json()["message"]
        with session_scope(setup.engine) as s:
            s.add(SealedToken(voter_id=missing, sealed=kit.sealed_tokens.sealed[missing]))
        assert op.post_json("/api/operacion/abrir").status_code == 200

        election = kit.manifest.election_id
        authority = kit.credential_list.authority_key
        for voter in kit.roll:
            info = voter_browser(app, voter.voter_id).get("/api/votante").get_json()
            assert info["voter_id"] == voter.voter_id and info["csrf"]
            credential = kit.deliveries[voter.voter_id].credential
            token = unseal_token(election, voter.voter_id, credential, bytes.fromhex(info["ficha"]))
            assert verify_token(authority, election, voter.voter_id, credential_public_key(election, credential), token)
        assert app.test_client().get("/api/votante").status_code == 401
    finally:
        kit.close()


def test_no_table_links_a_voter_to_a_public_credential(tmp_path: Path) -> None:
    """After every voter has cast, no row anywhere holds a voter id together with a public credential
    or a token: the ballots' table has no voter column, and the sealed tokens are ciphertexts."""
    setup = election_setup(tmp_path, voters=4)
    kit, app = setup.kit, setup.app
    try:
        prepare(setup)
        for voter in kit.roll:
            r = voter_browser(app, voter.voter_id).post_raw("/api/votar", kit.ballot(voter.voter_id))
            assert r.status_code == 201
        election = kit.manifest.election_id
        secrets_ = {v.voter_id: [credential_public_key(election, kit.deliveries[v.voter_id].credential).hex(),
                                 kit.token(v.voter_id)] for v in kit.roll}
        engine = setup.engine
        with engine.connect() as conn:
            for table in inspect(engine).get_table_names():
                for row in conn.exec_driver_sql(f'SELECT * FROM "{table}"'):
                    text = " ".join(v.hex() if isinstance(v, bytes) else str(v) for v in row)
                    for voter_id, (pk, token) in secrets_.items():
                        assert token not in text, table
                        assert not (voter_id in text and pk in text), table
    finally:
        kit.close()
