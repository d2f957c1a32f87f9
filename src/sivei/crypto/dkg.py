"""Threshold key generation: Pedersen's joint-Feldman DKG in five signed, hash-chained rounds.

Guardians 1..n, threshold t. Guardian j draws a secret polynomial P_j of degree t−1 with nonzero
coefficients a_{j,k}, publishes C_{j,k} = g^{a_{j,k}} with Schnorr proofs, and sends each other
guardian i the share s_{j→i} = P_j(i) mod q, signed by j and sealed to i's per-ceremony X25519 key.
Guardian i checks g^{s_{j→i}} = Π_k C_{j,k}^{i^k}, accepts or complains, and finally publishes
K_i = g^{s_i} (s_i = Σ_j s_{j→i}) with a proof of knowledge. The joint key is K = Π_j C_{j,0}.

Rounds (every message an ``Envelope``, sender ``guardian-<j>``, bodies canonical JSON with hex):

0 ``dkg-announce``     {"signing_key": hex 65 B (P-256, SEC1), "transport_key": hex 32 B (X25519)}
1 ``dkg-commitments``  {"commitments": [hex element × t], "proofs": [{"commitment", "response"} × t]}
2 ``dkg-shares``       {"boxes": [{"recipient": i, "box": hex 144 B}, … for every i ≠ j, ascending]}
3 ``dkg-verification`` {"accepted": [dealers, ascending],
                        "complaints": [{"kind": "bad-share", "dealer": j, "share": hex 32 B,
                                        "signature": hex 64 B}
                                       | {"kind": "bad-box", "dealer": j,
                                          "transport_private_key": hex 32 B}, …]}
                       (accepted ∪ complained-about dealers = every other guardian, disjoint)
4 ``dkg-finalize``     {"guardian_key": hex element K_j, "proof": {"commitment", "response"},
                        "joint_key": hex element K}

Round r's envelopes carry ``previous`` = ``bundle_hash`` of round r−1's bundle (envelopes ordered by
guardian index); round 0 carries H_B. A coordinator that shows two guardians different bundles is
caught because their next ``previous`` fields differ. Any proven fault, bad signature, unparsable or
missing message aborts the ceremony with ``CeremonyAbortError`` naming the guardian and the round; a
ceremony is never repaired (a new ceremony id is run, with fresh polynomials and keys).

Each guardian step is a pure function (state, signer, incoming bundle) → (new state, envelope) over a
serialisable ``GuardianState`` so steps can run as separate processes with the state sealed in a
token between them. The P-256 signing key is never in the state: a ``Signer`` is passed in.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, NamedTuple

import gmpy2
import nacl.bindings
import nacl.exceptions
import nacl.public

from sivei.crypto.ecdsa import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, Signer, load_public_key, verify_digest
from sivei.crypto.encoding import (
    Encoder,
    element_from_hex,
    element_to_hex,
    hex_to_bytes,
    scalar_from_hex,
    scalar_to_hex,
    tagged_hash,
)
from sivei.crypto.envelope import Envelope, bundle_hash, seal
from sivei.crypto.group import GROUPS, SCALAR_BYTES, Group
from sivei.crypto.proofs import SchnorrProof, prove_schnorr, verify_schnorr
from sivei.errors import CeremonyError, EncodingError, SiveiError
from sivei.i18n import tr

# -- constants ------------------------------------------------------------------------------------

ROUND_ANNOUNCE = 0
ROUND_COMMITMENTS = 1
ROUND_SHARES = 2
ROUND_VERIFICATION = 3
ROUND_FINALIZE = 4
ROUND_TYPES = ("dkg-announce", "dkg-commitments", "dkg-shares", "dkg-verification", "dkg-finalize")
NUM_ROUNDS = len(ROUND_TYPES)

TAG_SHARE = "sivei/dkg-share"
MAX_GUARDIANS = 255
TRANSPORT_KEY_BYTES = 32
SHARE_PLAINTEXT_BYTES = SCALAR_BYTES + SIGNATURE_BYTES  # 96
BOX_BYTES = SHARE_PLAINTEXT_BYTES + nacl.bindings.crypto_box_SEALBYTES  # 144

STATE_MAGIC = "sivei/dkg-guardian-state"
STATE_VERSION = 1

_SENDER = re.compile(r"guardian-([1-9][0-9]{0,9})")

# Stages of a guardian: how many messages it has sent; stage s awaits bundle s−1.
STAGE_NEW = 0
STAGE_DONE = 6


def sender_name(index: int) -> str:
    return f"guardian-{index}"


# -- problems and aborts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One failure found while checking a round: the culprit guardian (None when no single guardian
    can be named, e.g. an unparsable sender), the round, a machine-readable code and the message."""

    round: int
    guardian: int | None
    code: str
    message: str


