"""``sivei simulacro --http``: the drill over real HTTP.

The key-holders' and the credential authority's parts are the library drill's phases (software keys
or SoftHSM2 tokens, ``sivei.drill``); the server is this package, started on a free loopback port
(werkzeug in a thread, or any URL given); voters and the operator go through the real endpoints:

1. an election kit under a drill's ids (``simulacro-…``, ``sivei.election_kind``): manifest (voting
   window around now), roll, credentials, key ceremony, and the
   opening act signed by every key-holder with the SERVER's receipt key;
2. the operator logs in, loads the manifest, the credential list and the roll, sends the activation
   links, registers the opening act and opens;
3. N voters activate their accounts, fetch the booth context and their ballot style, encrypt and sign with the
   library (the booth does the same in JavaScript), cast, and keep their receipts; one retries;
4. at the close instant the server closes the board itself; the operator exports the closed
   record; the key-holders sign the closing act and decrypt (library phases); the operator imports
   the completed record and publishes it (refused unless it verifies);
5. ``sivei verificar`` on the published record, with every receipt.

Voters and the operator go through the real authentication flows (``sivei_server.auth``): the
operator logs in with password and TOTP, imports the roll and emails the activation links (file
outbox); each voter opens their link, confirms the last 4 digits of their phone, types the SMS code
(file outbox) and chooses a password. (argon2id runs at its lowest cost in the drill; the unit tests'
TEST-ONLY login helpers are not used here.)
"""

from __future__ import annotations

import http.cookiejar
import io
import json
import random
import secrets
import shutil
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sivei.ballot.board import EVENT_CLOSE, BoardEvent
from sivei.ballot.context import ElectionContext
from sivei.ballot.credential_tokens import TOKEN_HEADER, SealedTokens, seal_tokens, unseal_token
from sivei.ballot.credentials import CredentialList, Delivery, RollEntry, issue_credentials, synthetic_roll
from sivei.ballot.credentials import credential_public_key as public_key_of
from sivei.ballot.credentials import credential_seed as seed_of
from sivei.ballot.encrypt import encrypt_ballot, new_ballot_nonce, sign_ballot
from sivei.ballot.in_person import InPersonDeclaration, with_consulates
from sivei.ballot.manifest import Manifest, parse_manifest_bytes, sample_manifest
from sivei.crypto.ecdsa import Signer, SoftwareSigner
from sivei.crypto.group import Group
from sivei.drill import BoardOnDisk, DrillGuardians, DrillKeys, count_tally, in_process_ceremony, write_record
from sivei.election_kind import banner, derived_manifest
from sivei.integrity import IntegrityConstancia, installation_constancia
from sivei.record import layout
from sivei.record.acts import SignedAct, opening_act
from sivei.record.board_file import BoardFileWriter, iter_board
from sivei.record.ceremony_io import ceremony_json
from sivei.record.verify import VerifyOptions, verify_record
from sivei.record.writer import add_files
from sivei.tally.aggregate import EncryptedTally, TallyAccumulator
from sivei.tally.channels import CHANNELS_FILE, ChannelSplit, channels_session_id, split_channels_json
from sivei.tally.decrypt import decrypt_tally_share, guardian_name, parse_guardian_decryption

Say = Callable[[str], None]


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ElectionKit:
    """Everything the people around the server produce before opening (drills and tests)."""

    manifest: Manifest
    manifest_bytes: bytes
    roll: list[RollEntry]
    deliveries: dict[str, Delivery]
    credential_list: CredentialList
    list_bytes: bytes
    entries_bytes: bytes
    ctx: ElectionContext
    guardians: DrillGuardians
    ceremony_bytes: bytes
    opening: SignedAct
    act_bytes: bytes
    constancia: IntegrityConstancia
    keys: DrillKeys
    sealed_tokens: SealedTokens
    phones: dict[str, str] = field(default_factory=dict)
    # In-person voting at consulates: each consulate's pool (formatted credentials, as printed on its
    # cards), the authority's declaration (consulados.json), the consulates' log keys, and each voter's
    # voter-ID number.
    pools: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    declaration_bytes: bytes | None = None
    consulate_signers: Mapping[str, Signer] = field(default_factory=dict)
    cards: dict[str, str] = field(default_factory=dict)

    def close(self) -> None:
        self.keys.close()

    @property
    def sealed_bytes(self) -> bytes:
        """``sealed-tokens.jsonl``: what the operator imports with the credential list."""
        return self.sealed_tokens.to_bytes()

    def open_token(self, voter_id: str, ficha_hex: str) -> str:
        """What the booth does with ``/api/votante``'s ``ficha``: open it with the voter's credential;
        the token's hex goes in the ``X-Credential-Token`` header beside the ballot."""
        credential = self.deliveries[voter_id].credential
        return unseal_token(self.manifest.election_id, voter_id, credential, bytes.fromhex(ficha_hex)).hex()

    def token(self, voter_id: str) -> str:
        """The voter's opened credential token (hex), from the kit's own sealed copy."""
        return self.open_token(voter_id, self.sealed_tokens.sealed[voter_id.upper()].hex())

    def cast_headers(self, voter_id: str) -> dict[str, str]:
        return {TOKEN_HEADER: self.token(voter_id)}

    def ballot(self, voter_id: str, choices: Mapping[str, str] | None = None, *,
               rng: random.Random | None = None) -> bytes:
        """A signed ballot of this voter as compact JSON (what the booth posts)."""
        delivery = self.deliveries[voter_id]
        style = self.manifest.style_for_entity(delivery.entity).id
        return self.ballot_with(delivery.credential, style, choices, rng=rng)

    def ballot_with(self, credential: str, style: str, choices: Mapping[str, str] | None = None, *,
                    rng: random.Random | None = None) -> bytes:
        """A ballot of ``style`` signed with ``credential`` (a voter's, or a consulate pool's card)."""
        manifest = self.manifest
        if choices is None:
            rng = rng or random.Random()  # noqa: S311 - simulated choices
            choices = {c.id: rng.choice(c.options).id for _, c in manifest.style_contests(style)}
        public = public_key_of(manifest.election_id, credential)
        seed = seed_of(manifest.election_id, credential)
        ballot = sign_ballot(self.ctx, encrypt_ballot(self.ctx, style, choices, public, new_ballot_nonce()), seed)
        return json.dumps(ballot.to_json(self.ctx.group), separators=(",", ":")).encode()


