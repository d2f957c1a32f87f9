"""``sivei verificar``: the auditors' offline verifier of a published election record.

It recomputes everything from the record and the embedded group constants, trusting nothing the
operator wrote: parameters, manifest hash, H_B and H_E, the key ceremony transcript and the joint key,
the signed credential list, every ballot's proofs and signature against the list, the counting
policy, unique α, the board's hash chain, the aggregates, every decryption share and Lagrange weight,
the decoded counts and the results with their coalition distribution. Each failing check is reported
with its location; later stages still run when the data they need could be read.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sivei.ballot.board import (
    EVENT_BALLOT,
    EVENT_CLOSE,
    EVENT_OPEN,
    GENESIS_PREVIOUS,
    OPERATOR_EVENTS,
    event_hash,
    genesis_head,
)
from sivei.ballot.board_index import BoardIndex
from sivei.ballot.context import ElectionContext
from sivei.ballot.credentials import check_credential_list, load_credential_list_files
from sivei.ballot.manifest import Manifest, parse_manifest_bytes
from sivei.crypto.batch import DEFAULT_BITS, check_bits
from sivei.crypto.context import base_hash, election_hash
from sivei.crypto.dkg import CeremonyOutcome, check_transcript, verify_transcript
from sivei.crypto.ecdsa import key_fingerprint_digest, load_public_key
from sivei.crypto.elgamal import ElectionKey
from sivei.crypto.encoding import element_to_hex, hex_to_bytes
from sivei.crypto.envelope import Envelope
from sivei.crypto.fingerprint import fingerprint, matches_fingerprint
from sivei.crypto.group import GROUPS, TEST_GROUP, Group
from sivei.election_kind import banner, kind_of
from sivei.errors import RecordError, SiveiError
from sivei.i18n import tr
from sivei.record import board_check, layout
from sivei.record.acts import CLOSING, OPENING, SignedAct, guardian_keys_by_name, parse_instant
from sivei.record.board_check import LineResult
from sivei.record.ceremony_io import parse_ceremony, transcript_hash
from sivei.record.consulates import check_channels, check_consulates, in_person_credentials
from sivei.record.integrity_io import check_integrity_file
from sivei.record.receipts import check_receipts
from sivei.record.report import VerificationReport
from sivei.tally.aggregate import EncryptedTally, TallyAccumulator
from sivei.tally.decrypt import (
    GuardianDecryption,
    failing_shares,
    parse_guardian_decryption,
    require_share_members,
    stated_weights_match,
)
from sivei.tally.results import ElectionResults, compute_results

Progress = Callable[[int, int, int, float], None]
"""(events checked, board bytes checked, board size in bytes, seconds elapsed)."""


@dataclass(frozen=True)
class VerifyOptions:
    allow_test_group: bool = False
    expect_election: tuple[str, ...] = ()
    expect_heads: tuple[str, ...] = ()
    jobs: int | None = None
    """Worker processes for the board; None: every core."""
    progress: Progress | None = None
    lote_bits: int = DEFAULT_BITS
    """λ of the batched proof checks (64 to 128): an accepted batch with a false proof passes with
    probability at most 2·2^−λ (protocol §8.5)."""
    closed: bool = False
    """Verify a CLOSED record (up to the encrypted tally and the closing act, before decryption):
    what each key-holder checks before producing a decryption share."""
    receipts: tuple[Path, ...] = ()
    """Voters' receipt files to check against the record (``sivei.record.receipts``)."""
    checker: board_check.ChunkChecker | None = None
    """Where the board's chunks are checked: None for ``jobs`` processes of this machine; a
    ``sivei.record.cluster.DaskChecker`` for a Dask cluster (``--scheduler``)."""
    chunk_events: int = board_check.MAX_CHUNK_EVENTS
    """Most events in one chunk (one batch)."""


# -- record pieces ------------------------------------------------------------------------------


def _valid_close(payload: dict[str, Any] | None, ballots: int) -> bool:
    """The close event's payload is exactly {"cast": <ballots on the board>, "late": <int ≥ 0>}."""
    if payload is None or set(payload) != {"cast", "late"}:
        return False
    late = payload["late"]
    return payload["cast"] == ballots and isinstance(late, int) and not isinstance(late, bool) and late >= 0