class CeremonyAbortError(CeremonyError):
    """The ceremony must stop: ``guardian`` (the culprit, when known) failed in ``round``."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("an abort needs at least one problem")
        self.problems = tuple(problems)
        first = self.problems[0]
        self.guardian = first.guardian
        self.round = first.round
        self.code = first.code
        more = len(self.problems) - 1
        suffix = tr(f" (y {more} problema(s) más)", f" (and {more} more problem(s))") if more else ""
        super().__init__(first.message + suffix)


def _problem(rnd: int, guardian: int | None, code: str, es: str, en: str) -> Problem:
    rtype = ROUND_TYPES[rnd] if 0 <= rnd < NUM_ROUNDS else "?"
    who_es = f"custodio {guardian}" if guardian is not None else "remitente desconocido"
    who_en = f"guardian {guardian}" if guardian is not None else "unknown sender"
    return Problem(rnd, guardian, code,
                   tr(f"ceremonia abortada: ronda {rnd} («{rtype}»), {who_es}: {es}",
                      f"ceremony aborted: round {rnd} («{rtype}»), {who_en}: {en}"))


# -- parameters -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CeremonyParams:
    group: Group
    election_id: str
    ceremony_id: str
    h_b: bytes
    n: int
    t: int

    def __post_init__(self) -> None:
        if GROUPS.get(self.group.name) != self.group:
            raise CeremonyError(tr("grupo desconocido", "unknown group"))
        if not (isinstance(self.n, int) and isinstance(self.t, int)
                and 1 <= self.t <= self.n <= MAX_GUARDIANS):
            raise CeremonyError(tr(f"se requiere 1 ≤ t ≤ n ≤ {MAX_GUARDIANS}",
                                   f"1 ≤ t ≤ n ≤ {MAX_GUARDIANS} is required"))
        if len(self.h_b) != 32:
            raise CeremonyError(tr("H_B debe tener 32 bytes", "H_B must be 32 bytes"))
        if not self.election_id or not self.ceremony_id:
            raise CeremonyError(tr("faltan los identificadores de elección o de ceremonia",
                                   "the election or ceremony id is missing"))


# -- small public helpers -------------------------------------------------------------------------


def share_digest(group: Group, h_b: bytes, ceremony_id: str, dealer: int, recipient: int,
                 share: int) -> bytes:
    """What the dealer signs: H("sivei/dkg-share", H_B ‖ ceremony id ‖ dealer ‖ recipient ‖ share)."""
    data = (Encoder(group).fixed(h_b, 32).string(ceremony_id).u32(dealer).u32(recipient)
            .scalar(share).to_bytes())
    return tagged_hash(TAG_SHARE, data)


def commitment_statement(dealer: int, k: int) -> bytes:
    return Encoder().u32(dealer).u32(k).to_bytes()


def guardian_key_statement(index: int) -> bytes:
    return Encoder().u32(index).to_bytes()


def expected_share_image(group: Group, commitments: Sequence[int], recipient: int) -> int:
    """Π_k C_k^{(i^k mod q)}: what g^{P(i)} must equal."""
    p = gmpy2.mpz(group.p)
    acc = gmpy2.mpz(1)
    power = 1
    for c in commitments:
        acc = acc * gmpy2.powmod(c, power, p) % p
        power = power * recipient % group.q
    return int(acc)


def _evaluate_polynomial(q: int, coefficients: Sequence[int], x: int) -> int:
    acc = 0
    for a in reversed(coefficients):
        acc = (acc * x + a) % q
    return acc


def _transport_public(private_key: bytes) -> bytes:
    return bytes(nacl.public.PrivateKey(private_key).public_key)


def _is_low_order_x25519(public_key: bytes) -> bool:
    """True for the X25519 points whose shared secret with any scalar is 0 (libsodium refuses)."""
    try:
        nacl.bindings.crypto_scalarmult(b"\x09" * 32, public_key)
    except (nacl.exceptions.RuntimeError, nacl.exceptions.CryptoError, RuntimeError):
        return True
    return False


# -- complaints -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadShareComplaint:
    """The dealer's share does not match its commitments; the share and the dealer's signature on it
    are published."""

    dealer: int
    share: int
    signature: bytes
    kind: ClassVar[str] = "bad-share"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "dealer": self.dealer, "share": scalar_to_hex(self.share),
                "signature": self.signature.hex()}


@dataclass(frozen=True)
class BadBoxComplaint:
    """The dealer's box does not open or its inner signature is invalid; the complainer reveals
    its per-ceremony X25519 private key so that anyone can re-open the box."""

    dealer: int
    transport_private_key: bytes = field(repr=False)
    kind: ClassVar[str] = "bad-box"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "dealer": self.dealer,
                "transport_private_key": self.transport_private_key.hex()}


Complaint = BadShareComplaint | BadBoxComplaint


@dataclass(frozen=True)
class Verdict:
    """Outcome of a complaint: who is at fault and why."""

    culprit: int
    dealer_at_fault: bool
    code: str
    message: str


def _parse_index(value: object, n: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= n:
        raise EncodingError(tr(f"{what}: índice de custodio no válido",
                               f"{what}: invalid guardian index"))
    return value


def _check_fields(obj: object, keys: set[str], what: str) -> dict[str, Any]:
    if not isinstance(obj, dict) or set(obj) != keys:
        raise EncodingError(tr(f"{what}: se esperaban exactamente los campos {sorted(keys)}",
                               f"{what}: expected exactly the fields {sorted(keys)}"))
    return obj


def complaint_from_json(group: Group, obj: object, n: int, what: str) -> Complaint:
    if not isinstance(obj, dict):
        raise EncodingError(tr(f"{what}: se esperaba un objeto", f"{what}: expected an object"))
    kind = obj.get("kind")
    if kind == BadShareComplaint.kind:
        d = _check_fields(obj, {"kind", "dealer", "share", "signature"}, what)
        return BadShareComplaint(_parse_index(d["dealer"], n, f"{what}.dealer"),
                                 scalar_from_hex(group, d["share"], f"{what}.share"),
                                 hex_to_bytes(d["signature"], SIGNATURE_BYTES, f"{what}.signature"))
    if kind == BadBoxComplaint.kind:
        d = _check_fields(obj, {"kind", "dealer", "transport_private_key"}, what)
        return BadBoxComplaint(_parse_index(d["dealer"], n, f"{what}.dealer"),
                               hex_to_bytes(d["transport_private_key"], TRANSPORT_KEY_BYTES,
                                            f"{what}.transport_private_key"))
    raise EncodingError(tr(f"{what}.kind: tipo de queja desconocido",
                           f"{what}.kind: unknown complaint kind"))


def open_share_box(group: Group, h_b: bytes, ceremony_id: str, dealer: int, recipient: int,
                   transport_private_key: bytes, dealer_signing_key: bytes,
                   box: bytes) -> tuple[int, bytes] | None:
    """Open a share box and check the dealer's signature; None when either fails."""
    try:
        plain = nacl.public.SealedBox(nacl.public.PrivateKey(transport_private_key)).decrypt(box)
    except (nacl.exceptions.CryptoError, nacl.exceptions.TypeError, nacl.exceptions.ValueError):
        return None
    if len(plain) != SHARE_PLAINTEXT_BYTES:
        return None
    share = int.from_bytes(plain[:SCALAR_BYTES], "big")
    signature = bytes(plain[SCALAR_BYTES:])
    if share >= group.q:
        return None
    digest = share_digest(group, h_b, ceremony_id, dealer, recipient, share)
    if not verify_digest(dealer_signing_key, digest, signature):
        return None
    return share, signature


