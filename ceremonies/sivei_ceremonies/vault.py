"""The decryption ceremony (apertura de la bóveda).

1. The coordinator verifies the closed record and exports its encrypted tally with the decryption
   session's id (``export``). Export file::

       {"format": "sivei-boveda", "version": 1, "election_id": "…", "decryption_id": "…",
        "key_ceremony_id": "…", "tally_hash": "<64 hex>", "encrypted_tally": {"entries": […]}}

2. Each key-holder present, on their own laptop (``decrypt``): opens the token, verifies the closed
   record itself — every ballot, the counting policy, the board chain against the closing act, the
   acts and the constancia (``verify_closed_record``) — which recomputes the encrypted tally from the
   board; refuses unless the coordinator's export is exactly that tally; unseals the share (only in
   memory), checks it against K_i, and decrypts nothing but those aggregates. The share file is the
   library's signed ``decryption-shares`` envelope, which names the tally hash. With in-person voting
   at consulates, the same step also decrypts the ``consulados`` aggregates of the cells where every
   channel has at least 30 ballots — recomputed from the board and the declaration, never taken from
   the coordinator — into a second share file, ``<share>-canales.json``, of session
   ``<opening>-canales`` (docs/protocol.md §20.5).

3. The coordinator combines the share files (``combine``): every share file is checked (signature by
   the key-holder's key from the transcript, election, session, tally hash, every Chaum–Pedersen
   proof); any invalid file is refused naming whose it is and what fails; with fewer than t it refuses
   naming who is missing; with at least t it combines them all, writes the complete record (a copy of
   the closed record plus ``decryption.json`` and ``results.json`` and, with in-person voting,
   ``consulados/canales.json`` with the results per channel of the qualifying cells, combined from at
   least t key-holders' split shares, checked the same way), verifies it and prints the results.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sivei.ballot.context import ElectionContext
from sivei.ballot.in_person import CHANNEL_MINIMUM
from sivei.ballot.manifest import Manifest
from sivei.cli.verify_cmd import print_progress
from sivei.crypto.batch import DEFAULT_BITS
from sivei.crypto.envelope import Envelope
from sivei.crypto.fingerprint import fingerprint
from sivei.errors import SiveiError
from sivei.i18n import language, tr
from sivei.record.consulates import RECORD_DIR, channels_path
from sivei.record.context import load_election_context
from sivei.record.verify import VerifyOptions, verify_closed_record_tallies, verify_record
from sivei.record.writer import add_decryption, add_files
from sivei.tally.aggregate import EncryptedTally
from sivei.tally.channels import ChannelSplit, channels_session_id, split_channels_json
from sivei.tally.decrypt import (
    TYPE_DECRYPTION_SHARES,
    GuardianDecryption,
    combine_tally,
    decrypt_tally_share,
    failing_shares,
    parse_guardian_decryption,
    require_share_members,
)
from sivei.tally.results import ElectionResults, compute_results, format_results
from sivei_ceremonies.common import (
    Out,
    RefusalError,
    check_election,
    check_folder_election,
    constancia_banner,
    custodian,
    keyholder_token,
    read_json,
    refuse_existing,
    signing_key_fingerprint,
    write_json_new,
)
from sivei_ceremonies.keycheck import unseal_share
from sivei_ceremonies.keygen import PrivatePaths, Transcript, load_transcript

EXPORT_FORMAT = "sivei-boveda"
EXPORT_VERSION = 1
_EXPORT_FIELDS = {"format", "version", "election_id", "decryption_id", "key_ceremony_id", "tally_hash",
                  "encrypted_tally"}
_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MAX_PROBLEMS_SHOWN = 20


@dataclass(frozen=True)
class Export:
    election_id: str
    decryption_id: str
    key_ceremony_id: str
    tally_hash: bytes
    tally: EncryptedTally


@dataclass(frozen=True)
class Closed:
    """A verified closed record: its context, transcript, the tally recomputed from the board and,
    with in-person voting, what may be decrypted per channel (docs/protocol.md §20.5)."""

    ctx: ElectionContext
    transcript: Transcript
    tally: EncryptedTally
    channels: ChannelSplit | None


def verify_closed(record: Path, *, allow_test_group: bool, jobs: int | None, out: Out, quiet: bool = False,
                  lote_bits: int = DEFAULT_BITS) -> Closed:
    """Verify the closed record (proofs in batches of security ``lote_bits``, protocol §8.5); return its
    context, transcript, the tally recomputed from the board and the channel split."""
    check_folder_election(record)
    out.step(tr(f"Verificación del registro cerrado {record} (cada boleta, la política de conteo, la cadena del "
                "tablero contra el acta de cierre, las actas y la constancia)",
                f"Verifying the closed record {record} (every ballot, the counting policy, the board chain "
                "against the closing act, the acts and the constancia)"))
    started = time.monotonic()
    report, tallies = verify_closed_record_tallies(record, VerifyOptions(
        allow_test_group=allow_test_group, jobs=jobs, progress=None if quiet else print_progress, lote_bits=lote_bits))
    if not report.ok or tallies is None:
        lines = [str(p) for p in report.problems[:MAX_PROBLEMS_SHOWN]]
        more = len(report.problems) - len(lines)
        if more > 0:
            lines.append(tr(f"… y {more} más", f"… and {more} more"))
        raise RefusalError(tr("el registro cerrado NO verifica; no se produce nada:\n  ",
                              "the closed record does NOT verify; nothing is produced:\n  ") + "\n  ".join(lines))
    out.ok(tr(f"registro cerrado verificado en {time.monotonic() - started:.1f} s",
              f"closed record verified in {time.monotonic() - started:.1f} s"))
    out.info(tr(f"pruebas verificadas por lotes con λ = {lote_bits}: una prueba falsa pasaría con probabilidad "
                f"≤ 2·2^−{lote_bits}",
                f"proofs checked in batches with λ = {lote_bits}: a false proof would pass with probability "
                f"≤ 2·2^−{lote_bits}"))
    for key, value in report.fingerprints.items():
        out.info(f"{report.label(key)}: {value}")
    try:
        ctx = load_election_context(record, allow_test_group=allow_test_group)
    except SiveiError as exc:  # pragma: no cover - the record just verified
        raise RefusalError(str(exc)) from None
    transcript = load_transcript(record, allow_test_group=allow_test_group)
    out.aloud(tr("huella de la elección (H_E)", "election fingerprint (H_E)"), fingerprint(ctx.election_hash))
    tally = tallies.combined
    out.aloud(tr("recuento cifrado recalculado del tablero", "encrypted tally recomputed from the board"),
              fingerprint(tally.hash(ctx)))
    channels = ChannelSplit.of(tally, tallies.consulados) if tallies.consulados is not None else None
    if channels is not None:
        split = channels.split
        out.info(tr(f"votación presencial en consulados: {len(split.entries)} de {len(channels.cells)} celdas "
                    f"(entidad × elección) tienen al menos {CHANNEL_MINIMUM} boletas en cada canal y se descifran "
                    "también por canal",
                    f"in-person voting at consulates: {len(split.entries)} of {len(channels.cells)} cells "
                    f"(entity × contest) have at least {CHANNEL_MINIMUM} ballots in each channel and are also "
                    "decrypted per channel"))
        if split.entries:
            out.aloud(tr("agregados por canal recalculados del tablero",
                         "channel aggregates recomputed from the board"), fingerprint(split.hash(ctx)))
    return Closed(ctx, transcript, tally, channels)


def _check_session_id(value: str) -> None:
    if not _SESSION_ID.fullmatch(value):
        raise RefusalError(tr(f"identificador de apertura no válido «{value}»", f"invalid vault-opening id «{value}»"))


def export(record: Path, decryption_id: str, output: Path, *, allow_test_group: bool, jobs: int | None,
           out: Out, lote_bits: int = DEFAULT_BITS) -> Export:
    out.title(tr("APERTURA DE LA BÓVEDA — EXPORTACIÓN (coordinador)", "VAULT OPENING — EXPORT (coordinator)"))
    constancia_banner(out)
    _check_session_id(decryption_id)
    refuse_existing(output)
    closed = verify_closed(record, allow_test_group=allow_test_group, jobs=jobs, out=out, lote_bits=lote_bits)
    ctx, transcript, tally = closed.ctx, closed.transcript, closed.tally
    data: dict[str, Any] = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "election_id": ctx.manifest.election_id,
                            "decryption_id": decryption_id, "key_ceremony_id": transcript.ceremony_id,
                            "tally_hash": tally.hash(ctx).hex(), "encrypted_tally": tally.to_json(ctx.group)}
    write_json_new(output, data)
    out.step(tr(f"Recuento cifrado exportado en {output} (apertura «{decryption_id}»): entréguelo, con el registro "
                "cerrado, a cada custodio presente",
                f"Encrypted tally exported to {output} (opening «{decryption_id}»): hand it, with the closed record, "
                "to each key-holder present"))
    return Export(ctx.manifest.election_id, decryption_id, transcript.ceremony_id, tally.hash(ctx), tally)


def _export_header(path: Path) -> dict[str, Any]:
    data = read_json(path)
    if not isinstance(data, dict) or set(data) != _EXPORT_FIELDS or data.get("format") != EXPORT_FORMAT:
        raise RefusalError(tr(f"{path}: no es una exportación de la bóveda de SIVEI",
                              f"{path}: not a SIVEI vault export"))
    check_election(data["election_id"], str(path))
    return data


def read_export(path: Path, ctx: ElectionContext) -> Export:
    data = _export_header(path)
    if data["version"] != EXPORT_VERSION:
        raise RefusalError(tr(f"{path}: versión no soportada", f"{path}: unsupported version"))
    if data["election_id"] != ctx.manifest.election_id:
        raise RefusalError(tr(f"{path}: es de la elección «{data['election_id']}», no de «{ctx.manifest.election_id}»",
                              f"{path}: belongs to election «{data['election_id']}», not «{ctx.manifest.election_id}»"))
    for key in ("decryption_id", "key_ceremony_id", "tally_hash"):
        if not isinstance(data[key], str):
            raise RefusalError(tr(f"{path}: {key} no válido", f"{path}: invalid {key}"))
    _check_session_id(data["decryption_id"])
    try:
        tally = EncryptedTally.from_json(ctx.group, data["encrypted_tally"])
        stated = bytes.fromhex(data["tally_hash"])
    except (SiveiError, ValueError) as exc:
        raise RefusalError(tr(f"{path}: recuento cifrado ilegible: {exc}",
                              f"{path}: unreadable encrypted tally: {exc}")) from None
    return Export(data["election_id"], data["decryption_id"], data["key_ceremony_id"], stated, tally)


def compare_export(ctx: ElectionContext, export_data: Export, tally: EncryptedTally, transcript: Transcript,
                   path: Path) -> None:
    """Refuse unless the coordinator's export is exactly the tally recomputed from the closed record."""
    problems: list[str] = []
    if export_data.key_ceremony_id != transcript.ceremony_id:
        problems.append(tr(f"nombra la ceremonia de llaves «{export_data.key_ceremony_id}», no "
                           f"«{transcript.ceremony_id}»",
                           f"names key ceremony «{export_data.key_ceremony_id}», not «{transcript.ceremony_id}»"))
    theirs = export_data.tally.entries
    if len(theirs) != len(tally.entries):
        problems.append(tr(f"tiene {len(theirs)} agregados; el registro, {len(tally.entries)}",
                           f"has {len(theirs)} aggregates; the record, {len(tally.entries)}"))
    else:
        for mine, other in zip(tally.entries, theirs, strict=True):
            if mine != other:
                contest = ctx.manifest.contests[mine.contest_index].id if mine.contest_index < len(
                    ctx.manifest.contests) else "?"
                problems.append(tr(f"el agregado {mine.entity}/{contest} no es el producto de las boletas del tablero",
                                   f"the aggregate {mine.entity}/{contest} is not the product of the board's ballots"))
    if export_data.tally_hash != tally.hash(ctx) or export_data.tally.hash(ctx) != tally.hash(ctx):
        problems.append(tr("su hash no es el del recuento recalculado (el que nombra el acta de cierre)",
                           "its hash is not that of the recomputed tally (the one the closing act names)"))
    if problems:
        raise RefusalError(tr(f"el recuento cifrado del coordinador ({path}) NO es el recalculado del registro "
                              "cerrado; no se descifra nada:\n  ",
                              f"the coordinator's encrypted tally ({path}) is NOT the one recomputed from the closed "
                              "record; nothing is decrypted:\n  ") + "\n  ".join(problems))