def _check_files(reader: layout.RecordReader, report: VerificationReport, closed: bool) -> dict[str, Any] | None:
    try:
        header = reader.read_json(layout.HEADER)
    except SiveiError as exc:
        report.add("record.header", layout.HEADER, str(exc))
        return None
    if not isinstance(header, dict) or header.get("format") != layout.FORMAT:
        report.add("record.header", layout.HEADER, tr("no es un registro electoral de SIVEI",
                                                      "not a SIVEI election record"))
        return None
    if header.get("version") not in layout.VERSIONS or isinstance(header.get("version"), bool):
        report.add("record.header", layout.HEADER,
                   tr(f"versión de formato no soportada: {header.get('version')!r}",
                      f"unsupported format version: {header.get('version')!r}"))
        return None
    files = header.get("files")
    if not isinstance(files, dict):
        report.add("record.header", layout.HEADER, tr("falta la lista de archivos", "missing file list"))
        return None
    version = header["version"]
    required = layout.closed_files(version) if closed else layout.required_files(version)
    for name in required:
        if name not in files:
            report.add("record.missing-file", name, tr("archivo obligatorio ausente del índice",
                                                       "required file missing from the index"))
    for name, digest in sorted(files.items()):
        path = reader.root / name
        if not path.is_file():
            report.add("record.missing-file", name, tr("el archivo no existe", "the file does not exist"))
        elif layout.file_sha256(path) != digest:
            report.add("record.file-hash", name,
                       tr("el contenido no corresponde al SHA-256 del índice (archivo truncado o alterado)",
                          "content does not match the index's SHA-256 (truncated or altered file)"))
    for path in sorted(reader.root.rglob("*")):
        rel = path.relative_to(reader.root).as_posix()
        if path.is_file() and rel != layout.HEADER and rel not in files:
            report.add("record.unlisted-file", rel, tr("archivo no listado en el índice",
                                                       "file not listed in the index"))
    return header


def _check_parameters(reader: layout.RecordReader, header: dict[str, Any], options: VerifyOptions,
                      report: VerificationReport) -> Group | None:
    try:
        params = reader.read_json(layout.PARAMETERS)
    except SiveiError as exc:
        report.add("parameters", layout.PARAMETERS, str(exc))
        return None
    if not isinstance(params, dict) or set(params) != {"name", "p", "q", "g"}:
        report.add("parameters", layout.PARAMETERS, tr("campos no válidos", "invalid fields"))
        return None
    group = GROUPS.get(params["name"]) if isinstance(params["name"], str) else None
    if group is None:
        report.add("parameters", layout.PARAMETERS, tr(f"grupo desconocido: {params['name']!r}",
                                                       f"unknown group: {params['name']!r}"))
        return None
    if params != layout.parameters_json(group):
        report.add("parameters", layout.PARAMETERS,
                   tr("los parámetros no son byte por byte los del grupo nombrado",
                      "the parameters are not byte for byte those of the named group"))
        return None
    if header.get("group") != group.name:
        report.add("parameters", layout.HEADER, tr("el índice nombra otro grupo", "the index names another group"))
    if group is TEST_GROUP and not options.allow_test_group:
        report.add("parameters", layout.PARAMETERS,
                   tr("el registro usa el grupo de prueba; solo se acepta con --test-group",
                      "the record uses the test group; it is accepted only with --test-group"))
        return None
    return group


# -- the verifier -------------------------------------------------------------------------------