def evaluate_complaint(group: Group, h_b: bytes, ceremony_id: str, complainer: int,
                       complaint: Complaint, *, dealer_signing_key: bytes,
                       dealer_commitments: Sequence[int], complainer_transport_key: bytes,
                       box: bytes | None = None) -> Verdict:
    """Decide a complaint from public data only. ``box`` (the dealer's round-2 box to the
    complainer) is needed for a "bad-box" complaint."""
    dealer = complaint.dealer

    def dealer_fault(code: str, es: str, en: str) -> Verdict:
        return Verdict(dealer, True, code, tr(
            f"queja fundada del custodio {complainer} contra el custodio {dealer}: {es}",
            f"justified complaint of guardian {complainer} against guardian {dealer}: {en}"))

    def complainer_fault(code: str, es: str, en: str) -> Verdict:
        return Verdict(complainer, False, code, tr(
            f"queja infundada del custodio {complainer} contra el custodio {dealer}: {es}",
            f"unfounded complaint of guardian {complainer} against guardian {dealer}: {en}"))

    if isinstance(complaint, BadShareComplaint):
        digest = share_digest(group, h_b, ceremony_id, dealer, complainer, complaint.share)
        if not verify_digest(dealer_signing_key, digest, complaint.signature):
            return complainer_fault(
                "false-complaint-signature",
                "la parte publicada no lleva una firma válida del repartidor",
                "the published share does not carry a valid signature of the dealer")
        if group.g_pow(complaint.share) != expected_share_image(group, dealer_commitments,
                                                                complainer):
            return dealer_fault("bad-share", "la parte firmada no concuerda con sus compromisos",
                                "the signed share does not match the dealer's commitments")
        return complainer_fault("false-complaint-share", "la parte sí concuerda con los compromisos",
                                "the share does match the commitments")

    if _transport_public(complaint.transport_private_key) != complainer_transport_key:
        return complainer_fault(
            "false-complaint-key",
            "la llave privada revelada no corresponde a la llave de transporte anunciada",
            "the revealed private key does not match the announced transport key")
    if box is None:
        raise ValueError("a bad-box complaint needs the dealer's box")
    opened = open_share_box(group, h_b, ceremony_id, dealer, complainer,
                            complaint.transport_private_key, dealer_signing_key, box)
    if opened is None:
        return dealer_fault("bad-box", "la caja no se abre o su firma interna no es válida",
                            "the box does not open or its inner signature is invalid")
    share, _ = opened
    if group.g_pow(share) != expected_share_image(group, dealer_commitments, complainer):
        return dealer_fault("bad-share", "la caja se abre, pero la parte no concuerda con los "
                            "compromisos", "the box opens but the share does not match the "
                            "commitments")
    return complainer_fault("false-complaint-box", "la caja se abre y la parte es válida",
                            "the box opens and the share is valid")


# -- public view and round checks -----------------------------------------------------------------


@dataclass
class _View:
    """Everything public accumulated so far (what the coordinator, each guardian and the auditor
    all track). Only data from envelopes that passed every check is recorded."""

    params: CeremonyParams
    previous: bytes
    signing_keys: dict[int, bytes] = field(default_factory=dict)
    transport_keys: dict[int, bytes] = field(default_factory=dict)
    commitments: dict[int, tuple[int, ...]] = field(default_factory=dict)
    boxes: dict[tuple[int, int], bytes] = field(default_factory=dict)
    accepted: dict[int, tuple[int, ...]] = field(default_factory=dict)
    guardian_keys: dict[int, int] = field(default_factory=dict)
    joint_key: int | None = None
    _aggregate: tuple[int, ...] | None = None

    def aggregate(self) -> tuple[int, ...] | None:
        """A_k = Π_j C_{j,k}, when all n rows of commitments are known."""
        n, t = self.params.n, self.params.t
        if len(self.commitments) != n:
            return None
        if self._aggregate is None:
            g = self.params.group
            self._aggregate = tuple(g.mul(*(self.commitments[j][k] for j in range(1, n + 1)))
                                    for k in range(t))
        return self._aggregate


def _sender_index(sender: str, n: int) -> int | None:
    m = _SENDER.fullmatch(sender)
    if m is None:
        return None
    j = int(m.group(1))
    return j if 1 <= j <= n else None


def _parse_announce(view: _View, j: int, body: Mapping[str, Any]) -> tuple[bytes, bytes]:
    d = _check_fields(body, {"signing_key", "transport_key"}, "body")
    signing = hex_to_bytes(d["signing_key"], PUBLIC_KEY_BYTES, "signing_key")
    load_public_key(signing, "signing_key")
    transport = hex_to_bytes(d["transport_key"], TRANSPORT_KEY_BYTES, "transport_key")
    if _is_low_order_x25519(transport):
        raise EncodingError(tr("transport_key: punto X25519 de orden pequeño",
                               "transport_key: X25519 point of small order"))
    return signing, transport


def _parse_commitments(view: _View, j: int, body: Mapping[str, Any]) -> tuple[int, ...]:
    p = view.params
    group, t = p.group, p.t
    d = _check_fields(body, {"commitments", "proofs"}, "body")
    cs, ps = d["commitments"], d["proofs"]
    if not isinstance(cs, list) or not isinstance(ps, list) or len(cs) != t or len(ps) != t:
        raise EncodingError(tr(f"se esperaban {t} compromisos y {t} pruebas",
                               f"expected {t} commitments and {t} proofs"))
    commitments = tuple(element_from_hex(group, c, f"commitments[{k}]", nonidentity=True)
                        for k, c in enumerate(cs))
    for k, (c, pj) in enumerate(zip(commitments, ps, strict=True)):
        proof = SchnorrProof.from_json(group, pj, f"proofs[{k}]")
        if not verify_schnorr(group, proof, c, context=p.h_b,
                              statement=commitment_statement(j, k)):
            raise _ProofFailedError(tr(f"prueba de Schnorr inválida para el compromiso {k}",
                                   f"invalid Schnorr proof for commitment {k}"))
    return commitments


def _parse_shares(view: _View, j: int, body: Mapping[str, Any]) -> dict[int, bytes]:
    n = view.params.n
    d = _check_fields(body, {"boxes"}, "body")
    items = d["boxes"]
    others = [i for i in range(1, n + 1) if i != j]
    if not isinstance(items, list) or len(items) != len(others):
        raise EncodingError(tr(f"se esperaban {len(others)} cajas", f"expected {len(others)} boxes"))
    boxes: dict[int, bytes] = {}
    for pos, (item, i) in enumerate(zip(items, others, strict=True)):
        e = _check_fields(item, {"recipient", "box"}, f"boxes[{pos}]")
        if e["recipient"] != i or isinstance(e["recipient"], bool):
            raise EncodingError(tr(f"boxes[{pos}]: se esperaba el destinatario {i}",
                                   f"boxes[{pos}]: expected recipient {i}"))
        boxes[i] = hex_to_bytes(e["box"], BOX_BYTES, f"boxes[{pos}].box")
    return boxes


def _parse_verification(view: _View, j: int,
                        body: Mapping[str, Any]) -> tuple[tuple[int, ...], tuple[Complaint, ...]]:
    p = view.params
    d = _check_fields(body, {"accepted", "complaints"}, "body")
    acc, comp = d["accepted"], d["complaints"]
    if not isinstance(acc, list) or not isinstance(comp, list):
        raise EncodingError(tr("accepted y complaints deben ser listas",
                               "accepted and complaints must be lists"))
    accepted = tuple(_parse_index(x, p.n, f"accepted[{k}]") for k, x in enumerate(acc))
    if list(accepted) != sorted(set(accepted)):
        raise EncodingError(tr("accepted: la lista debe ser creciente y sin repeticiones",
                               "accepted: the list must be increasing without repetitions"))
    complaints = tuple(complaint_from_json(p.group, c, p.n, f"complaints[{k}]")
                       for k, c in enumerate(comp))
    dealers = [c.dealer for c in complaints]
    others = {i for i in range(1, p.n + 1) if i != j}
    if (len(set(dealers)) != len(dealers) or set(dealers) & set(accepted)
            or set(dealers) | set(accepted) != others):
        raise EncodingError(tr(
            "cada uno de los demás custodios debe aparecer exactamente una vez, aceptado o "
            "con una queja", "every other guardian must appear exactly once, accepted or with "
            "a complaint"))
    return accepted, complaints


