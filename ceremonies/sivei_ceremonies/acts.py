"""The opening act (acta de inicio) and the closing act (acta de cierre): draft, show, sign, merge.

The acts and their content hash are the library's (``sivei.record.acts``). Here:

- the coordinator drafts the opening act from the key ceremony's transcript, the signed credential
  list, the server's receipt key and the integrity constancia (``draft_opening``), or the closing act
  from a closed record's board (``draft_closing``), and prints it for autograph signature;
- each key-holder's script recomputes every value it can from the same public files before signing
  with the token (``sign_act``): it refuses an act whose content differs, and prints the values that
  people compare aloud (receipt key, constancia, final head);
- the coordinator merges the signature files, each checked against the key-holder's key from the
  transcript, and refuses while any is invalid or fewer than required are present, naming who is
  missing (``merge_act``): all n for the opening act, at least t for the closing act.

Signature file (one per key-holder)::

    {"format": "sivei-firma-acta", "version": 1, "type": "opening-act" | "closing-act",
     "election_id": "…", "act_hash": "<64 hex: the act's content hash>", "signer": "guardian-<i>",
     "signature": "<128 hex: ECDSA P-256 r‖s over the act hash>"}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from sivei.ballot.board import EVENT_BALLOT, EVENT_CLOSE, GENESIS_PREVIOUS, BoardEvent, event_hash
from sivei.ballot.context import ElectionContext
from sivei.ballot.credentials import CredentialList
from sivei.crypto.context import election_hash
from sivei.crypto.ecdsa import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, load_public_key, verify_digest
from sivei.crypto.elgamal import ElectionKey
from sivei.crypto.encoding import hex_to_bytes
from sivei.crypto.fingerprint import fingerprint
from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei.integrity import IntegrityConstancia
from sivei.record import layout
from sivei.record.acts import OPENING, ActSignature, SignedAct, closing_act, format_act, opening_act
from sivei.record.board_file import iter_board
from sivei.record.context import load_election_context
from sivei.tally.aggregate import TallyAccumulator
from sivei_ceremonies.common import (
    Out,
    RefusalError,
    check_election,
    check_folder_election,
    constancia_banner,
    custodian,
    guardian_name,
    json_text,
    keyholder_token,
    read_json,
    refuse_existing,
    signing_key_fingerprint,
    write_json_new,
    write_text_atomic,
)
from sivei_ceremonies.keygen import Transcript, load_transcript

SIGNATURE_FORMAT = "sivei-firma-acta"
SIGNATURE_VERSION = 1
_SIGNATURE_FIELDS = {"format", "version", "type", "election_id", "act_hash", "signer", "signature"}


def act_title(act: SignedAct) -> str:
    return tr("acta de inicio", "opening act") if act.type == OPENING else tr("acta de cierre", "closing act")


def read_act(path: Path) -> SignedAct:
    try:
        act = SignedAct.from_json(read_json(path), str(path))
    except SiveiError as exc:
        raise RefusalError(str(exc)) from None
    check_election(act.election_id, str(path))
    return act


def read_receipt_key(path: Path) -> bytes:
    """The server's receipt public key: a PEM public key, or 130 hex digits (uncompressed point)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RefusalError(tr(f"no se puede leer {path}: {exc.strerror}",
                              f"cannot read {path}: {exc.strerror}")) from None
    text = data.decode("utf-8", "replace").strip()
    if text.startswith("-----BEGIN"):
        try:
            key = load_pem_public_key(data)
        except ValueError as exc:
            raise RefusalError(tr(f"{path}: llave PEM no válida ({exc})", f"{path}: invalid PEM key ({exc})")) from None
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise RefusalError(tr(f"{path}: la llave de recibos debe ser ECDSA P-256",
                                  f"{path}: the receipt key must be ECDSA P-256"))
        point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    else:
        try:
            point = hex_to_bytes(text, PUBLIC_KEY_BYTES, str(path))
        except SiveiError as exc:
            raise RefusalError(str(exc)) from None
    try:
        load_public_key(point, str(path))
    except SiveiError as exc:
        raise RefusalError(str(exc)) from None
    return point


# -- drafting -----------------------------------------------------------------------------------------