class _Verifier:
    def __init__(self, path: Path, options: VerifyOptions) -> None:
        self.options = options
        self.reader = layout.RecordReader(path)
        self.report = VerificationReport(str(path))
        self.threshold = (0, 0)
        self.ceremony: tuple[str, tuple[tuple[Envelope, ...], ...]] = ("", ())
        self.credential_body: dict[str, Any] = {}
        self.credential_list_hash: str | None = None
        self.close: tuple[int, bytes, dict[str, Any]] | None = None
        self.tally: EncryptedTally | None = None
        """The encrypted tally recomputed from the board (what guardians may decrypt)."""
        self.in_person_cast: set[bytes] = set()
        """The in-person credentials that cast a ballot (few: bounded by the consulates' declaration),
        for the consulates' stage."""
        self.channel_tally: EncryptedTally | None = None
        """The in-person ballots' aggregates (the consulados channel), with in-person voting."""
        self.version = layout.VERSION
        self.board_name = layout.board_name(self.version)

    def run(self) -> VerificationReport:
        report = self.report
        header = _check_files(self.reader, report, self.options.closed)
        if header is None:
            return report
        self.version = int(header["version"])
        self.board_name = layout.board_name(self.version)
        report.add_fact("record_version", tr("versión del formato del registro", "record format version"),
                        self.version)
        group = _check_parameters(self.reader, header, self.options, report)
        if group is None:
            return report
        report.add_fact("group", tr("grupo", "group"), group.name)
        bits = check_bits(self.options.lote_bits)
        report.add_fact("batch_bits", tr("pruebas por lotes, λ (una prueba falsa pasa con probabilidad ≤ 2·2^−λ)",
                                         "batched proofs, λ (a false proof passes with probability ≤ 2·2^−λ)"), bits)
        manifest = self._manifest(header)
        if manifest is None:
            return report
        h_b = base_hash(group, manifest.hash)
        report.add_fingerprint("manifest", tr("manifiesto", "manifest"), fingerprint(manifest.hash))
        outcome = self._ceremony(group, manifest, h_b)
        cred = self._credentials(manifest)
        if outcome is None or cred is None:
            return report
        credential_styles, list_hash = cred
        h_e = election_hash(group, h_b, outcome.joint_key, outcome.commitments, list_hash)
        in_person = (in_person_credentials(self.reader, self.credential_body) if manifest.in_person is not None
                     else frozenset())  # docs/protocol.md §20: the consulados channel, aggregated apart
        ctx = ElectionContext(manifest, ElectionKey(group, outcome.joint_key), h_e, in_person)
        report.add_fingerprint("election_hash", tr("elección (H_E)", "election (H_E)"), fingerprint(h_e), first=True)
        for i, key in enumerate(outcome.signing_keys, start=1):
            report.add_fingerprint(f"guardian_{i}", tr(f"custodio {i}", f"guardian {i}"),
                                   fingerprint(key_fingerprint_digest(key)))
        self._expect_election(h_e)
        if report.has("election.expected"):
            return report  # another election (a rehearsal's, a drill's…): refused before the long checks
        tally = self._board(ctx, credential_styles)
        if tally is None:
            return report
        if manifest.in_person is not None:  # in-person voting at consulates (docs/protocol.md §20)
            check_consulates(self.reader, ctx, self.credential_body, credential_styles, self.in_person_cast,
                             report)
        if not self.options.closed:
            counts = self._decryption(ctx, tally, outcome.guardian_keys, outcome.signing_keys,
                                      self.threshold)
            self._results(ctx, tally, counts)
        if manifest.in_person is not None:
            check_channels(self.reader, ctx, tally, self.channel_tally, outcome.guardian_keys, outcome.signing_keys,
                           self.threshold, report, bits=self.options.lote_bits, closed=self.options.closed)
        self._acts(ctx, outcome, tally)
        check_receipts(self.reader, ctx, self.options.receipts, report)
        self.tally = tally
        return report

    # each stage -------------------------------------------------------------------------------

    def _manifest(self, header: dict[str, Any]) -> Manifest | None:
        try:
            path = self.reader.root / layout.MANIFEST
            if not path.is_file():
                raise RecordError(tr(f"{layout.MANIFEST}: falta el archivo", f"{layout.MANIFEST}: file missing"))
            manifest = parse_manifest_bytes(path.read_bytes(), layout.MANIFEST)
        except SiveiError as exc:
            self.report.add("manifest", layout.MANIFEST, str(exc))
            return None
        if header.get("election_id") != manifest.election_id:
            self.report.add("manifest", layout.HEADER,
                            tr("el índice nombra otra elección que el manifiesto",
                               "the index names another election than the manifest"))
        if header.get("counting_policy") != manifest.counting_policy:
            self.report.add("manifest", layout.HEADER,
                            tr("la política de conteo del índice no es la del manifiesto",
                               "the index's counting policy is not the manifest's"))
        self.report.add_fact("election", tr("elección", "election"), f"{manifest.election_id} — {manifest.name}")
        self.report.add_fact("counting_policy", tr("política de conteo", "counting policy"), manifest.counting_policy)
        self.report.add_fact("election_kind", tr("tipo de elección", "kind of election"), kind_of(manifest.election_id))
        self.report.heading = banner(manifest.election_id)
        return manifest

    def _ceremony(self, group: Group, manifest: Manifest, h_b: bytes) -> CeremonyOutcome | None:
        report = self.report
        try:
            data = self.reader.read_json(layout.CEREMONY)
            ceremony_id, n, t, rounds = parse_ceremony(data)
        except SiveiError as exc:
            report.add("ceremony", layout.CEREMONY, str(exc))
            return None
        problems = check_transcript(group, manifest.election_id, ceremony_id, h_b, n, t, rounds)
        for p in problems:
            where = tr(f"{layout.CEREMONY}, ronda {p.round}", f"{layout.CEREMONY}, round {p.round}")
            if p.guardian is not None:
                where += tr(f", custodio {p.guardian}", f", guardian {p.guardian}")
            report.add(f"ceremony.{p.code}", where, p.message)
        if problems:
            return None
        self.threshold = (n, t)
        self.ceremony = (ceremony_id, rounds)
        report.add_fact("key_ceremony", tr("ceremonia de llaves", "key ceremony"), ceremony_id)
        report.add_fact("threshold", tr("umbral (custodios necesarios, t)", "threshold (guardians needed, t)"), t)
        report.add_fact("guardians", tr("custodios (n)", "guardians (n)"), n)
        return verify_transcript(group, manifest.election_id, ceremony_id, h_b, n, t, rounds)

    def _credentials(self, manifest: Manifest) -> tuple[dict[bytes, str], bytes] | None:
        """The published credential list: its problems, its style map and its hash (part of H_E)."""
        report = self.report
        try:
            envelope, entries = load_credential_list_files(self.reader.root)
        except SiveiError as exc:
            report.add("credentials", layout.CREDENTIALS, str(exc))
            return None
        self.credential_body = dict(envelope.body)
        self.credential_list_hash = envelope.content_hash.hex()
        for message in check_credential_list(manifest, envelope, entries):
            report.add("credentials", layout.CREDENTIAL_LIST, message)
        key = envelope.body.get("authority_key")
        if isinstance(key, str):
            with contextlib.suppress(ValueError):
                report.add_fingerprint("credential_authority", tr("autoridad de credenciales", "credential authority"),
                                       fingerprint(key_fingerprint_digest(bytes.fromhex(key))))
        report.add_fact("credentials_listed", tr("credenciales en la lista", "credentials on the list"), len(entries))
        return {e.public_key: e.ballot_style for e in entries}, envelope.content_hash

    def _expect_election(self, h_e: bytes) -> None:
        if not self.options.expect_election:
            self.report.notes.append(tr(
                "un registro coherente consigo mismo no prueba de qué elección se trata: compare la huella "
                "de la elección con la publicada (--expect-election)",
                "a self-consistent record does not prove which election it is: compare the election "
                "fingerprint with the published one (--expect-election)"))
        for typed in self.options.expect_election:
            if not matches_fingerprint(typed, h_e):
                self.report.add("election.expected", tr("huella esperada", "expected fingerprint"),
                                tr(f"la huella de la elección no es {typed}",
                                   f"the election fingerprint is not {typed}"))

    def _board(self, ctx: ElectionContext, credential_styles: dict[bytes, str]) -> EncryptedTally | None:
        report = self.report
        name = self.board_name
        path = self.reader.root / name
        total_bytes = self.reader.size(name)
        checker = self.options.checker or board_check.local_checker(self.options.jobs)
        bits = self.options.lote_bits
        acc = TallyAccumulator(ctx)
        previous = GENESIS_PREVIOUS
        expected_index = 0
        ballots = 0
        closed_at: int | None = None
        close_payload: dict[str, Any] | None = None
        last_head: bytes | None = None
        expect = list(self.options.expect_heads)
        found = [False] * len(expect)
        start = time.monotonic()
        done = 0
        target = board_check.chunk_bytes(total_bytes, checker)
        work = board_check.chunks(path, name, target, self.options.chunk_events)
        with BoardIndex() as index:
            try:
                for (results, partial), offset in checker.run(ctx, work, bits):
                    acc.merge(partial)
                    for r in results:
                        done += 1
                        where = f"{name}:{r.lineno}"
                        report.extend(list(r.problems))
                        if r.index is None or r.type is None or r.payload_hash is None or r.stated_head is None:
                            continue
                        if closed_at is not None:
                            report.add("board.after-close", where, tr("evento después del cierre",
                                                                      "event after the close"))
                        if r.index != expected_index:
                            report.add("board.index", where,
                                       tr(f"se esperaba el evento {expected_index}, hay {r.index} "
                                          "(eventos faltantes, repetidos o reordenados)",
                                          f"expected event {expected_index}, found {r.index} "
                                          "(missing, repeated or reordered events)"))
                        # Each link is checked against the stated predecessor, so one altered event is
                        # reported once, at its own position, and not again at every later one.
                        head = event_hash(ctx.election_hash, previous, r.index, r.type, r.payload_hash)
                        if head != r.stated_head:
                            report.add("board.chain", where,
                                       tr("la cabeza de la cadena no corresponde al evento y a su predecesor",
                                          "the chain head does not match the event and its predecessor"))
                            head = r.stated_head
                        previous = head
                        expected_index = r.index + 1
                        last_head = head
                        for k, typed in enumerate(expect):
                            if not found[k] and matches_fingerprint(typed, head):
                                found[k] = True
                        if r.lineno == 1 and (r.type != EVENT_OPEN or r.payload):
                            report.add("board.open", where, tr("el tablero no inicia con la apertura vacía",
                                                               "the board does not start with the empty opening"))
                        elif r.lineno != 1 and r.type == EVENT_OPEN:
                            report.add("board.open", where, tr("apertura repetida", "repeated opening"))
                        if r.type == EVENT_CLOSE:
                            closed_at, close_payload = r.lineno, r.payload
                            self.close = (r.index, head, dict(r.payload or {}))
                        elif r.type in OPERATOR_EVENTS:
                            pass
                        elif r.type == EVENT_BALLOT and r.credential is not None:
                            ballots += 1
                            self._ballot_policy(r, where, credential_styles, index)
                            if r.credential in ctx.in_person:
                                self.in_person_cast.add(r.credential)
                    if self.options.progress:
                        self.options.progress(done, offset, total_bytes, time.monotonic() - start)
            except RecordError as exc:  # a missing file or a wrong header: nothing more can be framed
                report.add("board.encoding", name, str(exc))
        if not self.options.expect_heads:
            report.notes.append(tr(
                "sin --expect-head no se puede detectar que se hayan quitado boletas del final del tablero",
                "without --expect-head, ballots removed from the end of the board cannot be detected"))
        for k, typed in enumerate(expect):
            if not found[k]:
                report.add("board.expected-head", tr("cabeza anotada", "noted head"),
                           tr(f"la cadena publicada no pasa por la cabeza {typed}: faltan o cambiaron eventos",
                              f"the published chain does not go through head {typed}: events are missing or changed"))
        if closed_at is None:
            report.add("board.close", name, tr("el tablero no está cerrado", "the board is not closed"))
        elif not _valid_close(close_payload, ballots):
            report.add("board.close", f"{name}:{closed_at}",
                       tr(f"el cierre declara {close_payload} pero hay {ballots} boletas",
                          f"the close declares {close_payload} but there are {ballots} ballots"))
        report.add_fact("ballots_on_board", tr("boletas en el tablero", "ballots on the board"), ballots)
        if last_head is not None:
            report.add_fingerprint("final_board_head", tr("cabeza final del tablero", "final board head"),
                                   fingerprint(last_head))
            report.add_fact("final_board_head_hash", tr("cabeza final (completa)", "final head (full)"),
                            last_head.hex())
        tally = acc.result()
        self.channel_tally = acc.channel_result()
        return self._compare_tally(ctx, tally)

    def _ballot_policy(self, r: LineResult, where: str, credential_styles: dict[bytes, str],
                       index: BoardIndex) -> None:
        report = self.report
        assert r.credential is not None
        listed = credential_styles.get(r.credential)
        if listed is None:
            report.add("ballot.credential.unlisted", where,
                       tr("la credencial pública no está en la lista firmada de credenciales",
                          "the public credential is not in the signed credential list"))
        elif listed != r.style:
            report.add("ballot.style.mismatch", where,
                       tr(f"la boleta es del tipo {r.style} pero su credencial es del tipo {listed}",
                          f"the ballot is of style {r.style} but its credential is of style {listed}"))
        first = index.credential_position(r.credential)
        if first is not None:
            report.add("board.one-vote", where,
                       tr(f"segunda boleta de la misma credencial (la primera está en {self.board_name}:{first}); "
                          "la ley permite un solo voto",
                          f"second ballot of the same credential (the first is at {self.board_name}:{first}); "
                          "the law allows one vote"))
        seen = index.alpha_positions(r.alpha_keys)
        for key in r.alpha_keys:
            if key in seen:
                report.add("board.unique-alpha", where,
                           tr(f"α repetido (ya aparece en {self.board_name}:{seen[key]})",
                              f"repeated α (already at {self.board_name}:{seen[key]})"))
            else:
                seen[key] = r.lineno
        index.add(r.credential if first is None else None, r.alpha_keys, r.lineno)

    def _compare_tally(self, ctx: ElectionContext, tally: EncryptedTally) -> EncryptedTally | None:
        try:
            published = EncryptedTally.from_json(ctx.group, self.reader.read_json(layout.ENCRYPTED_TALLY))
        except SiveiError as exc:
            self.report.add("tally.aggregate", layout.ENCRYPTED_TALLY, str(exc))
            return tally
        if len(published.entries) != len(tally.entries):
            self.report.add("tally.aggregate", layout.ENCRYPTED_TALLY,
                            tr("el número de agregados no corresponde al manifiesto",
                               "the number of aggregates does not match the manifest"))
            return tally
        for mine, theirs in zip(tally.entries, published.entries, strict=True):
            if mine != theirs:
                contest = ctx.manifest.contests[mine.contest_index].id
                self.report.add("tally.aggregate", f"{layout.ENCRYPTED_TALLY}: {mine.entity}/{contest}",
                                tr("el agregado publicado no es el producto de las boletas del tablero",
                                   "the published aggregate is not the product of the board's ballots"))
        return tally

    def _decryption(self, ctx: ElectionContext, tally: EncryptedTally, guardian_keys: Sequence[int],
                    signing_keys: Sequence[bytes], threshold: tuple[int, int]) -> dict[tuple[int, int], int] | None:
        """Verify every share and return g^m per (entry, option), or None when impossible."""
        report = self.report
        n, t = threshold
        try:
            data = self.reader.read_json(layout.DECRYPTION)
            if not isinstance(data, dict) or set(data) != {"ceremony_id", "present", "weights", "envelopes"}:
                raise SiveiError(tr("campos no válidos", "invalid fields"))
            envelopes = [Envelope.from_json(e, f"envelopes[{i}]") for i, e in enumerate(data["envelopes"])]
            decryptions = [parse_guardian_decryption(ctx, env, f"envelopes[{i}]", membership=False)
                           for i, env in enumerate(envelopes)]
            # Every share's membership in one batch, before anything uses a share (§3.2, §8.5).
            require_share_members(ctx, [(d, f"envelopes[{i}]") for i, d in enumerate(decryptions)],
                                  bits=self.options.lote_bits)
        except SiveiError as exc:
            report.add("decryption", layout.DECRYPTION, str(exc))
            return None
        t_hash = tally.hash(ctx)
        candidates: list[tuple[GuardianDecryption, str]] = []
        for d in decryptions:
            where = tr(f"{layout.DECRYPTION}, custodio {d.guardian}", f"{layout.DECRYPTION}, guardian {d.guardian}")
            if not 1 <= d.guardian <= n:
                report.add("decryption", where, tr("custodio fuera de 1..n", "guardian outside 1..n"))
                continue
            try:
                d.envelope.verify(signing_keys[d.guardian - 1])
            except SiveiError as exc:
                report.add("decryption.signature", where, str(exc))
                continue  # an unsigned contribution is not used
            if (d.envelope.election_id != ctx.manifest.election_id or d.envelope.ceremony_id != data["ceremony_id"]
                    or d.envelope.round != 0):
                report.add("decryption", where, tr("sobre de otra elección, ceremonia o ronda",
                                                   "envelope from another election, ceremony or round"))
                continue
            if d.tally_hash != t_hash or d.envelope.previous != t_hash:
                report.add("decryption.tally-hash", where,
                           tr("las partes descifran otro recuento cifrado que el recalculado del tablero",
                              "the shares decrypt another encrypted tally than the one recomputed from the board"))
                continue
            if len(d.shares) != len(tally.entries) or any(
                    len(row) != len(e.ciphertexts) for row, e in zip(d.shares, tally.entries, strict=True)):
                report.add("decryption", where, tr("número de partes incorrecto", "wrong number of shares"))
                continue
            candidates.append((d, where))
        # Shares are members, K_i come from the verified transcript and the tally is our own product of
        # checked ballots: every proof of every guardian in one batch.
        failures = failing_shares(ctx, tally, [(d, guardian_keys[d.guardian - 1]) for d, _ in candidates],
                                  bits=self.options.lote_bits)
        valid: list[GuardianDecryption] = []
        for (d, where), failed_shares in zip(candidates, failures, strict=True):
            for ei, oi in failed_shares:
                entry = tally.entries[ei]
                contest = ctx.manifest.contests[entry.contest_index]
                report.add("decryption.share-proof", f"{where}, {entry.entity}/{contest.id}/{contest.options[oi].id}",
                           tr("la prueba de descifrado parcial no es válida",
                              "the partial decryption proof is invalid"))
            if not failed_shares:
                valid.append(d)
        present = sorted(d.guardian for d in valid)
        if sorted(set(present)) != present:
            report.add("decryption.present", layout.DECRYPTION, tr("custodio repetido", "repeated guardian"))
            return None
        if data["present"] != present:
            report.add("decryption.present", layout.DECRYPTION,
                       tr(f"el conjunto declarado {data['present']} no es el de las partes válidas {present}",
                          f"the declared set {data['present']} is not that of the valid shares {present}"))
        if len(present) < t:
            report.add("decryption.threshold", layout.DECRYPTION,
                       tr(f"se necesitan {t} custodios y solo hay partes válidas de {len(present)}",
                          f"{t} guardians are needed and only {len(present)} gave valid shares"))
            return None
        weights, weights_match = stated_weights_match(ctx, data["weights"], present)
        if not weights_match:
            report.add("decryption.lagrange", layout.DECRYPTION,
                       tr("los pesos de Lagrange publicados no son los del conjunto de custodios presentes",
                          "the published Lagrange weights are not those of the set of guardians present"))
        report.add_fact("guardians_decrypted", tr("custodios que descifraron", "guardians who decrypted"), present)
        group = ctx.group
        combined: dict[tuple[int, int], int] = {}
        for ei, entry in enumerate(tally.entries):
            for oi, ct in enumerate(entry.ciphertexts):
                prod = group.mul(*(group.pow(d.shares[ei][oi].share, w) for d, w in
                                   zip(sorted(valid, key=lambda d: d.guardian), weights, strict=True)))
                combined[(ei, oi)] = group.div(ct.beta, prod)
        return combined

    def _results(self, ctx: ElectionContext, tally: EncryptedTally,
                 combined: dict[tuple[int, int], int] | None) -> None:
        report = self.report
        try:
            published = ElectionResults.from_json(ctx.manifest, self.reader.read_json(layout.RESULTS), self.version)
        except SiveiError as exc:
            report.add("results", layout.RESULTS, str(exc))
            return
        by_key = {(r.entity, r.contest_id): r for r in published.contests}
        counts: dict[tuple[str, str], tuple[int, ...]] = {}
        group = ctx.group
        for ei, entry in enumerate(tally.entries):
            contest = ctx.manifest.contests[entry.contest_index]
            result = by_key.get((entry.entity, contest.id))
            where = f"{layout.RESULTS}: {entry.entity}/{contest.id}"
            if result is None or len(result.option_counts) != len(contest.options):
                report.add("results", where, tr("faltan los resultados de esta contienda",
                                                "the results of this contest are missing"))
                continue
            counts[(entry.entity, contest.id)] = result.option_counts
            if combined is None:
                continue
            for oi, m in enumerate(result.option_counts):
                if not 0 <= m <= entry.ballots or group.g_pow(m) != combined[(ei, oi)]:
                    report.add("results.decryption", f"{where}/{contest.options[oi].id}",
                               tr(f"el conteo publicado {m} no es el descifrado del agregado",
                                  f"the published count {m} is not the decryption of the aggregate"))
        try:
            recomputed = compute_results(ctx.manifest, counts)
        except SiveiError as exc:
            report.add("results", layout.RESULTS, str(exc))
            return
        for mine, theirs in zip(recomputed.contests, published.contests, strict=False):
            where = f"{layout.RESULTS}: {mine.entity}/{mine.contest_id}"
            if (mine.entity, mine.contest_id) != (theirs.entity, theirs.contest_id):
                report.add("results", where, tr("orden de contiendas distinto al del manifiesto",
                                                "contest order differs from the manifest's"))
                continue
            if mine.total != theirs.total or mine.candidate_totals != theirs.candidate_totals:
                report.add("results.totals", where, tr("totales o votos por candidatura mal calculados",
                                                       "totals or candidate votes miscomputed"))
            if mine.party_distribution != theirs.party_distribution:
                report.add("results.distribution", where,
                           tr("la distribución de votos de coalición no sigue la regla del manifiesto",
                              "the coalition vote distribution does not follow the manifest's rule"))
        if len(recomputed.contests) != len(published.contests):
            report.add("results", layout.RESULTS, tr("número de contiendas incorrecto", "wrong number of contests"))

    def _acts(self, ctx: ElectionContext, outcome: CeremonyOutcome, tally: EncryptedTally) -> None:
        """The opening act (signed by all n) and the closing act (by at least t), field by field
        against what this verifier recomputed, and the integrity constancia the opening act names."""
        report = self.report
        n, t = self.threshold
        keys = guardian_keys_by_name(outcome.signing_keys)
        manifest, group = ctx.manifest, ctx.group
        ceremony_id, rounds = self.ceremony
        cred = self.credential_body
        expected_opening: dict[str, Any] = {
            "election_id": manifest.election_id,
            "parameters_fingerprint": group.fingerprint.hex(),
            "manifest_hash": manifest.hash.hex(),
            "voting_opens": manifest.to_json()["voting_opens"],
            "voting_closes": manifest.to_json()["voting_closes"],
            "credential_authority_key": cred.get("authority_key"),
            "credential_list_hash": self.credential_list_hash,
            "credential_counts": cred.get("counts"),
            "ceremony_id": ceremony_id,
            "threshold": t,
            "guardians": n,
            "joint_key": element_to_hex(group, outcome.joint_key),
            "transcript_hash": transcript_hash(manifest.election_id, ceremony_id, rounds).hex(),
            "election_hash": ctx.election_hash.hex(),
            "guardian_signing_keys": [k.hex() for k in outcome.signing_keys],
            "genesis_head": genesis_head(ctx.election_hash).hex(),
        }
        opening = self._read_act(layout.OPENING_ACT, OPENING, "acts.opening")
        if opening is not None:
            for message in opening.signature_problems(keys, required=n, what=layout.OPENING_ACT):
                report.add("acts.opening.signature", layout.OPENING_ACT, message)
            body = opening.body
            for field, value in expected_opening.items():
                if value is not None and body.get(field) != value:
                    report.add("acts.opening.content", f"{layout.OPENING_ACT}: {field}",
                               tr("el valor del acta no corresponde al registro",
                                  "the act's value does not match the record"))
            receipt = body.get("receipt_key")
            try:
                load_public_key(hex_to_bytes(receipt, 65, "receipt_key"), "receipt_key")
                report.add_fingerprint("receipt_key", tr("llave de recibos", "receipt key"),
                                       fingerprint(key_fingerprint_digest(bytes.fromhex(str(receipt)))))
            except SiveiError as exc:
                report.add("acts.opening.content", f"{layout.OPENING_ACT}: receipt_key", str(exc))
            self._integrity(body.get("integrity_digest"))
        closing = self._read_act(layout.CLOSING_ACT, CLOSING, "acts.closing")
        if closing is not None:
            for message in closing.signature_problems(keys, required=t, what=layout.CLOSING_ACT):
                report.add("acts.closing.signature", layout.CLOSING_ACT, message)
            body = closing.body
            expected_closing: dict[str, Any] = {"election_id": manifest.election_id,
                                                "election_hash": ctx.election_hash.hex(),
                                                "encrypted_tally_hash": tally.hash(ctx).hex()}
            if self.close is not None:
                index, head, payload = self.close
                expected_closing.update(head=head.hex(), head_index=index, cast=payload.get("cast"),
                                        late=payload.get("late"))
            for field, value in expected_closing.items():
                if body.get(field) != value:
                    report.add("acts.closing.content", f"{layout.CLOSING_ACT}: {field}",
                               tr("el valor del acta no corresponde al registro",
                                  "the act's value does not match the record"))
            closed_at = parse_instant(body.get("closed_at"))
            if closed_at is None or closed_at < manifest.voting_closes:
                report.add("acts.closing.content", f"{layout.CLOSING_ACT}: closed_at",
                           tr("el cierre es anterior al fin de la ventana de votación",
                              "the close is earlier than the end of the voting window"))

    def _read_act(self, name: str, type_: str, check: str) -> SignedAct | None:
        try:
            act = SignedAct.from_json(self.reader.read_json(name), name)
        except SiveiError as exc:
            self.report.add(check, name, str(exc))
            return None
        if act.type != type_:
            self.report.add(check, name, tr("tipo de acta equivocado", "wrong act type"))
            return None
        self.report.add_fingerprint(type_.replace("-", "_"), tr(f"acta ({name})", f"act ({name})"),
                                    fingerprint(act.content_hash))
        return act

    def _integrity(self, digest: object) -> None:
        """The integrity constancia named by the opening act (see ``sivei.integrity``)."""
        check_integrity_file(self.reader, digest, self.report)