def _parse_finalize(view: _View, j: int, body: Mapping[str, Any]) -> tuple[int, int]:
    p = view.params
    group = p.group
    d = _check_fields(body, {"guardian_key", "proof", "joint_key"}, "body")
    key = element_from_hex(group, d["guardian_key"], "guardian_key", nonidentity=True)
    proof = SchnorrProof.from_json(group, d["proof"], "proof")
    joint = element_from_hex(group, d["joint_key"], "joint_key", nonidentity=True)
    if not verify_schnorr(group, proof, key, context=p.h_b, statement=guardian_key_statement(j)):
        raise _ProofFailedError(tr("prueba de Schnorr inválida para la llave de verificación",
                               "invalid Schnorr proof for the verification key"))
    aggregate = view.aggregate()
    if aggregate is None:
        raise _UnverifiableError(tr("faltan compromisos de otros custodios para comprobar las llaves",
                               "commitments of other guardians are missing to check the keys"))
    if joint != aggregate[0]:
        raise _ProofFailedError(tr("la llave conjunta no es el producto de los C_{j,0}",
                               "the joint key is not the product of the C_{j,0}"))
    if key != expected_share_image(group, aggregate, j):
        raise _ProofFailedError(tr("la llave de verificación no concuerda con los compromisos",
                               "the verification key does not match the commitments"))
    return key, joint


class _ProofFailedError(SiveiError):
    pass


class _UnverifiableError(SiveiError):
    pass


_PARSERS: tuple[Any, ...] = (_parse_announce, _parse_commitments, _parse_shares,
                             _parse_verification, _parse_finalize)


def _check_round(view: _View, rnd: int, envelopes: Sequence[Envelope],
                 problems: list[Problem]) -> dict[int, Any]:
    """Check one round's bundle against the view; append problems; return parsed bodies of the
    envelopes that passed, by guardian."""
    p = view.params
    n = p.n
    expected_type = ROUND_TYPES[rnd]
    parsed: dict[int, Any] = {}
    seen: set[int] = set()
    last = 0

    def add(j: int | None, code: str, es: str, en: str) -> None:
        problems.append(_problem(rnd, j, code, es, en))

    for env in envelopes:
        j = _sender_index(env.sender, n)
        if j is None:
            add(None, "sender", f"remitente no válido «{env.sender[:40]}»",
                f"invalid sender «{env.sender[:40]}»")
            continue
        if j in seen:
            add(j, "duplicate", "más de un mensaje en la ronda", "more than one message in the round")
            continue
        seen.add(j)
        if j < last:
            add(j, "order", "el paquete no está ordenado por índice de custodio",
                "the bundle is not ordered by guardian index")
        last = max(last, j)
        if env.election_id != p.election_id:
            add(j, "election", "el mensaje es de otra elección",
                "the message belongs to another election")
            continue
        if env.ceremony_id != p.ceremony_id:
            add(j, "ceremony", "el mensaje es de otra ceremonia",
                "the message belongs to another ceremony")
            continue
        if env.round != rnd or env.type != expected_type:
            add(j, "type", f"se esperaba un mensaje «{expected_type}» de la ronda {rnd}",
                f"expected a «{expected_type}» message of round {rnd}")
            continue
        body_result: Any = None
        if rnd == ROUND_ANNOUNCE:
            try:
                body_result = _parse_announce(view, j, env.body)
            except SiveiError as exc:
                add(j, "body", f"mensaje mal formado: {exc}", f"malformed message: {exc}")
                continue
            key: bytes | None = body_result[0]
        else:
            key = view.signing_keys.get(j)
        if key is None:
            add(j, "no-key", "no hay una llave de firma anunciada válida para este custodio",
                "there is no valid announced signing key for this guardian")
            continue
        if not verify_digest(key, env.content_hash, env.signature):
            add(j, "signature", "firma inválida", "invalid signature")
            continue
        if env.previous != view.previous:
            add(j, "previous",
                "el hash del paquete anterior no coincide: este custodio vio otro paquete "
                "(el coordinador mostró paquetes distintos o el custodio miente)",
                "the previous-bundle hash does not match: this guardian saw a different bundle "
                "(the coordinator showed different bundles or the guardian lies)")
            continue
        if rnd != ROUND_ANNOUNCE:
            try:
                body_result = _PARSERS[rnd](view, j, env.body)
            except _ProofFailedError as exc:
                add(j, "proof", str(exc), str(exc))
                continue
            except _UnverifiableError as exc:
                add(j, "unverifiable", str(exc), str(exc))
                continue
            except SiveiError as exc:
                add(j, "body", f"mensaje mal formado: {exc}", f"malformed message: {exc}")
                continue
        parsed[j] = body_result
    for j in range(1, n + 1):
        if j not in seen:
            add(j, "missing", "falta el mensaje del custodio", "the guardian's message is missing")

    # cross-envelope checks
    if rnd == ROUND_ANNOUNCE:
        seen_keys: dict[tuple[int, bytes], int] = {}
        for j in sorted(parsed):
            for pos, announced in enumerate(parsed[j]):
                prior = seen_keys.get((pos, announced))
                if prior is not None:
                    add(j, "duplicate-key", f"reutiliza una llave anunciada por el custodio {prior}",
                        f"reuses a key announced by guardian {prior}")
                    parsed.pop(j)
                    break
                seen_keys[(pos, announced)] = j
    elif rnd == ROUND_VERIFICATION:
        for j in sorted(parsed):
            _, complaints = parsed[j]
            for c in complaints:
                verdict = _judge(view, j, c)
                if verdict is not None:
                    problems.append(_problem(rnd, verdict.culprit, verdict.code, verdict.message,
                                             verdict.message))
    return parsed


def _judge(view: _View, complainer: int, complaint: Complaint) -> Verdict | None:
    p = view.params
    d = complaint.dealer
    dealer_key = view.signing_keys.get(d)
    commitments = view.commitments.get(d)
    transport = view.transport_keys.get(complainer)
    if dealer_key is None or commitments is None or transport is None:
        return None  # the dealer (or complainer) already failed an earlier round
    box = view.boxes.get((d, complainer))
    if isinstance(complaint, BadBoxComplaint) and box is None:
        return None
    return evaluate_complaint(p.group, p.h_b, p.ceremony_id, complainer, complaint,
                              dealer_signing_key=dealer_key, dealer_commitments=commitments,
                              complainer_transport_key=transport, box=box)