def decrypt(record: Path, export_path: Path, private: Path, index: int, token_label: str, module_path: str | None,
            output: Path, *, share_path: Path | None, allow_test_group: bool, jobs: int | None, out: Out,
            lote_bits: int = DEFAULT_BITS) -> Envelope:
    out.title(tr(f"APERTURA DE LA BÓVEDA — CUSTODIO {index}", f"VAULT OPENING — KEY-HOLDER {index}"))
    constancia_banner(out)
    refuse_existing(output)
    if (record / RECORD_DIR).is_dir():  # in-person voting: the per-channel share goes beside (§20.5)
        refuse_existing(channels_share_path(output))
    # Everything that takes seconds comes first: the kind of election, the transcript, this token's
    # place in it, the export's election and ceremony, and the sealed share opening with this token.
    # Only then the check of the whole board, which takes minutes on a real election.
    check_folder_election(record)
    early = load_transcript(record, allow_test_group=allow_test_group)
    if not 1 <= index <= early.n:
        raise RefusalError(tr(f"el custodio debe estar entre 1 y {early.n}",
                              f"the key-holder must be between 1 and {early.n}"))
    header = _export_header(export_path)
    if (header["election_id"], header["key_ceremony_id"]) != (early.election_id, early.ceremony_id):
        raise RefusalError(tr(f"{export_path}: es de la elección «{header['election_id']}», ceremonia "
                              f"«{header['key_ceremony_id']}»; el registro, de «{early.election_id}», "
                              f"«{early.ceremony_id}»",
                              f"{export_path}: belongs to election «{header['election_id']}», ceremony "
                              f"«{header['key_ceremony_id']}»; the record, to «{early.election_id}», "
                              f"«{early.ceremony_id}»"))
    with keyholder_token(token_label, module_path, out) as session:
        signer, sealer = session.signer(), session.sealer()
        out.aloud(tr("huella de la llave de firma del token", "fingerprint of the token's signing key"),
                  signing_key_fingerprint(signer.public_key))
        if signer.public_key != early.signing_key(index):
            raise RefusalError(tr(f"la llave de firma del token «{token_label}» no es la del {custodian(index)} en la "
                                  f"ceremonia de llaves «{early.ceremony_id}»: ¿es el token o el número de custodio "
                                  "correcto? (no se revisó el tablero)",
                                  f"the signing key of token «{token_label}» is not {custodian(index)}'s in key "
                                  f"ceremony «{early.ceremony_id}»: is it the right token or key-holder number? (the "
                                  "board was not checked)"))
        path = share_path or PrivatePaths.of(private, early.ceremony_id, index).share
        unseal_share(early, index, path, sealer)  # the seal opens with this token and matches K_i
        out.ok(tr("token, custodio y parte sellada corresponden a la ceremonia; ahora se verifica el registro",
                  "token, key-holder and sealed share belong to the ceremony; now the record is verified"))
        closed = verify_closed(record, allow_test_group=allow_test_group, jobs=jobs, out=out, lote_bits=lote_bits)
        ctx, transcript, tally = closed.ctx, closed.transcript, closed.tally
        export_data = read_export(export_path, ctx)
        compare_export(ctx, export_data, tally, transcript, export_path)
        out.step(tr("El recuento cifrado del coordinador es exactamente el recalculado del registro cerrado",
                    "The coordinator's encrypted tally is exactly the one recomputed from the closed record"))
        out.info(tr(f"apertura «{export_data.decryption_id}»", f"opening «{export_data.decryption_id}»"))
        if transcript.hash != early.hash:  # pragma: no cover - the same files, read twice
            raise RefusalError(tr("la transcripción cambió durante la verificación",
                                  "the transcript changed during the verification"))
        share = unseal_share(transcript, index, path, sealer)
        out.step(tr(f"Parte secreta abierta con el token (solo en memoria) y comprobada contra K_{index}",
                    f"Secret share opened with the token (in memory only) and checked against K_{index}"))
        started = time.monotonic()
        key = transcript.outcome.guardian_keys[index - 1]
        envelope = decrypt_tally_share(ctx, tally, guardian=index, secret_share=share, guardian_key=key,
                                       signer=signer, ceremony_id=export_data.decryption_id)
        split = closed.channels.split if closed.channels is not None else EncryptedTally(())
        split_envelope = decrypt_tally_share(
            ctx, split, guardian=index, secret_share=share, guardian_key=key, signer=signer,
            ceremony_id=channels_session_id(export_data.decryption_id)) if split.entries else None
        del share
    count = sum(len(e.ciphertexts) for e in (*tally.entries, *split.entries))
    out.step(tr(f"{count} descifrados parciales con sus pruebas, firmados con el token "
                f"({time.monotonic() - started:.1f} s); solo se descifraron los agregados",
                f"{count} partial decryptions with their proofs, signed with the token "
                f"({time.monotonic() - started:.1f} s); only the aggregates were decrypted"))
    written = {output: envelope}
    if split_envelope is not None:
        written[channels_share_path(output)] = split_envelope
    for path in written:
        refuse_existing(path)
    for path, env in written.items():
        write_json_new(path, env.to_json())
    out.step(tr(f"Parte de descifrado escrita en {output}: entréguela al coordinador",
                f"Decryption share written to {output}: hand it to the coordinator"))
    if split_envelope is not None:
        out.step(tr(f"Parte de descifrado por canal (consulados) escrita en {channels_share_path(output)}: "
                    "entréguela también al coordinador",
                    f"Per-channel decryption share (consulates) written to {channels_share_path(output)}: hand it "
                    "to the coordinator too"))
    return envelope