def _opening_body(transcript: Transcript, credentials: Path, receipt_key: bytes, integrity_digest: bytes) -> SignedAct:
    try:
        credential_list = CredentialList.read(credentials, transcript.manifest)
    except SiveiError as exc:
        raise RefusalError(tr(f"lista de credenciales en {credentials}: {exc}",
                              f"credential list in {credentials}: {exc}")) from None
    outcome = transcript.outcome
    h_e = election_hash(transcript.group, transcript.h_b, outcome.joint_key, outcome.commitments, credential_list.hash)
    ctx = ElectionContext(transcript.manifest, ElectionKey(transcript.group, outcome.joint_key), h_e)
    return opening_act(ctx, credential_list=credential_list, ceremony_id=transcript.ceremony_id, n=transcript.n,
                       t=transcript.t, rounds=transcript.rounds, signing_keys=outcome.signing_keys,
                       receipt_key=receipt_key, integrity_digest=integrity_digest)


def _closing_body(record: Path, *, allow_test_group: bool) -> SignedAct:
    """The closing act recomputed from a closed record's board (chain checked, ballots aggregated)."""
    check_folder_election(record)
    try:
        ctx = load_election_context(record, allow_test_group=allow_test_group)
    except SiveiError as exc:
        raise RefusalError(tr(f"registro {record}: {exc}", f"record {record}: {exc}")) from None
    reader = layout.RecordReader(record)
    acc = TallyAccumulator(ctx)
    previous = GENESIS_PREVIOUS
    last: BoardEvent | None = None
    try:
        for where, event, p_hash in iter_board(reader, ctx):
            head = event_hash(ctx.election_hash, previous, event.index, event.type, p_hash)
            if head != event.head or (last is None and event.index != 0) or (
                    last is not None and event.index != last.index + 1):
                raise RefusalError(tr(f"{where}: la cadena del tablero no es válida",
                                      f"{where}: the board chain is invalid"))
            if last is not None and last.type == EVENT_CLOSE:
                raise RefusalError(tr(f"{where}: evento después del cierre", f"{where}: event after the close"))
            if event.type == EVENT_BALLOT and event.ballot is not None:
                acc.add(event.ballot)
            previous, last = head, event
    except SiveiError as exc:
        raise RefusalError(str(exc)) from None
    if last is None or last.type != EVENT_CLOSE:
        raise RefusalError(tr(f"{record}: el tablero no está cerrado", f"{record}: the board is not closed"))
    tally = acc.result()
    return closing_act(ctx, closed_at=ctx.manifest.to_json()["voting_closes"], close_event=last,
                       late=int((last.payload or {}).get("late", 0)), encrypted_tally_hash=tally.hash(ctx))


def _present(act: SignedAct, out: Out) -> None:
    out.blank()
    out.raw(format_act(act))
    out.blank()
    out.aloud(tr(f"huella del {act_title(act)}", f"{act_title(act)} fingerprint"), fingerprint(act.content_hash))


def draft_opening(ceremony: Path, credentials: Path, receipt_key_path: Path, constancia_path: Path, output: Path, *,
                  allow_test_group: bool, out: Out) -> SignedAct:
    out.title(tr("ACTA DE INICIO — BORRADOR (coordinador)", "OPENING ACT — DRAFT (coordinator)"))
    constancia_banner(out)
    transcript = load_transcript(ceremony, allow_test_group=allow_test_group)
    out.step(tr(f"Transcripción de la ceremonia «{transcript.ceremony_id}» verificada",
                f"Transcript of ceremony «{transcript.ceremony_id}» verified"))
    constancia = IntegrityConstancia.load(constancia_path)
    out.step(tr(f"Constancia de integridad del servidor: {constancia.fingerprint} ({constancia_path})",
                f"Server integrity constancia: {constancia.fingerprint} ({constancia_path})"))
    receipt_key = read_receipt_key(receipt_key_path)
    act = _opening_body(transcript, credentials, receipt_key, constancia.digest)
    out.step(tr("Lista de credenciales verificada; acta redactada:", "Credential list verified; act drafted:"))
    _present(act, out)
    write_json_new(output, act.to_json())
    out.step(tr(f"Borrador escrito en {output}: impríma el texto; cada custodio lo firma con su token",
                f"Draft written to {output}: print the text; each key-holder signs it with their token"))
    return act