def _apply(view: _View, rnd: int, parsed: Mapping[int, Any], bundle: Sequence[Envelope]) -> None:
    p = view.params
    if rnd == ROUND_ANNOUNCE:
        for j, (signing, transport) in parsed.items():
            view.signing_keys[j] = signing
            view.transport_keys[j] = transport
    elif rnd == ROUND_COMMITMENTS:
        view.commitments.update(parsed)
        view._aggregate = None
    elif rnd == ROUND_SHARES:
        for j, boxes in parsed.items():
            for i, box in boxes.items():
                view.boxes[(j, i)] = box
    elif rnd == ROUND_VERIFICATION:
        for j, (accepted, _) in parsed.items():
            view.accepted[j] = accepted
    else:
        for j, (key, joint) in parsed.items():
            view.guardian_keys[j] = key
            view.joint_key = joint
    view.previous = bundle_hash(p.election_id, p.ceremony_id, rnd, bundle)


# -- outcome, transcript verification -------------------------------------------------------------


@dataclass(frozen=True)
class CeremonyOutcome:
    """The public result of a successful ceremony."""

    joint_key: int
    commitments: tuple[tuple[int, ...], ...]  # guardian j's C_{j,0..t−1} at position j−1
    guardian_keys: tuple[int, ...]  # K_1..K_n
    signing_keys: tuple[bytes, ...]  # guardians' P-256 keys, 65 bytes each


def _outcome(view: _View) -> CeremonyOutcome:
    n = view.params.n
    if view.joint_key is None:
        raise CeremonyError(tr("la ceremonia no ha terminado", "the ceremony has not finished"))
    r = range(1, n + 1)
    return CeremonyOutcome(view.joint_key, tuple(view.commitments[j] for j in r),
                           tuple(view.guardian_keys[j] for j in r),
                           tuple(view.signing_keys[j] for j in r))


def _check_all(params: CeremonyParams,
               rounds: Sequence[Sequence[Envelope]]) -> tuple[list[Problem], _View]:
    view = _View(params, params.h_b)
    problems: list[Problem] = []
    for rnd in range(NUM_ROUNDS):
        bundle = rounds[rnd] if rnd < len(rounds) else ()
        parsed = _check_round(view, rnd, bundle, problems)
        _apply(view, rnd, parsed, bundle)
    if len(rounds) > NUM_ROUNDS:
        problems.append(Problem(NUM_ROUNDS, None, "extra-rounds", tr(
            f"la transcripción tiene {len(rounds)} rondas; se esperaban {NUM_ROUNDS}",
            f"the transcript has {len(rounds)} rounds; {NUM_ROUNDS} were expected")))
    return problems, view


def check_transcript(group: Group, election_id: str, ceremony_id: str, h_b: bytes, n: int, t: int,
                     rounds: Sequence[Sequence[Envelope]]) -> list[Problem]:
    """Every publicly checkable failure in a ceremony transcript (empty when it is valid).

    Checks envelope headers, signatures (round 0 self-signed, later rounds against the announced
    key), the ``previous`` chain, body formats, group membership, Schnorr proofs, the complaints
    (each named culprit is a problem), that every guardian accepted every other dealer, and the
    finalize keys K_i and K against the commitments."""
    params = CeremonyParams(group, election_id, ceremony_id, h_b, n, t)
    return _check_all(params, rounds)[0]


def verify_transcript(group: Group, election_id: str, ceremony_id: str, h_b: bytes, n: int, t: int,
                      rounds: Sequence[Sequence[Envelope]]) -> CeremonyOutcome:
    """The auditor's check: the outcome of a valid transcript, else ``CeremonyAbortError`` (a
    ``CeremonyError``) carrying every problem and naming the first culprit and round."""
    params = CeremonyParams(group, election_id, ceremony_id, h_b, n, t)
    problems, view = _check_all(params, rounds)
    if problems:
        raise CeremonyAbortError(problems)
    return _outcome(view)


# -- coordinator ----------------------------------------------------------------------------------


def _sort_key(n: int) -> Any:
    def key(env: Envelope) -> tuple[int, str]:
        j = _sender_index(env.sender, n)
        return (j if j is not None else n + 1, env.sender)
    return key


class Coordinator:
    """Relays a ceremony: collects each round's envelopes, checks them all and returns the bundle
    (ordered by guardian index) to hand to every guardian. Raises ``CeremonyAbortError`` naming the
    culprit. It holds nothing secret; ``Coordinator.resume`` rebuilds it from the bundles so far."""

    def __init__(self, group: Group, election_id: str, ceremony_id: str, h_b: bytes, n: int,
                 t: int) -> None:
        self.params = CeremonyParams(group, election_id, ceremony_id, h_b, n, t)
        self._view = _View(self.params, h_b)
        self._bundles: list[tuple[Envelope, ...]] = []

    @classmethod
    def resume(cls, group: Group, election_id: str, ceremony_id: str, h_b: bytes, n: int, t: int,
               bundles: Sequence[Sequence[Envelope]]) -> Coordinator:
        coordinator = cls(group, election_id, ceremony_id, h_b, n, t)
        for bundle in bundles:
            coordinator.collect(bundle)
        return coordinator

    @property
    def round(self) -> int:
        """The round whose envelopes are collected next."""
        return len(self._bundles)

    @property
    def bundles(self) -> tuple[tuple[Envelope, ...], ...]:
        return tuple(self._bundles)

    @property
    def previous(self) -> bytes:
        """The ``previous`` hash expected in the next round's envelopes."""
        return self._view.previous

    def collect(self, envelopes: Iterable[Envelope]) -> tuple[Envelope, ...]:
        rnd = self.round
        if rnd >= NUM_ROUNDS:
            raise CeremonyError(tr("la ceremonia ya terminó", "the ceremony is already over"))
        bundle = tuple(sorted(envelopes, key=_sort_key(self.params.n)))
        problems: list[Problem] = []
        parsed = _check_round(self._view, rnd, bundle, problems)
        if problems:
            raise CeremonyAbortError(problems)
        _apply(self._view, rnd, parsed, bundle)
        self._bundles.append(bundle)
        return bundle

    def outcome(self) -> CeremonyOutcome:
        return _outcome(self._view)