def build_kit(group: Group, voters: int, receipt_key: bytes, *, opens: datetime, closes: datetime,
              guardians: int = 3, threshold: int = 2, tokens: bool = False, seed: int = 0,
              manifest: Manifest | None = None, consulates: Mapping[str, tuple[int, int]] | None = None
              ) -> ElectionKit:
    """``consulates``: in-person voting at these consulates, code → (cap of unregistered voters, roll
    voters registered there: the first ones of the roll, in this order)."""
    signers: dict[str, Signer] = {}
    chosen = manifest or sample_manifest()
    if consulates:
        signers = {code: SoftwareSigner() for code in consulates}
        chosen = with_consulates(chosen, [(code, f"Consulado de México en {code}", cap, signers[code].public_key)
                                          for code, (cap, _) in consulates.items()])
    base = chosen.to_json()
    base["voting_opens"], base["voting_closes"] = _utc(opens), _utc(closes)
    manifest_bytes = json.dumps(base, ensure_ascii=False, indent=1).encode()
    manifest = parse_manifest_bytes(manifest_bytes, "manifest.json")
    roll = synthetic_roll(manifest, voters, seed=seed)
    if consulates:
        codes = [code for code, (_, n) in consulates.items() for _ in range(n)]
        roll = [replace(v, consulate=codes[k]) if k < len(codes) else v for k, v in enumerate(roll)]
    keys = DrillKeys(guardians, tokens=tokens)
    try:
        issued = issue_credentials(manifest, roll, keys.authority, retain=False)
        sealed = seal_tokens(manifest.election_id, issued.deliveries, keys.authority)
        with tempfile.TemporaryDirectory(prefix="sivei-kit-") as tmp:
            issued.credential_list.write(tmp)
            list_bytes = Path(tmp, "credential-list.json").read_bytes()
            entries_bytes = Path(tmp, "credentials.jsonl").read_bytes()
        ctx, drill_guardians, outcome = in_process_ceremony(group, manifest, keys, guardians, threshold,
                                                            issued.credential_list)
        ceremony_id = drill_guardians.ceremony_id
        constancia = installation_constancia()
        act = opening_act(ctx, credential_list=issued.credential_list, ceremony_id=ceremony_id, n=guardians,
                          t=threshold, rounds=drill_guardians.rounds, signing_keys=outcome.signing_keys,
                          receipt_key=receipt_key, integrity_digest=constancia.digest)
        for i, signer in enumerate(keys.guardian_signers, start=1):
            act = act.signed_by(signer, guardian_name(i))
    except BaseException:
        keys.close()
        raise
    ceremony_bytes = json.dumps(ceremony_json(ceremony_id, guardians, threshold, drill_guardians.rounds)).encode()
    phones = {v.voter_id: f"+1555{k:07d}" for k, v in enumerate(roll)}
    declaration = (json.dumps(issued.declaration.to_json(), indent=1).encode()
                   if issued.declaration is not None else None)
    cards = {v.voter_id: f"VOTANT{k:012d}" for k, v in enumerate(roll)}
    return ElectionKit(manifest, manifest_bytes, roll, {d.voter_id: d for d in issued.deliveries},
                       issued.credential_list, list_bytes, entries_bytes, ctx, drill_guardians, ceremony_bytes, act,
                       json.dumps(act.to_json()).encode(), constancia, keys, sealed, phones, issued.pools, declaration,
                       signers, cards)