def draft_closing(record: Path, output: Path, *, allow_test_group: bool, out: Out) -> SignedAct:
    out.title(tr("ACTA DE CIERRE — BORRADOR (coordinador)", "CLOSING ACT — DRAFT (coordinator)"))
    constancia_banner(out)
    act = _closing_body(record, allow_test_group=allow_test_group)
    out.step(tr("Tablero leído, cadena comprobada y recuento cifrado calculado; acta redactada:",
                "Board read, chain checked and encrypted tally computed; act drafted:"))
    _present(act, out)
    write_json_new(output, act.to_json())
    out.step(tr(f"Borrador escrito en {output}: al menos t custodios lo firman con su token",
                f"Draft written to {output}: at least t key-holders sign it with their token"))
    return act


# -- showing, signing ---------------------------------------------------------------------------------


def show_act(path: Path, ceremony: Path | None, *, allow_test_group: bool, out: Out,
             printout: Path | None = None) -> SignedAct:
    out.title(tr("ACTA", "ACT"))
    constancia_banner(out)
    act = read_act(path)
    _present(act, out)
    if printout is not None:
        _print_act(act, ceremony, printout, allow_test_group=allow_test_group, out=out)
    if ceremony is not None:
        transcript = load_transcript(ceremony, allow_test_group=allow_test_group)
        problems = act.signature_problems(_keys(transcript), required=_required(act, transcript), what=path.name)
        if problems:
            for p in problems:
                out.warn(p)
        else:
            out.ok(tr("firmas electrónicas completas y válidas", "electronic signatures complete and valid"))
    return act


def _print_act(act: SignedAct, ceremony: Path | None, printout: Path, *, allow_test_group: bool, out: Out) -> None:
    from sivei.files import refuse_existing
    from sivei_ceremonies.keygen import SETUP_FILE, load_setup
    from sivei_ceremonies.material import act_document, write_document

    names: tuple[str, ...] = ()
    if ceremony is not None:
        n = load_transcript(ceremony, allow_test_group=allow_test_group).n
        if (ceremony / SETUP_FILE).exists():
            names = load_setup(ceremony, allow_test_group=allow_test_group).names
    elif isinstance(act.body.get("guardians"), int):
        n = int(act.body["guardians"])
    else:
        raise RefusalError(tr("indique --ceremonia para saber cuántos custodios firman el acta",
                              "give --ceremonia to know how many key-holders sign the act"))
    stem = printout.with_suffix("")
    for target in (stem.with_suffix(".pdf"), stem.with_suffix(".txt")):
        refuse_existing(target)
    write_document(stem, act_document(act, n, names), out)
    out.step(tr(f"Acta para imprimir en {stem}.pdf (y .txt): léala, fírmela a mano junto con la notaría",
                f"Act for printing in {stem}.pdf (and .txt): read it, sign it by hand before the notary"))


def _keys(transcript: Transcript) -> dict[str, bytes]:
    return {guardian_name(i): key for i, key in enumerate(transcript.outcome.signing_keys, start=1)}


def _required(act: SignedAct, transcript: Transcript) -> int:
    return transcript.n if act.type == OPENING else transcript.t


def _differences(mine: SignedAct, theirs: SignedAct) -> list[str]:
    fields = sorted(set(mine.body) | set(theirs.body))
    return [f for f in fields if mine.body.get(f) != theirs.body.get(f)]