def verify_record(path: Path, options: VerifyOptions | None = None) -> VerificationReport:
    """Verify the record at ``path``; never raises for bad record content (it is reported)."""
    verifier = _Verifier(path, options or VerifyOptions())
    try:
        return verifier.run()
    except SiveiError as exc:
        verifier.report.add("record", str(path), str(exc))
        return verifier.report


def verify_closed_record(path: Path, options: VerifyOptions | None = None
                         ) -> tuple[VerificationReport, EncryptedTally | None]:
    """Verify a closed record and return the encrypted tally recomputed from its board — the only
    thing a key-holder may decrypt, and only when the report is clean."""
    report, closed = verify_closed_record_tallies(path, options)
    return report, closed.combined if closed is not None else None


@dataclass(frozen=True)
class ClosedTallies:
    """What the key-holders may decrypt, recomputed from a closed record's board: the combined tally
    and, with in-person voting, the ``consulados`` channel's aggregates (docs/protocol.md §20.5)."""

    combined: EncryptedTally
    consulados: EncryptedTally | None


def verify_closed_record_tallies(path: Path, options: VerifyOptions | None = None
                                 ) -> tuple[VerificationReport, ClosedTallies | None]:
    """``verify_closed_record`` with the consulados channel's aggregates too (None when the report
    is not clean)."""
    from dataclasses import replace

    verifier = _Verifier(path, replace(options or VerifyOptions(), closed=True))
    try:
        report = verifier.run()
    except SiveiError as exc:
        verifier.report.add("record", str(path), str(exc))
        return verifier.report, None
    if not report.ok or verifier.tally is None:
        return report, None
    return report, ClosedTallies(verifier.tally, verifier.channel_tally)