def channels_share_path(output: Path) -> Path:
    """Where a key-holder's share of the channel split goes, beside their share of the tally."""
    return output.with_name(f"{output.stem}-canales{output.suffix or '.json'}")


@dataclass(frozen=True)
class CombineResult:
    record: Path
    present: tuple[int, ...]
    results: ElectionResults


def _read_share_file(path: Path) -> Envelope:
    try:
        return Envelope.from_json(read_json(path), str(path))
    except SiveiError as exc:
        raise RefusalError(str(exc)) from None


def _check_share_file(ctx: ElectionContext, transcript: Transcript, tally: EncryptedTally, decryption_id: str,
                      path: Path, lote_bits: int = DEFAULT_BITS, envelope: Envelope | None = None
                      ) -> GuardianDecryption:
    """One key-holder's share file, checked against ``tally`` (the combined tally, or the channel
    split) of session ``decryption_id``."""
    try:
        envelope = envelope or Envelope.from_json(read_json(path), str(path))
        decryption = parse_guardian_decryption(ctx, envelope, str(path), membership=False)
        require_share_members(ctx, [(decryption, str(path))], bits=lote_bits)
    except SiveiError as exc:
        raise RefusalError(str(exc)) from None
    i = decryption.guardian
    who = custodian(i)
    if not 1 <= i <= transcript.n:
        raise RefusalError(tr(f"{path}: custodio {i} fuera de 1..{transcript.n}",
                              f"{path}: key-holder {i} outside 1..{transcript.n}"))
    if envelope.type != TYPE_DECRYPTION_SHARES or envelope.election_id != ctx.manifest.election_id \
            or envelope.ceremony_id != decryption_id or envelope.round != 0:
        raise RefusalError(tr(f"{path}: la parte del {who} es de otra elección o apertura («{envelope.election_id}», "
                              f"«{envelope.ceremony_id}»); se esperaba «{ctx.manifest.election_id}», «{decryption_id}»",
                              f"{path}: {who}'s share belongs to another election or opening "
                              f"(«{envelope.election_id}», "
                              f"«{envelope.ceremony_id}»); expected «{ctx.manifest.election_id}», «{decryption_id}»"))
    try:
        envelope.verify(transcript.signing_key(i))
    except SiveiError as exc:
        raise RefusalError(tr(f"{path}: {exc}: la parte no está firmada por el token del {who}",
                              f"{path}: {exc}: the share is not signed by {who}'s token")) from None
    t_hash = tally.hash(ctx)
    if decryption.tally_hash != t_hash or envelope.previous != t_hash:
        raise RefusalError(tr(f"{path}: la parte del {who} descifra otro recuento cifrado",
                              f"{path}: {who}'s share decrypts another encrypted tally"))
    if len(decryption.shares) != len(tally.entries) or any(
            len(row) != len(e.ciphertexts) for row, e in zip(decryption.shares, tally.entries, strict=True)):
        raise RefusalError(tr(f"{path}: número de partes incorrecto", f"{path}: wrong number of shares"))
    key = transcript.outcome.guardian_keys[i - 1]
    (failed,) = failing_shares(ctx, tally, [(decryption, key)], bits=lote_bits)
    if failed:
        ei, oi = failed[0]
        entry = tally.entries[ei]
        contest = ctx.manifest.contests[entry.contest_index]
        raise RefusalError(tr(
            f"{path}: la prueba de descifrado del {who} no es válida en {entry.entity}/{contest.id}/"
            f"{contest.options[oi].id}: esa parte no se usa",
            f"{path}: {who}'s decryption proof is invalid at {entry.entity}/{contest.id}/"
            f"{contest.options[oi].id}: that share is not used"))
    return decryption