def sign_act(act_path: Path, index: int, token_label: str, module_path: str | None, output: Path, *,
             ceremony: Path | None, credentials: Path | None, record: Path | None, allow_test_group: bool,
             out: Out) -> ActSignature:
    """A key-holder recomputes the act from the public files and signs it with their token."""
    act = read_act(act_path)
    out.title(tr(f"FIRMA DEL {act_title(act).upper()} — CUSTODIO {index}",
                 f"SIGNING THE {act_title(act).upper()} — KEY-HOLDER {index}"))
    constancia_banner(out)
    if record is not None:
        transcript = load_transcript(record, allow_test_group=allow_test_group)
    elif ceremony is not None:
        transcript = load_transcript(ceremony, allow_test_group=allow_test_group)
    else:
        raise RefusalError(tr("indique --registro (o --ceremonia y --credenciales): el acta se recalcula antes "
                              "de firmarla",
                              "give --registro (or --ceremonia and --credenciales): the act is recomputed before "
                              "signing"))
    if not 1 <= index <= transcript.n:
        raise RefusalError(tr(f"el custodio debe estar entre 1 y {transcript.n}",
                              f"the key-holder must be between 1 and {transcript.n}"))
    if act.election_id != transcript.election_id:
        raise RefusalError(tr(f"el acta es de la elección «{act.election_id}», no de «{transcript.election_id}»",
                              f"the act belongs to election «{act.election_id}», not «{transcript.election_id}»"))
    if act.type == OPENING:
        creds = credentials or record
        if creds is None:
            raise RefusalError(tr("indique --credenciales (la lista firmada) para recalcular el acta de inicio",
                                  "give --credenciales (the signed list) to recompute the opening act"))
        try:
            receipt = hex_to_bytes(act.body.get("receipt_key"), PUBLIC_KEY_BYTES, "receipt_key")
            digest = hex_to_bytes(act.body.get("integrity_digest"), 32, "integrity_digest")
        except SiveiError as exc:
            raise RefusalError(str(exc)) from None
        mine = _opening_body(transcript, creds, receipt, digest)
    else:
        if record is None:
            raise RefusalError(tr("indique --registro (el registro cerrado) para recalcular el acta de cierre",
                                  "give --registro (the closed record) to recompute the closing act"))
        mine = _closing_body(record, allow_test_group=allow_test_group)
    differences = _differences(mine, act)
    if differences:
        raise RefusalError(tr(f"el acta no corresponde a lo recalculado por este custodio; campos distintos: "
                              f"{', '.join(differences)}. No se firma",
                              f"the act does not match what this key-holder recomputed; differing fields: "
                              f"{', '.join(differences)}. It is not signed"))
    out.step(tr("Cada valor del acta fue recalculado a partir de los archivos públicos y coincide",
                "Every value of the act was recomputed from the public files and matches"))
    _present(act, out)
    if act.type == OPENING:
        out.aloud(tr("llave de recibos del servidor (compárela con la que anuncia el operador)",
                     "server receipt key (compare it with the one the operator announces)"),
                  signing_key_fingerprint(bytes.fromhex(str(act.body["receipt_key"]))))
        out.aloud(tr("constancia de integridad (compárela con la que leyeron los auditores)",
                     "integrity constancia (compare it with the one the auditors read)"),
                  fingerprint(bytes.fromhex(str(act.body["integrity_digest"]))))
    else:
        out.aloud(tr("cabeza final del tablero (compárela con la anunciada al cierre)",
                     "final board head (compare it with the one announced at the close)"),
                  fingerprint(bytes.fromhex(str(act.body["head"]))))
    refuse_existing(output)
    with keyholder_token(token_label, module_path, out) as session:
        signer = session.signer()
        if signer.public_key != transcript.signing_key(index):
            raise RefusalError(tr(f"la llave de firma del token «{token_label}» no es la del {custodian(index)} en la "
                                  "ceremonia de llaves",
                                  f"the signing key of token «{token_label}» is not {custodian(index)}'s in the key "
                                  "ceremony"))
        signed = act.signed_by(signer, guardian_name(index))
    signature = next(s for s in signed.signatures if s.signer == guardian_name(index))
    write_json_new(output, signature_json(act, signature))
    out.step(tr(f"Firma electrónica escrita en {output}: entréguela al coordinador",
                f"Electronic signature written to {output}: hand it to the coordinator"))
    return signature


def signature_json(act: SignedAct, signature: ActSignature) -> dict[str, Any]:
    return {"format": SIGNATURE_FORMAT, "version": SIGNATURE_VERSION, "type": act.type,
            "election_id": act.election_id, "act_hash": act.content_hash.hex(), **signature.to_json()}


# -- merging ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeResult:
    act: SignedAct
    signers: tuple[str, ...]