# -- guardian state -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardianState:
    """Everything guardian ``index`` needs between two steps (secrets excluded from ``repr``).

    ``stage`` counts the messages sent: stage s (1 ≤ s ≤ 5) awaits bundle s−1; 6 is done.
    Secret coefficients are dropped once the shares are dealt, and the transport private key once
    the received boxes are opened."""

    group: Group
    election_id: str
    ceremony_id: str
    h_b: bytes
    n: int
    t: int
    index: int
    stage: int = STAGE_NEW
    coefficients: tuple[int, ...] = field(default=(), repr=False)
    transport_private_key: bytes = field(default=b"", repr=False)
    last_sent: bytes = b""  # content hash of the last envelope this guardian sent
    previous: bytes = b""  # hash of the last bundle received
    signing_keys: tuple[bytes, ...] = ()
    transport_keys: tuple[bytes, ...] = ()
    commitments: tuple[tuple[int, ...], ...] = ()
    boxes: tuple[tuple[int, int, bytes], ...] = ()  # (dealer, recipient, box)
    received_shares: tuple[int, ...] = field(default=(), repr=False)  # s_{j→index} for j = 1..n
    secret_share: int | None = field(default=None, repr=False)
    guardian_keys: tuple[int, ...] = ()
    joint_key: int | None = None

    @property
    def params(self) -> CeremonyParams:
        return CeremonyParams(self.group, self.election_id, self.ceremony_id, self.h_b, self.n,
                              self.t)

    # -- serialisation --

    def to_bytes(self) -> bytes:
        """Canonical, versioned binary form (contains secrets: seal it before storing)."""
        g = self.group
        enc = Encoder(g).string(STATE_MAGIC).u32(STATE_VERSION)
        enc.string(g.name).fixed(g.fingerprint, 32)
        enc.string(self.election_id).string(self.ceremony_id).fixed(self.h_b, 32)
        enc.u32(self.n).u32(self.t).u32(self.index).u32(self.stage)
        enc.u32(len(self.coefficients))
        for a in self.coefficients:
            enc.scalar(a)
        enc.blob(self.transport_private_key).blob(self.last_sent).blob(self.previous)
        enc.u32(len(self.signing_keys))
        for sk in self.signing_keys:
            enc.fixed(sk, PUBLIC_KEY_BYTES)
        enc.u32(len(self.transport_keys))
        for tk in self.transport_keys:
            enc.fixed(tk, TRANSPORT_KEY_BYTES)
        enc.u32(len(self.commitments))
        for row in self.commitments:
            enc.elements(row)
        enc.u32(len(self.boxes))
        for dealer, recipient, box in self.boxes:
            enc.u32(dealer).u32(recipient).fixed(box, BOX_BYTES)
        enc.u32(len(self.received_shares))
        for s in self.received_shares:
            enc.scalar(s)
        enc.u32(0 if self.secret_share is None else 1)
        if self.secret_share is not None:
            enc.scalar(self.secret_share)
        enc.elements(self.guardian_keys)
        enc.u32(0 if self.joint_key is None else 1)
        if self.joint_key is not None:
            enc.element(self.joint_key)
        return enc.to_bytes()

    @staticmethod
    def from_bytes(data: bytes) -> GuardianState:
        """Parse ``to_bytes`` output. Ranges and structure are checked; subgroup membership was
        checked when the data was received (the stored state is authenticated by its seal)."""
        r = _Reader(data)
        if r.string() != STATE_MAGIC:
            raise EncodingError(tr("no es un estado de custodio", "not a guardian state"))
        version = r.u32()
        if version != STATE_VERSION:
            raise EncodingError(tr(f"versión de estado no soportada: {version}",
                                   f"unsupported state version: {version}"))
        group = GROUPS.get(r.string())
        if group is None or r.fixed(32) != group.fingerprint:
            raise EncodingError(tr("grupo desconocido en el estado", "unknown group in the state"))
        election_id, ceremony_id, h_b = r.string(), r.string(), r.fixed(32)
        n, t, index, stage = r.u32(), r.u32(), r.u32(), r.u32()
        coefficients = tuple(r.scalar(group) for _ in range(r.u32()))
        transport_private_key, last_sent, previous = r.blob(), r.blob(), r.blob()
        signing_keys = tuple(r.fixed(PUBLIC_KEY_BYTES) for _ in range(r.u32()))
        transport_keys = tuple(r.fixed(TRANSPORT_KEY_BYTES) for _ in range(r.u32()))
        commitments = tuple(tuple(r.element(group) for _ in range(r.u32())) for _ in range(r.u32()))
        boxes = tuple((r.u32(), r.u32(), r.fixed(BOX_BYTES)) for _ in range(r.u32()))
        received = tuple(r.scalar(group) for _ in range(r.u32()))
        secret_share = r.scalar(group) if r.flag() else None
        guardian_keys = tuple(r.element(group) for _ in range(r.u32()))
        joint_key = r.element(group) if r.flag() else None
        r.done()
        state = GuardianState(group, election_id, ceremony_id, h_b, n, t, index, stage,
                              coefficients, transport_private_key, last_sent, previous,
                              signing_keys, transport_keys, commitments, boxes, received,
                              secret_share, guardian_keys, joint_key)
        state._check_structure()
        return state

    def _check_structure(self) -> None:
        CeremonyParams(self.group, self.election_id, self.ceremony_id, self.h_b, self.n, self.t)
        n, t, s = self.n, self.t, self.stage

        def need(ok: bool) -> None:
            if not ok:
                raise EncodingError(tr("estado de custodio incoherente",
                                       "inconsistent guardian state"))

        need(1 <= self.index <= n and STAGE_NEW <= s <= STAGE_DONE)
        need(len(self.coefficients) == (t if s <= 2 else 0))
        need(len(self.transport_private_key) == (TRANSPORT_KEY_BYTES if s <= 3 else 0))
        need(len(self.last_sent) == (0 if s == 0 else 32))
        need(len(self.previous) == (32 if s >= 2 else 0))
        need(len(self.signing_keys) == len(self.transport_keys) == (n if s >= 2 else 0))
        need(len(self.commitments) == (n if s >= 3 else 0))
        need(all(len(row) == t for row in self.commitments))
        need(len(self.boxes) == (n * (n - 1) if s >= 4 else 0))
        need(len(self.received_shares) == (n if 3 <= s <= 4 else 0))
        need((self.secret_share is not None) == (s >= 5))
        need(len(self.guardian_keys) == (n if s == STAGE_DONE else 0))
        need((self.joint_key is not None) == (s == STAGE_DONE))


