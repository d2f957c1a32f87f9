"""The signed acts of an election: the opening act (acta de inicio) and the closing act (acta de
cierre).

An act is a JSON body and the key-holders' signatures over its content hash
H("sivei/act", type ‖ election id ‖ canonical_json(body)); the hash never covers the signatures, so
signatures can be collected one key-holder at a time. The opening act fixes everything the voting
rests on and is signed by all n key-holders; the closing act fixes what was received and is signed
by at least t. People sign the printed text (``format_act``) before the notary and observers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sivei.ballot.board import BoardEvent, genesis_head
from sivei.ballot.context import ElectionContext
from sivei.ballot.credentials import CredentialList
from sivei.crypto.ecdsa import SIGNATURE_BYTES, Signer, key_fingerprint_digest, verify_digest
from sivei.crypto.encoding import Encoder, canonical_json, element_to_hex, hex_to_bytes, tagged_hash
from sivei.crypto.envelope import Envelope
from sivei.crypto.fingerprint import fingerprint
from sivei.election_kind import banner
from sivei.errors import EncodingError
from sivei.i18n import tr
from sivei.record.ceremony_io import transcript_hash

TAG_ACT = "sivei/act"
OPENING = "opening-act"
CLOSING = "closing-act"
ACT_TYPES = (OPENING, CLOSING)

OPENING_FIELDS = frozenset({
    "election_id", "parameters_fingerprint", "manifest_hash", "voting_opens", "voting_closes",
    "credential_authority_key", "credential_list_hash", "credential_counts", "ceremony_id", "threshold",
    "guardians", "joint_key", "transcript_hash", "election_hash", "guardian_signing_keys", "receipt_key",
    "genesis_head", "integrity_digest",
})
CLOSING_FIELDS = frozenset({
    "election_id", "election_hash", "closed_at", "head", "head_index", "cast", "late", "encrypted_tally_hash",
})


@dataclass(frozen=True)
class ActSignature:
    signer: str  # "guardian-<i>"
    signature: bytes

    def to_json(self) -> dict[str, str]:
        return {"signer": self.signer, "signature": self.signature.hex()}


@dataclass(frozen=True, eq=False)
class SignedAct:
    type: str
    election_id: str
    body: Mapping[str, Any]
    signatures: tuple[ActSignature, ...] = ()

    @property
    def content_hash(self) -> bytes:
        data = Encoder().string(self.type).string(self.election_id).blob(canonical_json(dict(self.body))).to_bytes()
        return tagged_hash(TAG_ACT, data)

    def signed_by(self, signer: Signer, name: str) -> SignedAct:
        """This act with ``name``'s signature added (replacing an earlier one of the same signer)."""
        sig = ActSignature(name, signer.sign_digest(self.content_hash))
        others = tuple(s for s in self.signatures if s.signer != name)
        return replace(self, signatures=tuple(sorted((*others, sig), key=lambda s: s.signer)))

    def with_signature(self, signature: ActSignature) -> SignedAct:
        others = tuple(s for s in self.signatures if s.signer != signature.signer)
        return replace(self, signatures=tuple(sorted((*others, signature), key=lambda s: s.signer)))

    def signature_problems(self, keys: Mapping[str, bytes], *, required: int, what: str) -> list[str]:
        """Every invalid, unknown or duplicated signature, and too few valid ones (< ``required``)."""
        problems = []
        valid: set[str] = set()
        seen: set[str] = set()
        for s in self.signatures:
            if s.signer in seen:
                problems.append(tr(f"{what}: firma repetida de {s.signer}",
                                   f"{what}: repeated signature of {s.signer}"))
                continue
            seen.add(s.signer)
            key = keys.get(s.signer)
            if key is None:
                problems.append(tr(f"{what}: firmante desconocido {s.signer}", f"{what}: unknown signer {s.signer}"))
            elif not verify_digest(key, self.content_hash, s.signature):
                problems.append(tr(f"{what}: la firma de {s.signer} no es válida",
                                   f"{what}: the signature of {s.signer} is invalid"))
            else:
                valid.add(s.signer)
        if len(valid) < required:
            missing = sorted(set(keys) - valid)
            problems.append(tr(
                f"{what}: se requieren {required} firmas válidas y hay {len(valid)} (faltan: {', '.join(missing)})",
                f"{what}: {required} valid signatures are required, {len(valid)} present "
                f"(missing: {', '.join(missing)})"))
        return problems

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "election_id": self.election_id, "body": dict(self.body),
                "signatures": [s.to_json() for s in self.signatures]}

    @staticmethod
    def from_json(obj: object, what: str) -> SignedAct:
        if not isinstance(obj, dict) or set(obj) != {"type", "election_id", "body", "signatures"}:
            raise EncodingError(tr(f"{what}: se esperaban los campos type, election_id, body, signatures",
                                   f"{what}: expected the fields type, election_id, body, signatures"))
        if obj["type"] not in ACT_TYPES or not isinstance(obj["election_id"], str):
            raise EncodingError(tr(f"{what}: tipo de acta o elección no válidos",
                                   f"{what}: invalid act type or election"))
        body = obj["body"]
        fields = OPENING_FIELDS if obj["type"] == OPENING else CLOSING_FIELDS
        if not isinstance(body, dict) or set(body) != fields:
            raise EncodingError(tr(f"{what}.body: campos no válidos (se esperaban {sorted(fields)})",
                                   f"{what}.body: invalid fields (expected {sorted(fields)})"))
        canonical_json(body)
        sigs = obj["signatures"]
        if not isinstance(sigs, list):
            raise EncodingError(tr(f"{what}.signatures: se esperaba una lista", f"{what}.signatures: expected a list"))
        parsed = []
        for i, s in enumerate(sigs):
            if not isinstance(s, dict) or set(s) != {"signer", "signature"} or not isinstance(s["signer"], str):
                raise EncodingError(tr(f"{what}.signatures[{i}]: no válida", f"{what}.signatures[{i}]: invalid"))
            parsed.append(ActSignature(s["signer"], hex_to_bytes(s["signature"], SIGNATURE_BYTES,
                                                                 f"{what}.signatures[{i}].signature")))
        return SignedAct(obj["type"], obj["election_id"], body, tuple(parsed))