def complete_record(kit: ElectionKit, closed_record: Path, output: Path, present: Sequence[int]) -> Path:
    """The key-holders' part after the close (library drill phases): decrypt the server's closed
    board with the ``present`` key-holders, sign the closing act, write the complete record.

    The board is read once, streamed into a board file of the current record format beside the
    output (moved into the record) while the tally is accumulated — and, with in-person voting, the
    consulados channel's aggregates apart (``ctx.in_person``) — so no board is held in memory."""
    ctx = kit.ctx
    if kit.declaration_bytes is not None:
        declaration = InPersonDeclaration.from_json(json.loads(kit.declaration_bytes))
        ctx = replace(ctx, in_person=frozenset(declaration.channels()))
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.tablero-", dir=output.parent))
    try:
        board_path = staging / layout.board_name(layout.VERSION)
        acc = TallyAccumulator(ctx)
        last: BoardEvent | None = None
        with BoardFileWriter(board_path, ctx) as board:
            for _, event, _ in iter_board(layout.RecordReader(closed_record), ctx):
                board.write(event)
                if event.ballot is not None:
                    acc.add(event.ballot)
                last = event
        if last is None or last.type != EVENT_CLOSE:
            raise RuntimeError("the exported board is not closed")
        counted = count_tally(ctx, acc.result(), kit.guardians, present)
        full = write_record(output, ctx, kit.guardians, kit.credential_list, BoardOnDisk(board_path, last), counted,
                            kit.opening, kit.constancia)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # The consulates' files the server put in the closed record (the declaration, the signed logs), and
    # the results per channel where the 30-ballot rule allows them (docs/protocol.md §20.5).
    from sivei_server.consulates import RECORD_DIR

    folder = closed_record / RECORD_DIR
    if folder.is_dir():
        files = {f"{RECORD_DIR}/{p.name}": p.read_bytes() for p in sorted(folder.iterdir())}
        consulados = acc.channel_result()
        if consulados is not None:
            files[f"{RECORD_DIR}/{CHANNELS_FILE}"] = json.dumps(
                count_channels(kit, ctx, counted.tally, consulados, present, counted.counts), indent=1).encode()
        add_files(full, files)
    return full


def count_channels(kit: ElectionKit, ctx: ElectionContext, combined: EncryptedTally, consulados: EncryptedTally,
                   present: Sequence[int], counts: Mapping[tuple[str, str], Sequence[int]]) -> dict[str, Any]:
    """The key-holders' part for the results per channel: from the combined and the in-person
    ballots' aggregates, the cells the rule lets be split, their decryption by the ``present``
    key-holders (``canales.json``), as the vault opening does it (``sivei boveda``)."""
    channels = ChannelSplit.of(combined, consulados)
    session_id = channels_session_id(f"{ctx.manifest.election_id}-boveda-1")
    guardians = kit.guardians
    envelopes = [decrypt_tally_share(ctx, channels.split, guardian=i, secret_share=guardians.secret_share(i),
                                     guardian_key=guardians.guardian_keys[i - 1], signer=guardians.signers[i - 1],
                                     ceremony_id=session_id) for i in present] if channels.split.entries else []
    decryptions = [parse_guardian_decryption(ctx, env, env.sender) for env in envelopes]
    return split_channels_json(ctx, channels, session_id, decryptions, n=guardians.n, t=guardians.t,
                               combined_counts=counts)