class _Reader:
    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)
        self._pos = 0

    def fixed(self, n: int) -> bytes:
        if self._pos + n > len(self._data):
            raise EncodingError(tr("estado truncado", "truncated state"))
        out = self._data[self._pos:self._pos + n]
        self._pos += n
        return out

    def u32(self) -> int:
        return int.from_bytes(self.fixed(4), "big")

    def flag(self) -> bool:
        v = self.u32()
        if v > 1:
            raise EncodingError(tr("estado mal formado", "malformed state"))
        return v == 1

    def blob(self) -> bytes:
        return self.fixed(self.u32())

    def string(self) -> str:
        try:
            return self.blob().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EncodingError(tr("texto no UTF-8 en el estado", "non-UTF-8 text in the state")) from exc

    def scalar(self, group: Group) -> int:
        return group.require_scalar(int.from_bytes(self.fixed(SCALAR_BYTES), "big"), "state")

    def element(self, group: Group) -> int:
        x = int.from_bytes(self.fixed(group.element_bytes), "big")
        if not 0 < x < group.p:
            raise EncodingError(tr("elemento fuera de rango en el estado",
                                   "element out of range in the state"))
        return x

    def done(self) -> None:
        if self._pos != len(self._data):
            raise EncodingError(tr("bytes sobrantes al final del estado",
                                   "trailing bytes after the state"))


def _view_of(state: GuardianState) -> _View:
    r = range(1, state.n + 1)
    view = _View(state.params, state.previous or state.h_b)
    if state.signing_keys:
        view.signing_keys = dict(zip(r, state.signing_keys, strict=True))
        view.transport_keys = dict(zip(r, state.transport_keys, strict=True))
    if state.commitments:
        view.commitments = dict(zip(r, state.commitments, strict=True))
    view.boxes = {(d, i): box for d, i, box in state.boxes}
    return view


def _absorb(state: GuardianState, rnd: int, bundle: Sequence[Envelope]) -> tuple[_View, dict[int, Any]]:
    """Check the bundle of round ``rnd`` as this guardian (which must find its own envelope in it,
    unchanged) and return the updated public view."""
    if state.stage != rnd + 1:
        raise CeremonyError(tr(f"el custodio {state.index} no espera el paquete de la ronda {rnd}",
                               f"guardian {state.index} does not expect the bundle of round {rnd}"))
    view = _view_of(state)
    problems: list[Problem] = []
    parsed = _check_round(view, rnd, bundle, problems)
    own = [e for e in bundle if e.sender == sender_name(state.index)]
    if len(own) != 1 or own[0].content_hash != state.last_sent:
        problems.insert(0, _problem(rnd, state.index, "own-message",
                                    "el paquete no contiene el mensaje de este custodio tal como "
                                    "lo envió (el coordinador lo alteró u omitió)",
                                    "the bundle does not carry this guardian's message as it sent "
                                    "it (the coordinator altered or dropped it)"))
    if problems:
        raise CeremonyAbortError(problems)
    _apply(view, rnd, parsed, bundle)
    return view, parsed


def _check_signer(state: GuardianState, signer: Signer) -> None:
    if state.signing_keys and signer.public_key != state.signing_keys[state.index - 1]:
        raise CeremonyError(tr("la llave de firma no es la que anunció este custodio",
                               "the signing key is not the one this guardian announced"))


def _seal(state: GuardianState, signer: Signer, rnd: int, previous: bytes,
          body: Mapping[str, Any]) -> Envelope:
    return seal(signer, type=ROUND_TYPES[rnd], election_id=state.election_id,
                ceremony_id=state.ceremony_id, round=rnd, sender=sender_name(state.index),
                previous=previous, body=body)


# -- guardian steps -------------------------------------------------------------------------------


def new_guardian(group: Group, election_id: str, ceremony_id: str, h_b: bytes, n: int, t: int,
                 index: int) -> GuardianState:
    """A fresh guardian: a random polynomial with nonzero coefficients and a new X25519 key."""
    CeremonyParams(group, election_id, ceremony_id, h_b, n, t)
    if not 1 <= index <= n:
        raise CeremonyError(tr("índice de custodio fuera de 1..n", "guardian index outside 1..n"))
    coefficients = tuple(1 + secrets.randbelow(group.q - 1) for _ in range(t))
    transport = bytes(nacl.public.PrivateKey.generate())
    return GuardianState(group, election_id, ceremony_id, h_b, n, t, index,
                         coefficients=coefficients, transport_private_key=transport)


def announce(state: GuardianState, signer: Signer) -> tuple[GuardianState, Envelope]:
    """Round 0: publish the P-256 signing key and the X25519 transport key (self-signed)."""
    if state.stage != STAGE_NEW:
        raise CeremonyError(tr("el custodio ya se anunció", "the guardian has already announced"))
    load_public_key(signer.public_key, "signer")
    body = {"signing_key": signer.public_key.hex(),
            "transport_key": _transport_public(state.transport_private_key).hex()}
    env = _seal(state, signer, ROUND_ANNOUNCE, state.h_b, body)
    return replace(state, stage=1, last_sent=env.content_hash), env


def commit(state: GuardianState, signer: Signer,
           bundle: Sequence[Envelope]) -> tuple[GuardianState, Envelope]:
    """Receive bundle 0; round 1: publish C_{j,k} = g^{a_{j,k}} with Schnorr proofs."""
    view, _ = _absorb(state, ROUND_ANNOUNCE, bundle)
    r = range(1, state.n + 1)
    state = replace(state, stage=2, previous=view.previous,
                    signing_keys=tuple(view.signing_keys[j] for j in r),
                    transport_keys=tuple(view.transport_keys[j] for j in r))
    _check_signer(state, signer)
    group, j = state.group, state.index
    commitments = [group.pow_secret(group.g, a) for a in state.coefficients]
    proofs = [prove_schnorr(group, a, c, context=state.h_b, statement=commitment_statement(j, k))
              for k, (a, c) in enumerate(zip(state.coefficients, commitments, strict=True))]
    body = {"commitments": [element_to_hex(group, c) for c in commitments],
            "proofs": [pr.to_json(group) for pr in proofs]}
    env = _seal(state, signer, ROUND_COMMITMENTS, view.previous, body)
    return replace(state, last_sent=env.content_hash), env


def deal(state: GuardianState, signer: Signer,
         bundle: Sequence[Envelope]) -> tuple[GuardianState, Envelope]:
    """Receive bundle 1; round 2: send each other guardian its signed share in a sealed box.
    The coefficients are dropped from the returned state (only P_j(j) is kept)."""
    _check_signer(state, signer)
    view, _ = _absorb(state, ROUND_COMMITMENTS, bundle)
    group, j, n = state.group, state.index, state.n
    boxes = []
    for i in range(1, n + 1):
        if i == j:
            continue
        share = _evaluate_polynomial(group.q, state.coefficients, i)
        signature = signer.sign_digest(share_digest(group, state.h_b, state.ceremony_id, j, i, share))
        box = nacl.public.SealedBox(nacl.public.PublicKey(state.transport_keys[i - 1])).encrypt(
            share.to_bytes(SCALAR_BYTES, "big") + signature)
        boxes.append({"recipient": i, "box": bytes(box).hex()})
    own = _evaluate_polynomial(group.q, state.coefficients, j)
    received = tuple(own if d == j else 0 for d in range(1, n + 1))
    env = _seal(state, signer, ROUND_SHARES, view.previous, {"boxes": boxes})
    r = range(1, n + 1)
    new = replace(state, stage=3, previous=view.previous, coefficients=(),
                  commitments=tuple(view.commitments[d] for d in r), received_shares=received,
                  last_sent=env.content_hash)
    return new, env