def guardian_keys_by_name(signing_keys: Sequence[bytes]) -> dict[str, bytes]:
    return {f"guardian-{i}": key for i, key in enumerate(signing_keys, start=1)}


_LABELS = {
    "election_id": ("Elección", "Election"),
    "parameters_fingerprint": ("Parámetros del grupo", "Group parameters"),
    "manifest_hash": ("Manifiesto", "Manifest"),
    "voting_opens": ("Apertura de la votación (UTC)", "Voting opens (UTC)"),
    "voting_closes": ("Cierre de la votación (UTC)", "Voting closes (UTC)"),
    "credential_authority_key": ("Llave de la autoridad de credenciales", "Credential authority key"),
    "credential_list_hash": ("Lista de credenciales", "Credential list"),
    "credential_counts": ("Credenciales por tipo de boleta", "Credentials per ballot style"),
    "ceremony_id": ("Ceremonia de llaves", "Key ceremony"),
    "threshold": ("Umbral (t)", "Threshold (t)"),
    "guardians": ("Custodios (n)", "Guardians (n)"),
    "joint_key": ("Llave pública de la elección", "Election public key"),
    "transcript_hash": ("Transcripción de la ceremonia", "Ceremony transcript"),
    "election_hash": ("Huella de la elección (H_E)", "Election fingerprint (H_E)"),
    "guardian_signing_keys": ("Llaves de firma de los custodios", "Guardians' signing keys"),
    "receipt_key": ("Llave de recibos del servidor", "Server receipt key"),
    "genesis_head": ("Tablero vacío (cabeza inicial)", "Empty board (genesis head)"),
    "integrity_digest": ("Constancia de integridad del software", "Software integrity constancia"),
    "closed_at": ("Instante de cierre (UTC)", "Close instant (UTC)"),
    "head": ("Cabeza final del tablero", "Final board head"),
    "head_index": ("Índice de la cabeza", "Head index"),
    "cast": ("Boletas recibidas a tiempo", "Ballots received in time"),
    "late": ("Boletas tardías (rechazadas)", "Late ballots (refused)"),
    "encrypted_tally_hash": ("Recuento cifrado", "Encrypted tally"),
}
_HASH_FIELDS = {"parameters_fingerprint", "manifest_hash", "credential_list_hash", "transcript_hash",
                "election_hash", "genesis_head", "integrity_digest", "head", "encrypted_tally_hash"}
_KEY_FIELDS = {"credential_authority_key", "receipt_key"}