def tar_gz(directory: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(directory, arcname=directory.name)
    return buf.getvalue()


# -- a small HTTP client (cookies, CSRF, JSON, multipart) -------------------------------------------

class HttpError(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:300]!r}")
        self.status = status
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """One browser: its own cookies and CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = ""

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None,
                timeout: float = 120, headers: Mapping[str, str] | None = None
                ) -> tuple[int, bytes, Mapping[str, str]]:
        req = urllib.request.Request(self.base + path, data=body, method=method)  # noqa: S310 - loopback URL
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        if content_type:
            req.add_header("Content-Type", content_type)
        if self.csrf and method != "GET":
            req.add_header("X-CSRF-Token", self.csrf)
        req.add_header("Accept", "application/json")
        try:
            with self.opener.open(req, timeout=timeout) as resp:
                return resp.status, resp.read(), dict(resp.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers)

    def fetch_csrf(self) -> str:
        _status, body, _ = self.request("GET", "/", None)
        text = body.decode()
        marker = 'name="csrf-token" content="'
        start = text.index(marker) + len(marker)
        self.csrf = text[start:text.index('"', start)]
        return self.csrf

    def json(self, method: str, path: str, obj: Any = None, *, expect: Sequence[int] = (200, 201)) -> Any:
        body = None if obj is None else json.dumps(obj).encode()
        status, data, _ = self.request(method, path, body, "application/json" if body is not None else None)
        if status not in expect:
            raise HttpError(status, data)
        return json.loads(data) if data else None

    def post_raw(self, path: str, body: bytes, content_type: str = "application/json",
                 headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
        status, data, _ = self.request("POST", path, body, content_type, headers=headers)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data

    def upload(self, path: str, files: Mapping[str, bytes], fields: Mapping[str, str] | None = None,
               *, expect: Sequence[int] = (200,)) -> Any:
        boundary = uuid.uuid4().hex
        parts: list[bytes] = []
        for name, value in (fields or {}).items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        for name, content in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
                         f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        status, data, _ = self.request("POST", path, b"".join(parts), f"multipart/form-data; boundary={boundary}")
        if status not in expect:
            raise HttpError(status, data)
        return json.loads(data)

    def page(self, path: str) -> tuple[int, str, str]:
        """GET a page as a browser would (redirects followed): status, final URL, HTML."""
        req = urllib.request.Request(self.base + path)  # noqa: S310 - loopback URL
        try:
            with self.opener.open(req, timeout=60) as resp:
                return resp.status, resp.url, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.url, exc.read().decode("utf-8", "replace")

    def submit(self, path: str, fields: Mapping[str, str], *, page: str | None = None) -> tuple[int, str, str]:
        """Post a form as a browser would: the page first (for its CSRF field), then the form."""
        import re
        import urllib.parse

        _, _, html = self.page(page or path)
        match = re.search(r'name="csrf_token" value="([^"]+)"', html)
        if match is None:
            raise RuntimeError(f"no form with a CSRF token at {page or path}")
        body = urllib.parse.urlencode({"csrf_token": match.group(1), **fields}).encode()
        req = urllib.request.Request(self.base + path, data=body)  # noqa: S310 - loopback URL
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self.opener.open(req, timeout=60) as resp:
                return resp.status, resp.url, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.url, exc.read().decode("utf-8", "replace")

    def download(self, method: str, path: str) -> bytes:
        status, data, _ = self.request(method, path, b"" if method == "POST" else None)
        if status != 200:
            raise HttpError(status, data)
        return data


def login_voter(base: str, voter_id: str) -> Client:
    c = Client(base)
    c.fetch_csrf()
    c.csrf = c.json("POST", "/api/prueba/sesion", {"voter_id": voter_id})["csrf"]
    return c


def login_operator(base: str, username: str) -> Client:
    c = Client(base)
    c.fetch_csrf()
    c.csrf = c.json("POST", "/api/prueba/sesion-operador", {"username": username})["csrf"]
    return c


def operator_login(base: str, username: str, password: str, totp_secret: str) -> Client:
    """The operator's real login: user and password, then the authenticator's code."""
    import pyotp

    c = Client(base)
    status, url, _ = c.submit("/operacion/entrar", {"usuario": username, "clave": password})
    if not url.endswith("/operacion/codigo"):
        raise RuntimeError(f"operator login refused (HTTP {status})")
    status, url, _ = c.submit("/operacion/codigo", {"codigo": pyotp.TOTP(totp_secret).now()})
    if status != 200 or not url.rstrip("/").endswith("/operacion"):
        raise RuntimeError(f"operator code refused (HTTP {status}, {url})")
    c.fetch_csrf()
    return c


def roll_csv(kit: ElectionKit) -> bytes:
    lines = ["id_votante,entidad,correo,celular"]
    lines += [f"{v.voter_id},{v.entity},{v.email},{kit.phones[v.voter_id]}" for v in kit.roll]
    return ("\n".join(lines) + "\n").encode()


def _latest(items: Sequence[Any], to: str) -> Any:
    found = [i for i in items if i.to.strip().lower() == to.strip().lower()]
    if not found:
        raise RuntimeError(f"nothing was sent to {to}")
    return found[-1]


def voter_activate(base: str, kit: ElectionKit, voter_id: str, mail_outbox: Path, sms_outbox: Path,
                   password: str) -> Client:
    """The voter's real first login: the emailed activation link, the last 4 digits of the phone,
    an SMS code, a new password. The voter ends logged in."""
    import re

    from sivei_server.notify import read_mail_outbox, read_sms_outbox

    voter = next(v for v in kit.roll if v.voter_id == voter_id)
    mail = _latest(read_mail_outbox(mail_outbox), voter.email)
    match = re.search(r"https?://[^/\s]+(/cuenta/activar\?t=[A-Za-z0-9_\-]+)", mail.body)
    if match is None:
        raise RuntimeError(f"no activation link in the mail to {voter.email}")
    link = match.group(1)
    c = Client(base)
    phone = kit.phones[voter_id]
    digits = "".join(ch for ch in phone if ch.isdigit())[-4:]
    c.submit("/cuenta/activar", {"t": link.split("t=", 1)[1], "digitos": digits}, page=link)
    status, url, _ = c.submit("/cuenta/activar/factor", {"factor": "sms"})
    if not url.endswith("/cuenta/codigo"):
        raise RuntimeError(f"{voter_id}: activation stopped at {url} (HTTP {status})")
    sms = _latest(read_sms_outbox(sms_outbox), phone)
    code = re.search(r"\b(\d{6})\b", sms.body)
    if code is None:
        raise RuntimeError(f"no code in the SMS to {phone}")
    status, url, _ = c.submit("/cuenta/codigo", {"codigo": code.group(1)})
    status, url, _ = c.submit("/cuenta/clave", {"clave": password, "confirmacion": password})
    if status != 200:
        raise RuntimeError(f"{voter_id}: password step refused (HTTP {status}, {url})")
    c.fetch_csrf()
    info = c.json("GET", "/api/votante")
    if info.get("voted") is not False:
        raise RuntimeError(f"{voter_id}: unexpected voter state {info}")
    return c


def operator_prepare(op: Client, kit: ElectionKit, *, roll: bool = False) -> dict[str, Any]:
    """Load manifest and credentials (and, with ``roll``, import the roll and email the activation
    links), register the opening act, open. Returns the open answer."""
    op.upload("/api/operacion/manifiesto", {"manifiesto": kit.manifest_bytes})
    op.upload("/api/operacion/credenciales", {"lista": kit.list_bytes, "entradas": kit.entries_bytes,
                                              "fichas": kit.sealed_bytes})
    if roll:
        op.upload("/api/operacion/padron", {"padron": roll_csv(kit)})
        op.json("POST", "/api/operacion/padron/notificar")
    op.upload("/api/operacion/acta-inicio", {"ceremonia": kit.ceremony_bytes, "acta": kit.act_bytes,
                                             "constancia": kit.constancia.dumps().encode()})
    result: dict[str, Any] = op.json("POST", "/api/operacion/abrir")
    return result


@dataclass
class HttpDrillOptions:
    group: Group
    voters: int = 20
    guardians: int = 3
    threshold: int = 2
    output: Path = Path("simulacro-http")
    url: str | None = None
    tokens: bool = False
    seed: int | None = None
    window_seconds: float = 0.0
    """Seconds the voting window stays open after the kit is ready; 0: long enough for every voter."""


def _serve(app: Any) -> tuple[Any, threading.Thread, str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="sivei-servidor", daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.server_port}"


def run_http_drill(options: HttpDrillOptions, say: Say = print) -> Path:
    """Run the whole election through a server on loopback; returns the published record."""
    import logging

    from sivei_server.app import create_app
    from sivei_server.config import ServerConfig
    from sivei_server.db import make_engine, session_scope
    from sivei_server.migrate import upgrade
    from sivei_server.models import ROLE_ADMIN, Operator
    from sivei_server.passwords import hash_password
    from sivei_server.receipt_key import create_key_file, default_key_file
    from sivei_server.secrets_key import operator_account, secrets_key

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="sivei-simulacro-http-"))
    rng = random.Random(options.seed)  # noqa: S311 - simulated choices
    try:
        # A drill: argon2 at its lowest cost and no per-address limit (every voter is 127.0.0.1).
        config = ServerConfig(data_dir=work / "servidor", cookie_secure=False,
                              allow_test_group=options.group.name != "eg2-baseline", close_grace_seconds=1.0,
                              extra={"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1,
                                     "ip_limit": 1_000_000, "buzon_desarrollo": True})
        engine = make_engine(config)
        upgrade(engine)
        receipt_key = create_key_file(default_key_file(config))
        # The close instant is fixed in the manifest before the ceremony: leave time for every voter to
        # activate their account and cast (about 0.9 s each on the test group here, 2 s on the
        # production group), then the drill waits for the close.
        per_voter = 1.5 if options.group.name != "eg2-baseline" else 4.0
        window = options.window_seconds or max(10.0, 8.0 + options.voters * per_voter)
        now = datetime.now(UTC)
        say(f"Simulacro por HTTP: {options.voters} votantes, grupo {options.group.name}")
        # A drill's own ids (``simulacro-…``): its files can never be taken for the real election's.
        kit = build_kit(options.group, options.voters, receipt_key, opens=now - timedelta(minutes=5),
                        closes=now + timedelta(seconds=window), guardians=options.guardians,
                        threshold=options.threshold, tokens=options.tokens, seed=options.seed or 0,
                        manifest=derived_manifest(sample_manifest(), "drill"))
        say(banner(kit.manifest.election_id) or "")
        try:
            closes = kit.manifest.voting_closes
            import pyotp

            op_password, op_secret = secrets.token_urlsafe(16), pyotp.random_base32()
            with session_scope(engine) as s:
                s.add(Operator(username="operador", role=ROLE_ADMIN, password_hash=hash_password(op_password),
                               totp_secret=secrets_key(config).seal(operator_account("operador"), op_secret)))
            app = create_app(config)
            server, thread, base = _serve(app)
            say(f"1. Servidor en {base}")
            try:
                op = operator_login(base, "operador", op_password, op_secret)
                opened = operator_prepare(op, kit, roll=True)
                say(f"2. Operador (contraseña + TOTP): padrón importado, enlaces de activación enviados, acta de "
                    f"inicio registrada y votación abierta; cabeza {opened['head_fingerprint']}")
                receipts: list[dict[str, Any]] = []
                started = time.monotonic()
                mail_outbox, sms_outbox = config.data_dir / "buzon", config.data_dir / "sms"
                # The last voter activates but arrives after the close (a late ballot).
                *on_time, latecomer = kit.roll
                late_client = voter_activate(base, kit, latecomer.voter_id, mail_outbox, sms_outbox,
                                             f"clave de prueba {secrets.token_hex(4)}")
                for k, voter in enumerate(on_time):
                    c = voter_activate(base, kit, voter.voter_id, mail_outbox, sms_outbox,
                                       f"clave de prueba {secrets.token_hex(4)}")
                    c.json("GET", "/api/eleccion/contexto")
                    info = c.json("GET", "/api/votante")
                    # As the booth: the credential opens the voter's sealed token, sent beside the ballot.
                    headers = {TOKEN_HEADER: kit.open_token(voter.voter_id, info["ficha"])}
                    body = kit.ballot(voter.voter_id, rng=rng)
                    status, answer = c.post_raw("/api/votar", body, headers=headers)
                    if status != 201:
                        raise RuntimeError(f"voter {voter.voter_id}: HTTP {status} {answer}")
                    if k == 0:  # a lost answer: the voter's phone sends the same ballot again
                        status2, again = c.post_raw("/api/votar", body, headers=headers)
                        if status2 != 200 or again["receipt"] != answer["receipt"]:
                            raise RuntimeError("idempotent retry failed")
                    receipts.append(answer["receipt"])
                elapsed = time.monotonic() - started
                say(f"3. {len(receipts)} votantes activaron su cuenta (enlace, 4 dígitos, código SMS, contraseña) "
                    f"y votaron por HTTP en {elapsed:.1f} s")
                wait = (closes - datetime.now(UTC)).total_seconds() + config.close_grace_seconds + 0.5
                if wait > 0:
                    say(f"   esperando el cierre ({wait:.0f} s)")
                    time.sleep(wait)
                late = late_client.post_raw("/api/votar", kit.ballot(latecomer.voter_id, rng=rng),
                                            headers=kit.cast_headers(latecomer.voter_id))
                if late[0] != 409:
                    raise RuntimeError(f"late ballot: HTTP {late[0]}")
                say(f"   boleta tardía de {latecomer.voter_id}: HTTP 409 «{late[1]['message']}» (no se guarda)")
                for _ in range(100):
                    state = op.json("GET", "/api/operacion/estado")
                    if state.get("closed"):
                        break
                    time.sleep(0.2)
                state = op.json("POST", "/api/operacion/cerrar")
                say(f"4. Tablero cerrado por el servidor al instante de cierre; cabeza {state['head_fingerprint']}")
                archive = op.download("POST", "/api/operacion/exportar")
                closed_dir = work / "cerrado"
                with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
                    tar.extractall(closed_dir, filter="data")
                closed = next(closed_dir.iterdir())
                present = list(range(1, options.threshold + 1))
                full = complete_record(kit, closed, work / "registro-completo", present)
                say(f"5. Custodios {present}: acta de cierre firmada y recuento descifrado")
                op.upload("/api/operacion/registro", {"registro": tar_gz(full)})
                op.json("POST", "/api/operacion/publicar")
                published = op.download("GET", "/tablero/registro.tar.gz")
                out = options.output
                if out.exists():
                    shutil.rmtree(out)
                tmp_out = work / "publicado"
                with tarfile.open(fileobj=io.BytesIO(published), mode="r:gz") as tar:
                    tar.extractall(tmp_out, filter="data")
                shutil.move(str(next(tmp_out.iterdir())), out)
                receipts_dir = out.parent / f"{out.name}-recibos"
                if receipts_dir.exists():
                    shutil.rmtree(receipts_dir)
                receipts_dir.mkdir(parents=True)
                paths = []
                for i, r in enumerate(receipts):
                    p = receipts_dir / f"recibo-{i:05d}.json"
                    p.write_text(json.dumps(r, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
                    paths.append(p)
                say(f"6. Registro publicado y descargado en {out}; recibos en {receipts_dir}")
            finally:
                server.shutdown()
                thread.join(timeout=10)
                closer = app.extensions.get("sivei_closer") if "app" in locals() else None
                if closer is not None:
                    closer.stop()
        finally:
            kit.close()
        report = verify_record(out, VerifyOptions(allow_test_group=config.allow_test_group, receipts=tuple(paths),
                                                  expect_heads=(state["head"],)))
        say(report.format_text())
        if not report.ok:
            raise RuntimeError("the published record does not verify")
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- gunicorn on loopback, and the casting benchmark ----------------------------------------------------

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class GunicornServer:
    """``gunicorn`` (this package's production settings) on a free loopback port, configured through
    the environment from a ``ServerConfig``; the schema must be current. Use as a context manager.
    ``kill_worker`` / ``kill_master`` (SIGKILL) and ``restart`` serve the fault tests."""

    def __init__(self, config: Any, *, workers: int = 2, threads: int = 4, log: Path | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.config, self.workers, self.threads = config, workers, threads
        self.log_path = log or (config.data_dir / "gunicorn.log")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.extra_env = dict(env or {})
        self.proc: Any = None

    def _env(self) -> dict[str, str]:
        import os

        cfg = self.config
        env = {**os.environ, "SIVEI_DATA_DIR": str(cfg.data_dir), "SIVEI_TEST_LOGIN": "1" if cfg.test_login else "0",
               "SIVEI_COOKIE_SECURE": "1" if cfg.cookie_secure else "0",
               "SIVEI_TEST_GROUP": "1" if cfg.allow_test_group else "0",
               "SIVEI_BIND": f"127.0.0.1:{self.port}", "SIVEI_WORKERS": str(self.workers),
               "SIVEI_THREADS": str(self.threads), "SIVEI_CLOSE_GRACE_SECONDS": str(cfg.close_grace_seconds)}
        if cfg.database_url:
            env["SIVEI_DATABASE_URL"] = cfg.database_url
        if cfg.receipt_key_file:
            env["SIVEI_RECEIPT_KEY_FILE"] = str(cfg.receipt_key_file)
        if cfg.proxy_addresses:
            env["SIVEI_PROXY"] = ",".join(cfg.proxy_addresses)
        if cfg.measure:
            env["SIVEI_MEDIR"] = "1"
        if cfg.board_journal:
            env["SIVEI_BOARD_JOURNAL"] = str(cfg.board_journal)
        for key, value in cfg.extra.items():  # authentication and notification settings
            env["SIVEI_" + key.upper()] = str(value)
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        import subprocess
        import sys

        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("a")
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:sivei_server.gunicorn_conf",
                                      "sivei_server.wsgi:app"], env=self._env(), stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            # Only once this master has workers did it bind the port: before that, a health answer
            # may come from an orphaned worker of a killed master, about to close the socket.
            try:
                if self.worker_pids():
                    Client(self.base).json("GET", "/api/salud")
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(self.log_path.read_text())
            time.sleep(0.2)

    def __enter__(self) -> GunicornServer:
        self.start()
        return self

    def worker_pids(self) -> list[int]:
        from sivei_server.procs import children

        return children(self.proc.pid) if self.proc is not None else []

    def kill_worker(self) -> int:
        """SIGKILL one worker (the master starts another); returns its pid."""
        import os
        import signal

        pid = self.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill_master(self) -> list[int]:
        """SIGKILL the master; its workers notice within a second, free the port and finish what
        they hold. Returns the orphaned workers' pids."""
        import signal

        orphans = self.worker_pids()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        self._log.close()
        return orphans

    def stop(self) -> None:
        import subprocess

        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if hasattr(self, "_log") and not self._log.closed:
            self._log.close()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def seed_roll(engine: Any, kit: ElectionKit, admin: str = "operador") -> None:
    """The kit's voters and an administrator, straight into the database (the roll import and the
    operator's login are the authentication module's)."""
    from sivei_server.db import session_scope
    from sivei_server.models import ROLE_ADMIN, Operator, Voter
    from sivei_server.passwords import hash_password

    with session_scope(engine) as s:
        s.add(Operator(username=admin, role=ROLE_ADMIN, password_hash=hash_password(secrets.token_hex())))
        for v in kit.roll:
            s.add(Voter(voter_id=v.voter_id, entity=v.entity, email=v.email, phone=kit.phones[v.voter_id]))


def bench_casting(group: Group, voters: int, *, database_url: str | None, workers: int = 2, clients: int = 4,
                  say: Say = print) -> dict[str, Any]:
    """Ballots accepted per second with full validation: nginx (the shipped proxy settings) in front
    of gunicorn (``workers``) on loopback, the ballots encrypted beforehand, then posted by
    ``clients`` concurrent client threads (bounded: each voter casts once). Reports latency (p50,
    p95), CPU per cast of each process (workers, database backends, nginx, this client) and, from
    the workers' ``Server-Timing`` (``sivei_server.measure``), the split of a cast's CPU into
    cryptography, database and framework and the SQL statements per cast; the options per ballot and
    the modexp unit (``sivei.crypto.cost_unit``) measured in the same run, before and after."""
    from sivei.crypto.cost_unit import modexp_seconds
    from sivei_server.config import ServerConfig
    from sivei_server.db import make_engine
    from sivei_server.measure import parse_header
    from sivei_server.migrate import upgrade
    from sivei_server.nginx import Nginx
    from sivei_server.procs import cpu_seconds
    from sivei_server.receipt_key import create_key_file, default_key_file

    unit = modexp_seconds()  # the cost unit, measured in this run (production group, whatever ``group``)
    work = Path(tempfile.mkdtemp(prefix="sivei-medicion-"))
    scratch = ScratchDatabase(database_url) if database_url else None
    try:
        if scratch is not None:
            database_url = scratch.create()
        config = ServerConfig(data_dir=work / "datos", database_url=database_url, cookie_secure=False,
                              test_login=True, allow_test_group=group.name != "eg2-baseline", measure=True,
                              proxy_addresses=("127.0.0.1",), trusted_proxies=1,
                              extra={"buzon_desarrollo": True})
        config = config.with_(receipt_key_file=default_key_file(config))
        engine = make_engine(config)
        upgrade(engine)
        receipt_key = create_key_file(default_key_file(config))
        now = datetime.now(UTC)
        kit = build_kit(group, voters, receipt_key, opens=now - timedelta(minutes=5), closes=now + timedelta(hours=2))
        try:
            seed_roll(engine, kit)
            started = time.monotonic()
            bodies = {v.voter_id: kit.ballot(v.voter_id) for v in kit.roll}
            options = {v.voter_id: sum(len(c.options) for _, c in kit.manifest.style_contests(
                kit.manifest.style_for_entity(v.entity).id)) for v in kit.roll}
            headers = {vid: kit.cast_headers(vid) for vid in bodies}
            say(f"  {voters} boletas cifradas de antemano ({(time.monotonic() - started) / voters:.2f} s c/u)")
            with GunicornServer(config, workers=workers) as server, Nginx(server.port) as proxy:
                operator_prepare(login_operator(proxy.base, "operador"), kit)
                sessions = {vid: login_voter(proxy.base, vid) for vid in bodies}
                queue = list(bodies)
                lock = threading.Lock()
                results: list[tuple[int, float, dict[str, float]]] = []

                def worker() -> None:
                    while True:
                        with lock:
                            if not queue:
                                return
                            vid = queue.pop()
                        c = sessions[vid]
                        t0 = time.monotonic()
                        status, _, answer_headers = c.request("POST", "/api/votar", bodies[vid], "application/json",
                                                              headers=headers[vid])
                        timing = parse_header(answer_headers.get("Server-Timing", ""))
                        with lock:
                            results.append((status, time.monotonic() - t0, timing))

                procs = {"workers": server.worker_pids(), "database": _backend_pids(engine),
                         "nginx": proxy.worker_pids()}
                cpu0 = {p: cpu_seconds(p) for v in procs.values() for p in v}
                client0 = time.process_time()
                started = time.monotonic()
                threads = [threading.Thread(target=worker) for _ in range(clients)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                elapsed = time.monotonic() - started
                procs["database"] = sorted(set(procs["database"]) | set(_backend_pids(engine)))  # new connections
                cpu = {k: sum(cpu_seconds(p) - cpu0.get(p, 0.0) for p in v) for k, v in procs.items()}
                cpu["client"] = time.process_time() - client0
        finally:
            kit.close()
        engine.dispose()
        accepted = [r for r in results if r[0] == 201]
        n = max(1, len(accepted))
        latencies = sorted(r[1] for r in accepted)

        def pct(p: float) -> float:
            return round(latencies[min(len(latencies) - 1, round(p / 100 * (len(latencies) - 1)))], 3) \
                if latencies else 0.0

        def mean(key: str) -> float:
            return round(sum(r[2].get(key, 0.0) for r in accepted) / n, 2)

        unit = min(unit, modexp_seconds())
        per_ballot = sum(options.values()) / max(1, len(options))

        result = {"group": group.name, "database": "postgresql" if database_url else "sqlite", "workers": workers,
                  "clients": clients, "ballots": voters, "accepted": len(accepted), "seconds": round(elapsed, 3),
                  "ballots_per_second": round(len(accepted) / elapsed, 2), "p50_s": pct(50), "p95_s": pct(95),
                  "ballot_bytes": len(next(iter(bodies.values()))),
                  "cpu_ms_per_cast": {k: round(v * 1000 / n, 2) for k, v in cpu.items()},
                  "worker_cpu_split_ms": {"total": mean("cpu"), "crypto": mean("crypto"), "database": mean("db"),
                                          "framework": mean("framework")},
                  "sql_statements_per_cast": mean("sql"), "options_per_ballot": round(per_ballot, 2),
                  "modexp_ms": round(unit * 1000, 4),
                  "worker_crypto_modexp_per_option": round(mean("crypto") / 1000 / unit / per_ballot, 3)}
        say(f"  {len(accepted)}/{voters} aceptadas en {elapsed:.2f} s: {result['ballots_per_second']} boletas/s, "
            f"p50 {result['p50_s']} s, p95 {result['p95_s']} s ({result['database']}, nginx + {workers} workers de "
            f"gunicorn, {clients} clientes); CPU por voto (ms): {result['cpu_ms_per_cast']}; en el worker: "
            f"{result['worker_cpu_split_ms']}; {result['sql_statements_per_cast']} sentencias SQL por voto; "
            f"{result['options_per_ballot']} opciones por boleta; modexp {result['modexp_ms']} ms")
        return result
    finally:
        if scratch is not None:
            scratch.drop()
        shutil.rmtree(work, ignore_errors=True)


def _backend_pids(engine: Any) -> list[int]:
    """PostgreSQL backends serving this database (empty on SQLite)."""
    if engine.dialect.name != "postgresql":
        return []
    from sqlalchemy import text

    with engine.connect() as conn:
        return [int(p) for p in conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars()]


class ScratchDatabase:
    """A throw-away PostgreSQL database next to the one ``admin_url`` names (tests, benchmarks)."""

    def __init__(self, admin_url: str) -> None:
        from sqlalchemy import create_engine

        url = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT")
        self.name = f"sivei_tmp_{secrets.token_hex(4)}"
        self.url = admin_url.rsplit("/", 1)[0] + f"/{self.name}"

    def create(self) -> str:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self.url

    def drop(self) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()