def combine(record: Path, export_path: Path, share_paths: Sequence[Path], output: Path, *, allow_test_group: bool,
            jobs: int | None, out: Out, lote_bits: int = DEFAULT_BITS) -> CombineResult:
    out.title(tr("APERTURA DE LA BÓVEDA — COMBINACIÓN (coordinador)", "VAULT OPENING — COMBINATION (coordinator)"))
    constancia_banner(out)
    refuse_existing(output)
    closed = verify_closed(record, allow_test_group=allow_test_group, jobs=jobs, out=out, lote_bits=lote_bits)
    ctx, transcript, tally, channels = closed.ctx, closed.transcript, closed.tally, closed.channels
    export_data = read_export(export_path, ctx)
    compare_export(ctx, export_data, tally, transcript, export_path)
    split = channels.split if channels is not None else EncryptedTally(())
    split_id = channels_session_id(export_data.decryption_id)
    out.step(tr(f"Partes de descifrado de la apertura «{export_data.decryption_id}»:",
                f"Decryption shares of opening «{export_data.decryption_id}»:"))
    problems: list[str] = []
    valid: dict[int, GuardianDecryption] = {}
    valid_split: dict[int, GuardianDecryption] = {}
    for path in share_paths:
        try:
            envelope = _read_share_file(path)
            per_channel = envelope.ceremony_id == split_id
            if per_channel and not split.entries:
                raise RefusalError(tr(
                    f"{path}: es una parte por canal, pero ninguna celda de este registro tiene {CHANNEL_MINIMUM} "
                    "boletas en cada canal: no se descifra nada por canal",
                    f"{path}: a per-channel share, but no cell of this record has {CHANNEL_MINIMUM} ballots in each "
                    "channel: nothing is decrypted per channel"))
            d = _check_share_file(ctx, transcript, split if per_channel else tally,
                                  split_id if per_channel else export_data.decryption_id, path, lote_bits, envelope)
        except RefusalError as exc:
            problems.append(str(exc))
            continue
        kind, into = (tr("parte por canal", "per-channel share"), valid_split) if per_channel else (
            tr("parte", "share"), valid)
        if d.guardian in into:
            problems.append(tr(f"{path}: segunda {kind} del {custodian(d.guardian)}",
                               f"{path}: second {kind} of {custodian(d.guardian)}"))
            continue
        into[d.guardian] = d
        out.ok(tr(f"{kind} válida del {custodian(d.guardian)} ({path.name})",
                  f"valid {kind} of {custodian(d.guardian)} ({path.name})"))
    if problems:
        raise RefusalError(tr("hay partes no válidas; no se combina nada (retire esos archivos o pida que se "
                              "rehagan):\n  ",
                              "there are invalid shares; nothing is combined (remove those files or have them "
                              "redone):\n  ") + "\n  ".join(problems))
    present = tuple(sorted(valid))
    _require_threshold(transcript, present, "")
    if split.entries:
        _require_threshold(transcript, tuple(sorted(valid_split)), tr(
            f" por canal (archivos «…-canales.json»: {len(split.entries)} celdas con al menos {CHANNEL_MINIMUM} "
            "boletas en cada canal)",
            f" per channel («…-canales.json» files: {len(split.entries)} cells with at least {CHANNEL_MINIMUM} "
            "ballots in each channel)"))
    started = time.monotonic()
    decryptions = [valid[i] for i in present]
    combined = combine_tally(ctx, tally, decryptions, n=transcript.n, t=transcript.t)
    counts = {(entry.entity, ctx.manifest.contests[entry.contest_index].id): list(row)
              for entry, row in zip(tally.entries, combined.counts, strict=True)}
    results = compute_results(ctx.manifest, counts)
    extra: dict[str, bytes] = {}
    per_channel_lines: list[str] = []
    if channels is not None:
        split_decryptions = [valid_split[i] for i in sorted(valid_split)]
        channels_data = split_channels_json(ctx, channels, split_id, split_decryptions, n=transcript.n,
                                            t=transcript.t, combined_counts=counts)
        extra[channels_path()] = json.dumps(channels_data, ensure_ascii=False, indent=1).encode()
        per_channel_lines = _channel_lines(ctx.manifest, channels_data)
        if split.entries:
            out.step(tr(f"Resultados por canal de {len(split.entries)} celdas, con las partes por canal de "
                        f"{', '.join(custodian(i) for i in sorted(valid_split))}",
                        f"Results per channel of {len(split.entries)} cells, with the per-channel shares of "
                        f"{', '.join(custodian(i) for i in sorted(valid_split))}"))
        else:
            out.info(tr(f"ninguna celda tiene {CHANNEL_MINIMUM} boletas en cada canal: solo resultados combinados",
                        f"no cell has {CHANNEL_MINIMUM} ballots in each channel: combined results only"))
    out.step(tr(f"Partes de {', '.join(custodian(i) for i in present)} combinadas y conteos decodificados "
                f"({time.monotonic() - started:.1f} s)",
                f"Shares of {', '.join(custodian(i) for i in present)} combined and counts decoded "
                f"({time.monotonic() - started:.1f} s)"))
    final = _write_full_record(record, output, ctx.manifest, export_data.decryption_id, combined, decryptions,
                               results, extra)
    out.step(tr(f"Registro completo escrito en {final}", f"Complete record written to {final}"))
    report = verify_record(final, VerifyOptions(allow_test_group=allow_test_group, jobs=jobs, lote_bits=lote_bits))
    if not report.ok:  # pragma: no cover - everything it checks was checked above
        raise RefusalError(tr("el registro completo no verifica:\n", "the complete record does not verify:\n")
                           + report.format_text())
    out.ok(tr("el registro completo verifica («sivei verificar»)", "the complete record verifies («sivei verify»)"))
    out.blank()
    out.raw(format_results(ctx.manifest, results, language()))
    if per_channel_lines:
        out.blank()
        out.raw("\n".join(per_channel_lines))
    return CombineResult(final, present, results)