def verify_shares(state: GuardianState, signer: Signer,
                  bundle: Sequence[Envelope]) -> tuple[GuardianState, Envelope]:
    """Receive bundle 2; round 3: open and check each share addressed to this guardian, then
    accept every dealer or complain. The transport private key is dropped from the state."""
    _check_signer(state, signer)
    view, _ = _absorb(state, ROUND_SHARES, bundle)
    group, i, n = state.group, state.index, state.n
    accepted: list[int] = []
    complaints: list[dict[str, Any]] = []
    received = list(state.received_shares)
    for d in range(1, n + 1):
        if d == i:
            continue
        opened = open_share_box(group, state.h_b, state.ceremony_id, d, i,
                                state.transport_private_key, view.signing_keys[d],
                                view.boxes[(d, i)])
        if opened is None:
            complaints.append(BadBoxComplaint(d, state.transport_private_key).to_json())
            continue
        share, signature = opened
        if group.pow_secret(group.g, share) != expected_share_image(group, view.commitments[d], i):
            complaints.append(BadShareComplaint(d, share, signature).to_json())
            continue
        accepted.append(d)
        received[d - 1] = share
    env = _seal(state, signer, ROUND_VERIFICATION, view.previous,
                {"accepted": accepted, "complaints": complaints})
    boxes = tuple((d, r, view.boxes[(d, r)]) for d in range(1, n + 1) for r in range(1, n + 1)
                  if d != r)
    new = replace(state, stage=4, previous=view.previous, transport_private_key=b"", boxes=boxes,
                  received_shares=tuple(received), last_sent=env.content_hash)
    return new, env


def finalize(state: GuardianState, signer: Signer,
             bundle: Sequence[Envelope]) -> tuple[GuardianState, Envelope]:
    """Receive bundle 3 (any complaint aborts, naming the culprit); round 4: publish K_i = g^{s_i}
    with a proof of knowledge of s_i, and the joint key."""
    _check_signer(state, signer)
    view, _ = _absorb(state, ROUND_VERIFICATION, bundle)
    group, i = state.group, state.index
    s_i = sum(state.received_shares) % group.q
    key = group.pow_secret(group.g, s_i)
    aggregate = view.aggregate()
    if aggregate is None or key != expected_share_image(group, aggregate, i):
        raise CeremonyError(tr("la llave de verificación propia no concuerda con los compromisos",
                               "this guardian's own verification key does not match the commitments"))
    proof = prove_schnorr(group, s_i, key, context=state.h_b, statement=guardian_key_statement(i))
    body = {"guardian_key": element_to_hex(group, key), "proof": proof.to_json(group),
            "joint_key": element_to_hex(group, aggregate[0])}
    env = _seal(state, signer, ROUND_FINALIZE, view.previous, body)
    new = replace(state, stage=5, previous=view.previous, received_shares=(), secret_share=s_i,
                  last_sent=env.content_hash)
    return new, env


def conclude(state: GuardianState, bundle: Sequence[Envelope]) -> tuple[GuardianState, CeremonyOutcome]:
    """Receive bundle 4: check everyone's K_i and K; the guardian's ceremony is over."""
    view, _ = _absorb(state, ROUND_FINALIZE, bundle)
    r = range(1, state.n + 1)
    new = replace(state, stage=STAGE_DONE, previous=view.previous,
                  guardian_keys=tuple(view.guardian_keys[j] for j in r), joint_key=view.joint_key)
    return new, _outcome(view)


def advance(state: GuardianState, signer: Signer,
            bundle: Sequence[Envelope] = ()) -> tuple[GuardianState, Envelope]:
    """The next step for this guardian: (state, signer, bundle of the previous round) →
    (new state, envelope to send). Use ``conclude`` after the last round."""
    if state.stage == STAGE_NEW:
        if bundle:
            raise CeremonyError(tr("el anuncio no recibe paquete", "the announcement takes no bundle"))
        return announce(state, signer)
    steps = (commit, deal, verify_shares, finalize)
    if not 1 <= state.stage <= len(steps):
        raise CeremonyError(tr("no hay más mensajes que enviar; use conclude",
                               "no more messages to send; use conclude"))
    return steps[state.stage - 1](state, signer, bundle)


# -- convenience: the whole ceremony in one process -----------------------------------------------


class CeremonyRun(NamedTuple):
    rounds: tuple[tuple[Envelope, ...], ...]
    outcome: CeremonyOutcome
    secret_shares: tuple[int, ...]  # s_1..s_n (each guardian's own secret)


def transport(env: Envelope) -> Envelope:
    """What the network does to an envelope: serialise to JSON text and parse it back."""
    return Envelope.from_json(json.loads(json.dumps(env.to_json())))


def run_ceremony(group: Group, election_id: str, ceremony_id: str, h_b: bytes, n: int, t: int,
                 signers: Sequence[Signer]) -> CeremonyRun:
    """Run all n guardians and the coordinator in one process, exchanging real envelopes through
    JSON; verify the transcript as an auditor would. Raises ``CeremonyAbortError`` on any failure."""
    if len(signers) != n:
        raise CeremonyError(tr("se necesita un firmante por custodio", "one signer per guardian is needed"))
    states = [new_guardian(group, election_id, ceremony_id, h_b, n, t, j) for j in range(1, n + 1)]
    coordinator = Coordinator(group, election_id, ceremony_id, h_b, n, t)
    bundle: tuple[Envelope, ...] = ()
    for _ in range(NUM_ROUNDS):
        sent = []
        for pos, state in enumerate(states):
            states[pos], env = advance(state, signers[pos], [transport(e) for e in bundle])
            sent.append(transport(env))
        bundle = coordinator.collect(sent)
    outcomes = []
    for pos, state in enumerate(states):
        states[pos], out = conclude(state, [transport(e) for e in bundle])
        outcomes.append(out)
    rounds = coordinator.bundles
    outcome = verify_transcript(group, election_id, ceremony_id, h_b, n, t, rounds)
    if any(o != outcome for o in outcomes):  # pragma: no cover - would be a bug
        raise CeremonyError(tr("los custodios no coinciden en el resultado",
                               "the guardians disagree on the outcome"))
    shares = tuple(s.secret_share for s in states if s.secret_share is not None)
    return CeremonyRun(rounds, outcome, shares)
