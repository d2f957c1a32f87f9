"""Issue 7's findings, each with the test that failed before its fix (the ones that need nginx,
gunicorn and PostgreSQL are in test_issue7_stack.py)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select

from recordtools import as_version, copy_record, read_json, write_json
from servertools import election_setup, make_app, prepare, voter_browser
from sivei import jsonstrict
from sivei.crypto.group import TEST_GROUP
from sivei.drill import DrillOptions, DrillOutcome, run_drill
from sivei.record import layout
from sivei.record.verify import VerifyOptions, verify_record
from sivei_server.auth import accounts
from sivei_server.config import ConfigError, ServerConfig
from sivei_server.db import session_scope
from sivei_server.models import OneTimeCode, Voter
from sivei_server.notify import read_mail_outbox
from sivei_server.proxy import ARRIVAL_HEADER
from test_server_auth import (
    FAST,
    PASSWORD,
    Browser,
    activate_sms,
    add_voter,
    build_app,
    last_sms_code,
    location,
    outbox,
    send_activation,
    voter_row,
)


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return build_app(tmp_path)


# -- item 1: the arrival stamp decides, and only the proxy's ---------------------------------------------------

def test_issue7_item1_a_ballot_counts_by_the_proxys_arrival_stamp(tmp_path: Path) -> None:
    """A ballot stamped by the proxy before the close is accepted even though a worker picks it up
    after the close; the same stamp from anyone but the proxy is ignored."""
    setup = election_setup(tmp_path, voters=4, closes_in=10.0, grace=30.0, proxy_addresses=("10.9.9.9",),
                           trusted_proxies=1)
    try:
        prepare(setup)
        kit = setup.kit
        closes = kit.manifest.voting_closes
        a, b = kit.roll[0].voter_id, kit.roll[1].voter_id
        ba, bb = voter_browser(setup.app, a), voter_browser(setup.app, b)
        stamp = f"{(closes - timedelta(seconds=1)).timestamp():.3f}"
        import time

        time.sleep(max(0.0, (closes - datetime.now(UTC)).total_seconds()) + 0.3)  # now after the close
        from_proxy = ba.client.post("/api/votar", data=kit.ballot(a), content_type="application/json",
                                    headers={"X-CSRF-Token": ba.token, ARRIVAL_HEADER: stamp, **kit.cast_headers(a)},
                                    environ_base={"REMOTE_ADDR": "10.9.9.9"})
        assert from_proxy.status_code == 201, from_proxy.get_json()
        assert from_proxy.get_json()["receipt"]["received_at"] < closes.strftime("%Y-%m-%dT%H:%M:%SZ")
        forged = bb.client.post("/api/votar", data=kit.ballot(b), content_type="application/json",
                                headers={"X-CSRF-Token": bb.token, ARRIVAL_HEADER: stamp, **kit.cast_headers(b)},
                                environ_base={"REMOTE_ADDR": "203.0.113.5"})
        assert forged.status_code == 409 and forged.get_json()["error"] == "votacion-cerrada"
    finally:
        setup.kit.close()


def test_issue7_item1_logged_in_before_the_close_may_finish(tmp_path: Path) -> None:
    """With ``logged_in_finish_minutes`` in the manifest a voter whose session began before the close
    casts after it; a session begun after the close cannot."""
    import dataclasses

    from sivei.ballot.manifest import sample_manifest

    manifest = dataclasses.replace(sample_manifest(), logged_in_finish_minutes=30)
    assert manifest.to_json()["logged_in_finish_minutes"] == 30
    assert "logged_in_finish_minutes" not in sample_manifest().to_json()  # absent when 0: hashes unchanged
    setup = election_setup(tmp_path, voters=4, closes_in=10.0, grace=1.0, manifest=manifest)
    try:
        prepare(setup)
        kit = setup.kit
        a, b = kit.roll[0].voter_id, kit.roll[1].voter_id
        before = voter_browser(setup.app, a)
        import time

        time.sleep(max(0.0, (kit.manifest.voting_closes - datetime.now(UTC)).total_seconds()) + 0.2)
        after = voter_browser(setup.app, b)
        assert before.post_raw("/api/votar", kit.ballot(a)).status_code == 201
        late = after.post_raw("/api/votar", kit.ballot(b))
        assert late.status_code == 409 and late.get_json()["error"] == "votacion-cerrada"
    finally:
        setup.kit.close()


# -- item 2: throttle, never lock; usernames -----------------------------------------------------------------

def test_issue7_item2_dotless_i_is_not_another_spelling_of_a_username(app: Flask) -> None:
    add_voter(app)
    activate_sms(Browser(app), send_activation(app))
    from sqlalchemy import update

    with session_scope(app.extensions["sivei_engine"]) as s:
        s.execute(update(Voter).values(username="V1001"))
    # "vı001".upper() == "VI001": it reached a voter while counting failures under another key. Now a
    # username is ASCII (I and L read as 1, O as 0, as Crockford's alphabet does) and nothing else.
    b = Browser(app)
    assert b.submit("/cuenta/entrar", usuario="vı001", clave=PASSWORD).status_code == 401
    assert b.submit("/cuenta/entrar", usuario="vi001", clave=PASSWORD).status_code == 303


def test_issue7_item2_voters_get_random_usernames_not_their_ids(tmp_path: Path) -> None:
    setup = election_setup(tmp_path, voters=6)
    try:
        with session_scope(setup.engine) as s:
            rows = list(s.scalars(select(Voter)))
        names = {v.username for v in rows}
        assert len(names) == 6 and not names & {v.voter_id for v in rows}
    finally:
        setup.kit.close()


# -- item 3: an authenticator needs the phone ----------------------------------------------------------------

def test_issue7_item3_enrolling_an_app_needs_a_code_sent_to_the_phone(app: Flask) -> None:
    add_voter(app)
    link = send_activation(app)
    b = Browser(app)
    b.get(link)
    b.submit("/cuenta/activar", page=link, t=link.split("t=", 1)[1], digitos="1234")
    r = b.submit("/cuenta/activar/factor", factor="app")
    assert location(r) == "/cuenta/codigo"  # not the QR code: an SMS went to the registered phone
    assert location(b.client.get("/cuenta/activar/app")) == "/cuenta/entrar"
    r = b.submit("/cuenta/codigo", codigo=last_sms_code(app))
    assert location(r) == "/cuenta/activar/app"


# -- item 4: reset-link poisoning ------------------------------------------------------------------------------

def test_issue7_item4_a_forged_host_never_reaches_a_link(app: Flask) -> None:
    """The attacker's whole flow under a forged Host (the form page, its CSRF token, the post) never
    puts that host into the genuine reset mail: refused (400) before any view runs."""
    import re

    add_voter(app)
    activate_sms(Browser(app), send_activation(app))
    before = len(read_mail_outbox(outbox(app)))
    forged = {"Host": "malo.example"}
    c = app.test_client()
    page = c.get("/cuenta/olvide", headers=forged)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    r = c.post("/cuenta/olvide", data={"usuario": "V0001", "csrf_token": token.group(1) if token else ""},
               headers=forged)
    assert page.status_code == 400 and r.status_code == 400
    accounts.flush_resets()
    mails = read_mail_outbox(outbox(app))
    assert len(mails) == before and not any("malo.example" in m.body for m in mails)
    with pytest.raises(ConfigError):
        ServerConfig(production=True, proxy_addresses=("127.0.0.1",))  # production needs SIVEI_PUBLIC_URL
    site = make_app(Path(app.extensions["sivei_config"].data_dir).parent / "otro", public_url="https://votar.example",
                    extra=FAST)
    assert site.test_client().get("/", headers={"Host": "votar.example"}).status_code == 200
    assert site.test_client().get("/", headers={"Host": "malo.example"}).status_code == 400


# -- item 6 ------------------------------------------------------------------------------------------------------

def test_issue7_item6_forgot_password_does_the_same_work_for_unknown_users(app: Flask) -> None:
    add_voter(app)
    activate_sms(Browser(app), send_activation(app))
    engine = app.extensions["sivei_engine"]
    counts: list[int] = []
    statements: list[list[str]] = []

    for name in ("V0001", "NADIE"):
        b = Browser(app)
        b.get("/cuenta/olvide")
        seen: list[str] = []

        me = threading.get_ident()

        def count(*args: Any, seen: list[str] = seen, me: int = me) -> None:
            if threading.get_ident() == me:  # the request's own statements (the mail is sent later, apart)
                seen.append(str(args[2])[:60])

        event.listen(engine, "before_cursor_execute", count)
        try:
            b.submit("/cuenta/olvide", usuario=name)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        counts.append(len(seen))
        statements.append(seen)
    assert counts[0] == counts[1], statements  # no extra statement (and no mail) in the request for a real voter
    accounts.flush_resets()


def test_issue7_item6_nul_bytes_and_huge_indexes_are_clean_refusals(tmp_path: Path) -> None:
    """On PostgreSQL, where they gave 500s: a NUL byte in a text column and an index beyond a 32-bit
    integer column are errors of the database, so they must be refused before reaching it."""
    from sivei_server.simulacro import ScratchDatabase
    from test_server_auth_postgres import _admin_url, _reachable

    admin = _admin_url()
    if not _reachable(admin):
        pytest.skip(f"PostgreSQL is not reachable at {admin}; run .ci/postgres.sh")
    scratch = ScratchDatabase(admin)
    app = make_app(tmp_path, database_url=scratch.create(), extra=FAST)
    try:
        b = Browser(app)
        for name in ("V\x00001", "\x00", "V0001\x00"):
            assert b.submit("/cuenta/entrar", usuario=name, clave="x\x00").status_code == 401
            assert Browser(app).submit("/cuenta/olvide", usuario=name).status_code in (200, 303)
        c = app.test_client()
        for q in ("2147483648", "99999999999", "-99999999999", "1e9", "x"):
            assert c.get(f"/api/tablero/boleta?indice={q}").status_code in (400, 404)
            assert c.get(f"/api/tablero/eventos?desde={q}").status_code in (200, 400)
            assert c.get(f"/tablero?pagina={q}").status_code in (200, 400)
    finally:
        app.extensions["sivei_engine"].dispose()
        scratch.drop()


def test_issue7_item6_secrets_at_rest(app: Flask) -> None:
    add_voter(app)
    activate_sms(Browser(app), send_activation(app))
    code = last_sms_code(app)
    with session_scope(app.extensions["sivei_engine"]) as s:
        stored = list(s.scalars(select(OneTimeCode.code_hash)))
    assert stored and all(h.startswith("hmac$") for h in stored)
    # A code is not recoverable from the database alone: the MAC key is outside it.
    import hashlib

    salt = stored[-1].split("$")[1]
    assert hashlib.sha256((salt + code).encode()).hexdigest() not in stored[-1]
    v = voter_row(app)
    assert v.totp_secret is None  # an SMS voter has none; the app case is in test_server_auth


def test_issue7_item6_file_outboxes_need_the_loud_development_flag(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    from sivei_server.notify import Notifier, NotifyError

    with pytest.raises(NotifyError):
        Notifier.from_config(ServerConfig(data_dir=tmp_path))
    caplog.set_level("WARNING")
    Notifier.from_config(ServerConfig(data_dir=tmp_path, extra={"buzon_desarrollo": True}))
    assert any("MODO DE DESARROLLO" in r.getMessage() for r in caplog.records)


# -- item 8: the record -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> DrillOutcome:
    out = tmp_path_factory.mktemp("issue7") / "record"
    return run_drill(DrillOptions(group=TEST_GROUP, voters=4, challenges=0, output=out, seed=3, tokens=False),
                     say=lambda _m: None)


def _failed(record: Path) -> dict[str, int]:
    return verify_record(record, VerifyOptions(allow_test_group=True, jobs=1)).failed_checks()


def test_issue7_item8_duplicate_json_keys_are_refused(drill: DrillOutcome, tmp_path: Path) -> None:
    with pytest.raises(json.JSONDecodeError):
        jsonstrict.loads('{"a": 1, "a": 2}')
    record = as_version(copy_record(drill.record, tmp_path / "r"), 1)  # the JSON form of the board
    board = record / layout.BOARD_JSONL
    lines = board.read_text().splitlines()
    i = next(k for k, line in enumerate(lines) if '"type":"ballot"' in line)
    lines[i] = lines[i][:-1] + ',"type":"ballot"}'  # the same key twice: last one wins in a lax parser
    board.write_text("\n".join(lines) + "\n")
    from recordtools import reindex

    reindex(record)
    assert _failed(record)


def test_issue7_item8_opening_acts_credential_list_hash_is_compared(drill: DrillOutcome, tmp_path: Path) -> None:
    record = copy_record(drill.record, tmp_path / "r")
    act = read_json(record, layout.OPENING_ACT)
    act["body"]["credential_list_hash"] = "ab" * 32
    write_json(record, layout.OPENING_ACT, act)
    report = verify_record(record, VerifyOptions(allow_test_group=True, jobs=1))
    assert any(p.check == "acts.opening.content" and "credential_list_hash" in p.location for p in report.problems)


def test_issue7_item8_closed_at_is_compared_as_an_instant(drill: DrillOutcome, tmp_path: Path) -> None:
    from sivei.record.acts import parse_instant

    assert parse_instant("2027-06-02T24:00:00Z") is None
    record = copy_record(drill.record, tmp_path / "r")
    act = read_json(record, layout.CLOSING_ACT)
    # Sorts after any "2..." string, so a string comparison took it for a later instant.
    act["body"]["closed_at"] = "9999-99-99T99:99:99Z"
    write_json(record, layout.CLOSING_ACT, act)
    report = verify_record(record, VerifyOptions(allow_test_group=True, jobs=1))
    assert any(p.check == "acts.closing.content" and "closed_at" in p.location for p in report.problems)


def test_issue7_item8_no_receipt_of_another_persons_ballot_and_no_seconds_on_the_board(tmp_path: Path) -> None:
    setup = election_setup(tmp_path, voters=8)
    try:
        prepare(setup)
        kit = setup.kit
        style = {v.voter_id: kit.manifest.style_for_entity(v.entity).id for v in kit.roll}
        a = kit.roll[0].voter_id
        b = next(v for v in style if v != a and style[v] == style[a])  # same style: same size
        body = kit.ballot(a)
        assert voter_browser(setup.app, a).post_raw("/api/votar", body).status_code == 201
        other = voter_browser(setup.app, b)
        assert other.post_raw("/api/votar", kit.ballot(b)).status_code == 201
        stolen = other.post_raw("/api/votar", body)  # another voter's ballot, copied from the board
        # Refused before any receipt is looked up: its credential is not this voter's (credential token).
        assert stolen.status_code == 403 and "receipt" not in stolen.get_json()
        # Even with a token naming this voter and the other's credential (an authority issuing one
        # credential twice), a voter who has voted gets no receipt of a ballot their session did not
        # cast: the receipt (with its arrival time) goes only to the session that cast it.
        from sivei.ballot.credential_tokens import sign_token

        other.credential_token = sign_token(kit.keys.authority, kit.manifest.election_id, b,
                                            bytes.fromhex(json.loads(body)["credential"])).hex()
        copied = other.post_raw("/api/votar", body)
        assert copied.status_code == 409 and "receipt" not in copied.get_json()
        events = setup.app.test_client().get("/api/tablero/eventos").get_json()["events"]
        assert all("at" not in e for e in events if e["type"] == "ballot")
        assert all("at" in e for e in events if e["type"] != "ballot")
    finally:
        setup.kit.close()