def _channel_lines(manifest: Manifest, per_channel: Mapping[str, Any]) -> list[str]:
    """The results per channel as a terminal table (``canales.json``'s split results)."""
    rows = per_channel.get("split", {}).get("results", [])
    if not rows:
        return []
    title = tr(f"Resultados por canal (celdas con al menos {CHANNEL_MINIMUM} boletas en cada canal)",
               f"Results per channel (cells with at least {CHANNEL_MINIMUM} ballots in each channel)")
    lines = [title, "=" * len(title)]
    for r in rows:
        contest = manifest.contest(r["contest_id"])
        lines += ["", f"{r['entity']} · {contest.title}",
                  f"  {tr('opción', 'option'):<28} {tr('consulados', 'consulates'):>12} {'internet':>12}"]
        lines += [f"  {o['id']:<28} {o['consulados']:>12} {o['internet']:>12}" for o in r["options"]]
    return lines


def _require_threshold(transcript: Transcript, present: Sequence[int], what: str) -> None:
    """At least t key-holders' valid shares (``what``: which kind, for the message), or a refusal naming
    who is missing."""
    if len(present) >= transcript.t:
        return
    missing = [i for i in range(1, transcript.n + 1) if i not in present]
    raise RefusalError(tr(
        f"se necesitan partes{what} de al menos {transcript.t} custodios y hay {len(present)} "
        f"({', '.join(custodian(i) for i in present) or 'ninguno'}); faltan {transcript.t - len(present)} de: "
        f"{', '.join(custodian(i) for i in missing)}. No se combina nada",
        f"shares{what} of at least {transcript.t} key-holders are needed and {len(present)} are present "
        f"({', '.join(custodian(i) for i in present) or 'none'}); {transcript.t - len(present)} more needed from: "
        f"{', '.join(custodian(i) for i in missing)}. Nothing is combined"))


def _write_full_record(record: Path, output: Path, manifest: Manifest, decryption_id: str, combined: Any,
                       decryptions: Sequence[GuardianDecryption], results: ElectionResults,
                       extra: Mapping[str, bytes]) -> Path:
    """A copy of the closed record completed with the decryption, the results and ``extra`` files (the
    results per channel), moved into place."""
    parent = output.parent if str(output.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=parent))
    try:
        copy = staging / "registro"
        shutil.copytree(record, copy)
        add_decryption(copy, manifest=manifest, decryption_id=decryption_id, decryption=combined,
                       envelopes=[d.envelope for d in decryptions], results=results)
        add_files(copy, extra)
        copy.chmod(0o755)
        os.replace(copy, output)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
    return output