def merge_act(act_path: Path, signature_paths: Sequence[Path], output: Path | None, *, ceremony: Path | None,
              record: Path | None, allow_test_group: bool, out: Out) -> MergeResult:
    act = read_act(act_path)
    out.title(tr(f"{act_title(act).upper()} — REUNIR FIRMAS (coordinador)",
                 f"{act_title(act).upper()} — MERGE SIGNATURES (coordinator)"))
    constancia_banner(out)
    source = record or ceremony
    if source is None:
        raise RefusalError(tr("indique --registro o --ceremonia (de ahí se toman las llaves de los custodios)",
                              "give --registro or --ceremonia (the key-holders' keys come from there)"))
    transcript = load_transcript(source, allow_test_group=allow_test_group)
    keys = _keys(transcript)
    if act.election_id != transcript.election_id:
        raise RefusalError(tr(f"el acta es de la elección «{act.election_id}», no de «{transcript.election_id}»",
                              f"the act belongs to election «{act.election_id}», not «{transcript.election_id}»"))
    announced = [k.hex() for k in transcript.outcome.signing_keys]
    if act.type == OPENING and act.body.get("guardian_signing_keys") != announced:
        raise RefusalError(tr("las llaves de los custodios del acta no son las de la transcripción",
                              "the act's key-holder keys are not the transcript's"))
    problems: list[str] = []
    merged = act
    seen: set[str] = set()
    for path in signature_paths:
        data = read_json(path)
        if not isinstance(data, dict) or set(data) != _SIGNATURE_FIELDS or data.get("format") != SIGNATURE_FORMAT:
            problems.append(tr(f"{path}: no es una firma de acta de SIVEI", f"{path}: not a SIVEI act signature"))
            continue
        signer = data["signer"]
        if (data["type"], data["election_id"], data["act_hash"]) != (act.type, act.election_id,
                                                                       act.content_hash.hex()):
            problems.append(tr(f"{path}: la firma de «{signer}» es de otra acta (otro tipo, elección o contenido)",
                               f"{path}: «{signer}»'s signature is for another act (another type, election or "
                               "content)"))
            continue
        if signer not in keys:
            problems.append(tr(f"{path}: firmante desconocido «{signer}»", f"{path}: unknown signer «{signer}»"))
            continue
        if signer in seen:
            problems.append(tr(f"{path}: firma repetida de «{signer}»", f"{path}: repeated signature of «{signer}»"))
            continue
        try:
            sig = hex_to_bytes(data["signature"], SIGNATURE_BYTES, "signature")
        except SiveiError as exc:
            problems.append(f"{path}: {exc}")
            continue
        if not verify_digest(keys[signer], act.content_hash, sig):
            problems.append(tr(f"{path}: la firma de «{signer}» no es válida",
                               f"{path}: «{signer}»'s signature is invalid"))
            continue
        seen.add(signer)
        merged = merged.with_signature(ActSignature(signer, sig))
        out.ok(tr(f"firma válida de {signer}", f"valid signature of {signer}"))
    required = _required(act, transcript)
    valid = {s.signer for s in merged.signatures if s.signer in keys and verify_digest(
        keys[s.signer], act.content_hash, s.signature)}
    if len(valid) < required:
        missing = [custodian(i) for i in range(1, transcript.n + 1) if guardian_name(i) not in valid]
        problems.append(tr(f"el {act_title(act)} requiere {required} firmas válidas y hay {len(valid)}; faltan las de: "
                           f"{', '.join(missing)}",
                           f"the {act_title(act)} requires {required} valid signatures and {len(valid)} are present; "
                           f"missing: {', '.join(missing)}"))
    if problems:
        raise RefusalError(tr("no se reúnen las firmas; nada cambió:\n  ", "the signatures are not merged; nothing "
                              "changed:\n  ") + "\n  ".join(problems))
    name = layout.OPENING_ACT if act.type == OPENING else layout.CLOSING_ACT
    if output is not None:
        write_json_new(output, merged.to_json())
        out.step(tr(f"Acta firmada escrita en {output}", f"Signed act written to {output}"))
    if record is not None:
        insert_into_record(record, name, merged)
        out.step(tr(f"Acta firmada incorporada al registro: {record / name}",
                    f"Signed act added to the record: {record / name}"))
    out.aloud(tr(f"huella del {act_title(act)}", f"{act_title(act)} fingerprint"), fingerprint(act.content_hash))
    out.info(tr(f"firmada por: {', '.join(sorted(valid))}", f"signed by: {', '.join(sorted(valid))}"))
    return MergeResult(merged, tuple(sorted(valid)))


def insert_into_record(record: Path, name: str, act: SignedAct) -> None:
    """Add (or replace) an act file in a record and update the record's file index (index last)."""
    header_path = record / layout.HEADER
    header = read_json(header_path)
    if not isinstance(header, dict) or not isinstance(header.get("files"), dict):
        raise RefusalError(tr(f"{header_path}: índice del registro no válido", f"{header_path}: invalid record index"))
    target = record / name
    target.parent.mkdir(exist_ok=True)
    write_text_atomic(target, json.dumps(act.to_json(), ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    files = dict(header["files"])
    files[name] = layout.file_sha256(target)
    header["files"] = dict(sorted(files.items()))
    write_text_atomic(header_path, json_text(header))