def format_act(act: SignedAct) -> str:
    """The act as text for autograph signature: every value, hashes in the read-aloud format."""
    title = tr("ACTA DE INICIO", "OPENING ACT") if act.type == OPENING else tr("ACTA DE CIERRE", "CLOSING ACT")
    lines = [title, "=" * len(title)]
    kind = banner(act.election_id)
    if kind:
        lines.insert(0, kind)
    for key in sorted(act.body, key=lambda k: list(_LABELS).index(k) if k in _LABELS else 99):
        es, en = _LABELS.get(key, (key, key))
        value = act.body[key]
        if key in _HASH_FIELDS and isinstance(value, str) and len(value) == 64:
            shown = f"{fingerprint(bytes.fromhex(value))}  ({value})"
        elif key in _KEY_FIELDS and isinstance(value, str):
            shown = fingerprint(key_fingerprint_digest(bytes.fromhex(value)))
        elif key == "guardian_signing_keys" and isinstance(value, list):
            shown = "; ".join(f"{i}: {fingerprint(key_fingerprint_digest(bytes.fromhex(k)))}"
                              for i, k in enumerate(value, start=1))
        elif key == "joint_key" and isinstance(value, str):
            shown = fingerprint(tagged_hash("sivei/joint-key", bytes.fromhex(value)))
        elif isinstance(value, dict):
            shown = ", ".join(f"{k}: {v}" for k, v in sorted(value.items()))
        else:
            shown = str(value)
        lines.append(f"{tr(es, en)}: {shown}")
    lines.append(tr(f"Huella del acta: {fingerprint(act.content_hash)}",
                    f"Act fingerprint: {fingerprint(act.content_hash)}"))
    lines.append(tr(f"Firmas electrónicas: {', '.join(s.signer for s in act.signatures) or 'ninguna'}",
                    f"Electronic signatures: {', '.join(s.signer for s in act.signatures) or 'none'}"))
    return "\n".join(lines)


def _utc(instant: Any) -> str:
    return str(instant.strftime("%Y-%m-%dT%H:%M:%SZ"))


def parse_instant(value: object) -> datetime | None:
    """An act's UTC instant (``YYYY-MM-DDTHH:MM:SSZ``) as an aware datetime, or None when it is not
    one: instants are compared as instants, never as strings (``closed_at``)."""
    if not isinstance(value, str) or len(value) != 20 or not value.endswith("Z"):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def opening_act(ctx: ElectionContext, *, credential_list: CredentialList, ceremony_id: str, n: int, t: int,
                rounds: Sequence[Sequence[Envelope]], signing_keys: Sequence[bytes], receipt_key: bytes,
                integrity_digest: bytes) -> SignedAct:
    """The unsigned opening act: everything the voting rests on, recomputable from the record."""
    manifest, group = ctx.manifest, ctx.group
    body = {
        "election_id": manifest.election_id,
        "parameters_fingerprint": group.fingerprint.hex(),
        "manifest_hash": manifest.hash.hex(),
        "voting_opens": _utc(manifest.voting_opens),
        "voting_closes": _utc(manifest.voting_closes),
        "credential_authority_key": credential_list.authority_key.hex(),
        "credential_list_hash": credential_list.hash.hex(),
        "credential_counts": dict(credential_list.counts),
        "ceremony_id": ceremony_id,
        "threshold": t,
        "guardians": n,
        "joint_key": element_to_hex(group, ctx.key.element),
        "transcript_hash": transcript_hash(manifest.election_id, ceremony_id, rounds).hex(),
        "election_hash": ctx.election_hash.hex(),
        "guardian_signing_keys": [k.hex() for k in signing_keys],
        "receipt_key": receipt_key.hex(),
        "genesis_head": genesis_head(ctx.election_hash).hex(),
        "integrity_digest": integrity_digest.hex(),
    }
    return SignedAct(OPENING, manifest.election_id, body)


def closing_act(ctx: ElectionContext, *, closed_at: str, close_event: BoardEvent, late: int,
                encrypted_tally_hash: bytes) -> SignedAct:
    payload = close_event.payload or {}
    body = {
        "election_id": ctx.manifest.election_id,
        "election_hash": ctx.election_hash.hex(),
        "closed_at": closed_at,
        "head": close_event.head.hex(),
        "head_index": close_event.index,
        "cast": payload.get("cast"),
        "late": late,
        "encrypted_tally_hash": encrypted_tally_hash.hex(),
    }
    return SignedAct(CLOSING, ctx.manifest.election_id, body)
