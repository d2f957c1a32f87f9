"""Generate SIVEI's JSON test vectors (see docs/protocol.md, "Test vectors").

    .venv/bin/python tests/vectors/generate.py                    # rewrite the deterministic files
    .venv/bin/python tests/vectors/generate.py --check            # compare, write nothing
    .venv/bin/python tests/vectors/generate.py --small-election   # also re-run the small drill

Every file except ``small-election/`` is a pure function of fixed inputs: scalars and byte strings
are derived from labels (``SHA-256("sivei-vectors/" ‖ label)``), ECDSA signatures use RFC 6979
nonces (then low-s), sealed boxes use a fixed ephemeral key, and Ed25519 is deterministic. So
running the generator twice gives identical bytes, and ``--check`` fails if the code drifts.

The derivation from labels is only how the inputs were chosen: the files carry every input
value, and another implementation reproduces the outputs from those values alone.

``small-election/`` is a complete election record written by the drill (random keys, nonces and
signatures) in record format version 1; it is produced once with ``--small-election`` and kept, with
``small-election-v2/``, its (deterministic) conversion to format version 2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nacl.bindings
import nacl.encoding
import nacl.hash
import nacl.public
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sivei.ballot.board import EVENT_BALLOT, EVENT_CLOSE, EVENT_OPEN, event_hash, payload_hash
from sivei.ballot.challenge import ChallengedBallot, check_challenge
from sivei.ballot.context import ElectionContext
from sivei.ballot.credentials import (
    CHECK_ALPHABET,
    CredentialEntry,
    credential_public_key,
    credential_seed,
    entries_hash,
    format_credential,
    parse_credential,
)
from sivei.ballot.encrypt import (
    CONTEST_LEVEL,
    PURPOSE_ENCRYPT,
    PURPOSE_FAKE_CHALLENGE,
    PURPOSE_FAKE_COMMIT,
    PURPOSE_REAL_COMMIT,
    PURPOSE_SUM_COMMIT,
    derive_nonce,
    encrypt_ballot,
    sign_ballot,
    signature_message,
)
from sivei.ballot.manifest import Manifest
from sivei.crypto.context import base_hash, election_hash
from sivei.crypto.decryption import combine_shares, lagrange_coefficient
from sivei.crypto.dkg import (
    BadBoxComplaint,
    BadShareComplaint,
    commitment_statement,
    evaluate_complaint,
    expected_share_image,
    guardian_key_statement,
    share_digest,
)
from sivei.crypto.ecdsa import P256_ORDER, key_fingerprint_digest, normalize_low_s, verify_digest
from sivei.crypto.elgamal import Ciphertext, ElectionKey
from sivei.crypto.encoding import (
    Encoder,
    canonical_json,
    element_to_hex,
    hash_to_scalar,
    scalar_to_hex,
    tagged_hash,
)
from sivei.crypto.envelope import Envelope, bundle_hash, envelope_content_hash
from sivei.crypto.fingerprint import CROCKFORD, fingerprint, matches_fingerprint
from sivei.crypto.group import PRODUCTION_GROUP, TEST_GROUP, Group
from sivei.crypto.proofs import (
    ZeroOneNonces,
    _cp_challenge,
    _schnorr_challenge,
    _zero_one_challenge,
    prove_chaum_pedersen,
    prove_schnorr,
    prove_zero_one,
    verify_chaum_pedersen,
    verify_schnorr,
    verify_zero_one,
)
from sivei.tally.aggregate import EncryptedTally, TallyEntry

HERE = Path(__file__).resolve().parent
SMALL_ELECTION = "small-election"
SMALL_ELECTION_EXPECT = "small-election.json"
SMALL_ELECTION_V2 = "small-election-v2"
G = TEST_GROUP
VERSION = 1

# -- fixed inputs ---------------------------------------------------------------------------------


def fixed_bytes(label: str, n: int = 32) -> bytes:
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"sivei-vectors/{label}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


def fixed_scalar(label: str, group: Group = G) -> int:
    """A nonzero scalar below q chosen by label."""
    return int.from_bytes(fixed_bytes(label, 32), "big") % (group.q - 1) + 1


def el(group: Group, x: int) -> str:
    return element_to_hex(group, x)


def sc(x: int) -> str:
    return scalar_to_hex(x)


def header(description: str, group: Group | None = G) -> dict[str, Any]:
    out: dict[str, Any] = {"format": "sivei-test-vectors", "version": VERSION, "description": description}
    if group is not None:
        out["group"] = group.name
    return out


class DeterministicSigner:
    """A P-256 signer with RFC 6979 nonces (then low-s), so that the vectors are reproducible.
    Verifiers must accept any valid low-s signature; the RFC 6979 choice is the generator's only."""

    def __init__(self, label: str) -> None:
        d = int.from_bytes(fixed_bytes(f"p256/{label}"), "big") % (P256_ORDER - 1) + 1
        self.private_value = d
        self._key = ec.derive_private_key(d, ec.SECP256R1())

    @property
    def public_key(self) -> bytes:
        return self._key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def sign_digest(self, digest: bytes) -> bytes:
        der = self._key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()), deterministic_signing=True))
        r, s = decode_dss_signature(der)
        return normalize_low_s(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def deterministic_sealed_box(recipient_public: bytes, message: bytes, ephemeral_label: str) -> bytes:
    """libsodium's crypto_box_seal with a chosen ephemeral key: epk ‖ crypto_box(m, nonce, rpk, esk)
    with nonce = BLAKE2b-192(epk ‖ rpk). Opens with any SealedBox implementation."""
    esk = nacl.public.PrivateKey(fixed_bytes(f"x25519/{ephemeral_label}"))
    epk = bytes(esk.public_key)
    nonce = nacl.hash.blake2b(epk + recipient_public, digest_size=24, encoder=nacl.encoding.RawEncoder)
    return epk + nacl.bindings.crypto_box(message, nonce, recipient_public, bytes(esk))


# -- the small manifest every ballot-level vector uses ----------------------------------------------

MANIFEST_JSON: dict[str, Any] = {
    "election_id": "vectores-2027",
    "name": "Elección de prueba para vectores",
    "voting_opens": "2027-05-23T02:00:00Z",
    "voting_closes": "2027-06-07T00:00:00Z",
    "display_timezone": "America/Mexico_City",
    "counting_policy": "one-vote",
    "tie_rule": "party-order",
    "parties": [
        {"id": "PRA", "name": "Partido Rojo de Avanzada"},
        {"id": "PRB", "name": "Partido Blanco"},
        {"id": "PRC", "name": "Partido Ciudadano"},
    ],
    "entities": [
        {"code": "NTE", "name": "Estado del Norte", "ballot_style": "nte"},
        {"code": "SUR", "name": "Estado del Sur", "ballot_style": "sur"},
    ],
    "contests": [
        {
            "id": "gob-nte",
            "title": "Gubernatura del Estado del Norte",
            "kind": "candidacy",
            "votes_allowed": 1,
            "options": [
                {"id": "PRA", "label": "PRA: Ana Peña Núñez", "kind": "party", "parties": ["PRA"],
                 "candidate": "Ana Peña Núñez"},
                {"id": "PRB", "label": "PRB: Ana Peña Núñez", "kind": "party", "parties": ["PRB"],
                 "candidate": "Ana Peña Núñez"},
                {"id": "PRC", "label": "PRC: Óscar Ruiz", "kind": "party", "parties": ["PRC"],
                 "candidate": "Óscar Ruiz"},
                {"id": "PRA_PRB", "label": "PRA-PRB: Ana Peña Núñez", "kind": "combination",
                 "parties": ["PRA", "PRB"], "candidate": "Ana Peña Núñez"},
                {"id": "CNR", "label": "Candidato/a no registrado/a", "kind": "write_in", "parties": [],
                 "candidate": None},
                {"id": "NULO", "label": "Voto nulo", "kind": "null", "parties": [], "candidate": None},
            ],
            "coalitions": [
                {"id": "PRA-PRB", "name": "Coalición Rojo y Blanco", "parties": ["PRA", "PRB"],
                 "candidate": "Ana Peña Núñez"},
            ],
        },
        {
            "id": "consulta",
            "title": "Consulta: ¿aprueba la reforma?",
            "kind": "referendum",
            "votes_allowed": 1,
            "options": [
                {"id": "SI", "label": "Sí", "kind": "answer", "parties": [], "candidate": None},
                {"id": "NO", "label": "No", "kind": "answer", "parties": [], "candidate": None},
                {"id": "NULO", "label": "Voto nulo", "kind": "null", "parties": [], "candidate": None},
            ],
            "coalitions": [],
        },
    ],
    "ballot_styles": [
        {"id": "nte", "entity": "NTE", "contests": ["gob-nte", "consulta"]},
        {"id": "sur", "entity": "SUR", "contests": ["consulta"]},
    ],
}


def manifest() -> Manifest:
    return Manifest.from_json(MANIFEST_JSON)


def ballot_context(group: Group = G) -> tuple[ElectionContext, int]:
    """The context of the ballot vectors: the small manifest, K = g^k for a fixed k, a fixed H_E."""
    k = fixed_scalar("election-secret-key", group)
    key = ElectionKey(group, group.pow(group.g, k))
    h_e = fixed_bytes("election-hash")
    return ElectionContext(manifest(), key, h_e), k


# -- encoding -------------------------------------------------------------------------------------


def encoding_vectors() -> dict[str, Any]:
    g = G.g
    out = header("Canonical binary encoding (hex of the bytes) and canonical JSON. Elements are "
                 f"{G.element_bytes} bytes in this group, 512 in the production group; scalars 32 bytes.")
    out["u32"] = [{"value": v, "encoding": Encoder().u32(v).to_bytes().hex()} for v in (0, 1, 258, 2**32 - 1)]
    out["string"] = [{"value": s, "encoding": Encoder().string(s).to_bytes().hex()}
                     for s in ("", "sivei", "Peña — «sí» ✓", "guardian-3")]
    out["blob"] = [{"value": b.hex(), "encoding": Encoder().blob(b).to_bytes().hex()}
                   for b in (b"", bytes([0, 255]), fixed_bytes("blob", 5))]
    scalars = [0, 1, G.q - 1, fixed_scalar("encoding/scalar")]
    out["scalar"] = [{"value": sc(x), "encoding": Encoder(G).scalar(x).to_bytes().hex()} for x in scalars]
    elements = [1, g, G.mul(g, g), G.pow(g, fixed_scalar("encoding/element"))]
    out["element"] = [{"value": el(G, x), "encoding": Encoder(G).element(x).to_bytes().hex()}
                      for x in elements]
    out["element_list"] = {"values": [el(G, x) for x in elements[1:3]],
                           "encoding": Encoder(G).elements(elements[1:3]).to_bytes().hex()}
    composite = (Encoder(G).string("sivei").u32(7).scalar(5).element(g).fixed(fixed_bytes("fixed32"), 32)
                 .blob(b"\x01\x02"))
    out["composite"] = {
        "fields": [{"string": "sivei"}, {"u32": 7}, {"scalar": sc(5)}, {"element": el(G, g)},
                   {"fixed": fixed_bytes("fixed32").hex()}, {"blob": "0102"}],
        "encoding": composite.to_bytes().hex(),
    }
    width = 2 * G.element_bytes
    out["element_rejections"] = [
        {"hex": "00" * G.element_bytes, "reason": "zero is outside [1, p)"},
        {"hex": G.p.to_bytes(G.element_bytes, "big").hex(), "reason": "p is outside [1, p)"},
        {"hex": (G.p - 1).to_bytes(G.element_bytes, "big").hex(),
         "reason": "p-1 has order 2: not in the order-q subgroup"},
        {"hex": (2).to_bytes(G.element_bytes, "big").hex(), "reason": "2 is not in the order-q subgroup"},
        {"hex": el(G, g).upper(), "reason": "uppercase hex"},
        {"hex": el(G, g)[2:], "reason": f"not exactly {width} hex digits"},
        {"hex": el(G, g) + "00", "reason": f"not exactly {width} hex digits"},
    ]
    assert G.pow(2, G.q) != 1
    out["nonidentity_rejections"] = [
        {"hex": el(G, 1), "reason": "public keys and key commitments must not be 1"}]
    out["scalar_rejections"] = [
        {"hex": G.q.to_bytes(32, "big").hex(), "reason": "q is outside [0, q)"},
        {"hex": (2**256 - 1).to_bytes(32, "big").hex(), "reason": "outside [0, q)"},
        {"hex": sc(0xAB).upper(), "reason": "uppercase hex"},
        {"hex": sc(5)[2:], "reason": "not exactly 64 hex digits"},
    ]
    values: list[Any] = [
        {"b": 1, "a": [True, False, None], "c": {"z": "", "y": -7}},
        {"texto": "Peña «sí» ✓ 日本", "n": 9007199254740991},
        {"ctrl": "tab\tnew\nline \"quoted\" back\\slash \u0001 \u001f \u007f / \u2028"},
        [],
        {},
        {"B": 1, "a": 2, "_": 3, "A": 4},
    ]
    out["canonical_json"] = [
        {"value": v, "canonical": canonical_json(v).decode("utf-8"), "utf8_hex": canonical_json(v).hex()}
        for v in values]
    out["canonical_json_rejections"] = [
        {"value": 1.5, "reason": "floats are not allowed"},
        {"value": {"n": 9007199254740992}, "reason": "integers beyond 2^53 - 1 are not allowed"},
        {"value": {"clave-ñ": 1}, "reason": "object keys must be ASCII"},
    ]
    return out


# -- hashes, fingerprints, contexts ---------------------------------------------------------------


def hash_vectors() -> dict[str, Any]:
    out = header("Tagged hashes H(tag, data) = SHA-256(u32(len(tag)) ‖ tag ‖ data); hash_to_scalar "
                 "reads the digest big-endian mod q; the group fingerprint; the manifest hash (of "
                 "manifest.json's canonical JSON); H_B; H_E.")
    cases = [("sivei/board", b""), ("sivei/nonce", bytes(range(8))), ("sivei/proof/schnorr", fixed_bytes("h", 40))]
    out["tagged_hash"] = [{"tag": t, "data": d.hex(), "digest": tagged_hash(t, d).hex()} for t, d in cases]
    out["hash_to_scalar"] = [{"tag": t, "data": d.hex(), "scalar": sc(hash_to_scalar(G, t, d))} for t, d in cases]
    out["group_fingerprint"] = [
        {"group": grp.name, "fingerprint": grp.fingerprint.hex(),
         "read_aloud": fingerprint(grp.fingerprint)} for grp in (TEST_GROUP, PRODUCTION_GROUP)]
    out["group_fingerprint_preimage"] = {
        "group": G.name,
        "preimage": (b"sivei/group" + Encoder().string(G.name).u32(G.element_bytes).to_bytes()
                     + G.p.to_bytes(G.element_bytes, "big") + G.q.to_bytes(32, "big")
                     + G.g.to_bytes(G.element_bytes, "big")).hex(),
    }
    m = manifest()
    out["manifest"] = {"file": "manifest.json", "canonical_json_sha256": hashlib.sha256(
        canonical_json(m.to_json())).hexdigest(), "manifest_hash": m.hash.hex(),
        "read_aloud": fingerprint(m.hash)}
    # An optional emblem on a party (protocol 4.1): the emblem object enters the canonical JSON, so
    # it changes the hash; a manifest without emblems hashes as manifest.json above.
    emblem_svg = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" '
                  b'fill="#c8102e"/></svg>\n')
    with_emblem = m.to_json()
    with_emblem["parties"][0]["emblem"] = {"file": "PRA.svg", "sha256": hashlib.sha256(emblem_svg).hexdigest()}
    me = Manifest.from_json(with_emblem)
    out["manifest_with_emblem"] = {
        "note": "manifest.json with parties[0].emblem added", "emblem_file_bytes": emblem_svg.hex(),
        "emblem": with_emblem["parties"][0]["emblem"],
        "canonical_json_sha256": hashlib.sha256(canonical_json(me.to_json())).hexdigest(),
        "manifest_hash": me.hash.hex()}
    h_b = base_hash(G, m.hash)
    out["base_hash"] = {"group": G.name, "manifest_hash": m.hash.hex(), "h_b": h_b.hex()}
    commitments = [[G.pow(G.g, fixed_scalar(f"hash/commit/{j}/{k}")) for k in range(2)] for j in range(3)]
    joint = G.mul(*(row[0] for row in commitments))
    list_hash = fixed_bytes("hash/credential-list")
    h_e = election_hash(G, h_b, joint, commitments, list_hash)
    out["election_hash"] = {
        "h_b": h_b.hex(), "joint_key": el(G, joint),
        "commitments": [[el(G, c) for c in row] for row in commitments],
        "credential_list_hash": list_hash.hex(), "h_e": h_e.hex(), "read_aloud": fingerprint(h_e)}
    return out


def fingerprint_vectors() -> dict[str, Any]:
    out = header("Read-aloud fingerprints: the first 100 bits of a 32-byte hash in Crockford base 32, "
                 "20 characters in groups of 5.", group=None)
    out["alphabet"] = CROCKFORD
    digests = [bytes(32), b"\xff" * 32, bytes(range(32)), fixed_bytes("fp/1"), fixed_bytes("fp/2")]
    out["encode"] = [{"digest": d.hex(), "fingerprint": fingerprint(d)} for d in digests]
    d = fixed_bytes("fp/1")
    fp = fingerprint(d)
    typed = [
        (fp, True), (fp.lower(), True), (fp.replace("-", ""), True), (fp.replace("-", " "), True),
        (d.hex(), True), (d.hex().upper(), True),
        (fp.replace("0", "O").replace("1", "I"), True), (fp.replace("1", "L"), True),
        (fp[:-1] + ("0" if fp[-1] != "0" else "1"), False), (fp[:-1], False), (d.hex()[:-1], False),
        (fp.replace(fp[0], "U", 1), False),
    ]
    out["matches"] = [{"typed": t, "digest": d.hex(), "matches": ok} for t, ok in typed]
    for t, ok in typed:
        assert matches_fingerprint(t, d) == ok, t
    return out


# -- proofs ---------------------------------------------------------------------------------------


def proof_vectors(group: Group = G, *, production: bool = False) -> dict[str, Any]:
    out = header("Proofs with fixed nonces. Responses v = u − c·x mod q; checks a = base^v · X^c. "
                 "challenge_input is the data hashed after the tag.", group)
    context = fixed_bytes("proof/context")
    g = group.g
    if not production:
        x = fixed_scalar("proof/schnorr/secret", group)
        u = fixed_scalar("proof/schnorr/nonce", group)
        public = group.pow(g, x)
        statement = commitment_statement(2, 1)
        proof = prove_schnorr(group, x, public, context=context, statement=statement, nonce=u)
        assert verify_schnorr(group, proof, public, context=context, statement=statement)
        c_input = (Encoder(group).fixed(context, 32).raw(statement).element(g).element(public)
                   .element(proof.commitment).to_bytes())
        c = _schnorr_challenge(group, context, statement, public, proof.commitment)
        out["schnorr"] = {
            "inputs": {"secret": sc(x), "nonce": sc(u), "context": context.hex(), "statement": statement.hex()},
            "public": el(group, public), "challenge_input": c_input.hex(), "challenge": sc(c),
            "proof": proof.to_json(group),
        }
        s = fixed_scalar("proof/cp/secret", group)
        h = group.pow(g, fixed_scalar("proof/cp/h", group))
        u = fixed_scalar("proof/cp/nonce", group)
        X, Y = group.pow(g, s), group.pow(h, s)
        statement = Encoder(group).u32(3).element(h).to_bytes()
        cp = prove_chaum_pedersen(group, s, h, X, Y, context=context, statement=statement, nonce=u)
        assert verify_chaum_pedersen(group, cp, h, X, Y, context=context, statement=statement)
        c_input = (Encoder(group).fixed(context, 32).raw(statement).element(g).element(h).element(X)
                   .element(Y).element(cp.commitment_g).element(cp.commitment_h).to_bytes())
        out["chaum_pedersen"] = {
            "inputs": {"secret": sc(s), "nonce": sc(u), "h": el(group, h), "context": context.hex(),
                       "statement": statement.hex()},
            "x": el(group, X), "y": el(group, Y), "challenge_input": c_input.hex(),
            "challenge": sc(_cp_challenge(group, context, statement, h, X, Y, cp.commitment_g,
                                          cp.commitment_h)),
            "proof": cp.to_json(group),
        }
    k = fixed_scalar("proof/zero-one/key", group)
    key = ElectionKey(group, group.pow(g, k))
    cases = []
    for m in ((1,) if production else (0, 1)):
        xi = fixed_scalar(f"proof/zero-one/{m}/xi", group)
        nonces = ZeroOneNonces(fixed_scalar(f"proof/zero-one/{m}/u", group),
                               fixed_scalar(f"proof/zero-one/{m}/c-fake", group),
                               fixed_scalar(f"proof/zero-one/{m}/u-fake", group))
        ct = key.encrypt(m, xi)
        credential = fixed_bytes("proof/zero-one/credential")
        statement = Encoder().fixed(credential, 32).u32(0).u32(m + 2).to_bytes()
        proof01 = prove_zero_one(key, ct, m, xi, nonces, context=context, statement=statement)
        assert verify_zero_one(key, ct, proof01, context=context, statement=statement)
        c = _zero_one_challenge(key, context, statement, ct, proof01.a0, proof01.b0, proof01.a1, proof01.b1)
        case: dict[str, Any] = {
            "inputs": {"m": m, "nonce_xi": sc(xi), "real_commitment_u": sc(nonces.real_commitment),
                       "fake_challenge": sc(nonces.fake_challenge),
                       "fake_commitment_u": sc(nonces.fake_commitment), "context": context.hex(),
                       "statement": statement.hex()},
            "ciphertext": ct.to_json(group), "challenge": sc(c), "proof": proof01.to_json(group),
        }
        if not production:
            bad = dict(proof01.to_json(group))
            bad["c0"], bad["c1"] = bad["c1"], bad["c0"]
            case["rejected_variants"] = [
                {"why": "c0 and c1 swapped", "proof": bad},
                {"why": "statement for another option index",
                 "statement": Encoder().fixed(credential, 32).u32(0).u32(m + 3).to_bytes().hex()},
            ]
        cases.append(case)
    out["zero_one"] = {"election_secret_key": sc(k), "election_key": el(group, key.element), "cases": cases}
    return out


# -- nonces ---------------------------------------------------------------------------------------


def nonce_vectors() -> dict[str, Any]:
    out = header("Ballot nonces: H(\"sivei/nonce\", H_E ‖ ballot nonce ‖ u32(contest) ‖ u32(option) ‖ "
                 "string(purpose)) mod q. The sum proof uses option 0xffffffff.")
    h_e = fixed_bytes("election-hash")
    ballot_nonce = fixed_bytes("nonce/ballot-nonce")
    rows = []
    for contest, option, purpose in [(0, 0, PURPOSE_ENCRYPT), (0, 0, PURPOSE_REAL_COMMIT),
                                     (0, 0, PURPOSE_FAKE_CHALLENGE), (0, 0, PURPOSE_FAKE_COMMIT),
                                     (0, 5, PURPOSE_ENCRYPT), (1, 2, PURPOSE_ENCRYPT),
                                     (0, CONTEST_LEVEL, PURPOSE_SUM_COMMIT),
                                     (1, CONTEST_LEVEL, PURPOSE_SUM_COMMIT)]:
        data = (Encoder().fixed(h_e, 32).fixed(ballot_nonce, 32).u32(contest).u32(option).string(purpose)
                .to_bytes())
        rows.append({"contest": contest, "option": option, "purpose": purpose, "hash_input": data.hex(),
                     "nonce": sc(derive_nonce(G, h_e, ballot_nonce, contest, option, purpose))})
    out["election_hash"] = h_e.hex()
    out["ballot_nonce"] = ballot_nonce.hex()
    out["purposes"] = [PURPOSE_ENCRYPT, PURPOSE_REAL_COMMIT, PURPOSE_FAKE_CHALLENGE, PURPOSE_FAKE_COMMIT,
                       PURPOSE_SUM_COMMIT]
    out["nonces"] = rows
    return out


# -- credentials ----------------------------------------------------------------------------------


def _credential_with_check(target: int) -> str:
    counter = 0
    while True:
        value = int.from_bytes(fixed_bytes(f"cred/check/{target}/{counter}", 17), "big") >> 6
        chars = "".join(CROCKFORD[(value >> (5 * (25 - i))) & 31] for i in range(26))
        if value % 37 == target:
            return chars
        counter += 1


def credential_vectors() -> dict[str, Any]:
    out = header("Credentials: 26 Crockford base-32 data characters (130 bits) and a check character "
                 "(value mod 37 in the alphabet 0-9A-Z without I L O U, then * ~ $ = U), printed in "
                 "groups of 5; seed = H(\"sivei/cred\", string(election_id) ‖ string(26 data "
                 "characters)); the public credential is the Ed25519 public key of that seed. Voting "
                 "links SITE/votar#credencial=<26 characters>. Credential tokens: ECDSA P-256 (raw r‖s, "
                 "low s) over H(\"sivei/credential-token\", string(election_id) ‖ string(VOTER_ID) ‖ "
                 "public credential), sealed as nonce ‖ AES-256-GCM(H(\"sivei/credential-token-key\", "
                 "string(election_id) ‖ string(canonical credential)), nonce, token, aad = "
                 "string(election_id) ‖ string(VOTER_ID)).", group=None)
    out["check_alphabet"] = CHECK_ALPHABET
    rows = []
    for target in (0, 7, 31, 32, 33, 34, 35, 36):
        canonical = _credential_with_check(target)
        rows.append({"canonical": canonical, "check_value": target, "formatted": format_credential(canonical)})
    out["format_examples"] = rows
    canonical = rows[1]["canonical"]
    formatted = rows[1]["formatted"]
    lenient = formatted.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    out["parse"] = [{"typed": t, "canonical": parse_credential(t)}
                    for t in (formatted, formatted.replace("-", ""), lenient, "  " + formatted + "\n")]
    wrong_check = formatted[:-1] + CHECK_ALPHABET[(rows[1]["check_value"] + 1) % 37]
    swapped = formatted[:1] + formatted[2] + formatted[1] + formatted[3:]
    assert swapped != formatted
    substituted = formatted[:3] + CROCKFORD[(CROCKFORD.index(formatted[3]) + 1) % 32] + formatted[4:]
    out["parse_errors"] = [
        {"typed": wrong_check, "why": "wrong check character"},
        {"typed": swapped, "why": "two adjacent data characters swapped"},
        {"typed": substituted, "why": "one data character changed"},
        {"typed": formatted[:-2], "why": "too short"},
        {"typed": formatted + "0", "why": "too long"},
        {"typed": formatted[:5] + "U" + formatted[6:], "why": "U is not a data character"},
        {"typed": "", "why": "empty"},
    ]
    seeds = []
    for election_id, cred in (("vectores-2027", formatted), ("vectores-2027", rows[4]["formatted"]),
                              ("otra-eleccion", formatted)):
        seed = credential_seed(election_id, cred)
        seeds.append({"election_id": election_id, "credential": cred, "canonical": parse_credential(cred),
                      "seed_input": Encoder().string(election_id).string(parse_credential(cred)).to_bytes().hex(),
                      "seed": seed.hex(), "public_credential": credential_public_key(election_id, cred).hex()})
    out["seed"] = seeds
    del canonical
    # A credential list.
    m = manifest()
    creds = [rows[i]["formatted"] for i in range(4)]
    entries = sorted((CredentialEntry(credential_public_key(m.election_id, c), s)
                      for c, s in zip(creds, ["nte", "nte", "sur", "nte"], strict=True)),
                     key=lambda e: e.public_key)
    e_hash = entries_hash(entries, len(entries))
    authority = DeterministicSigner("credential-authority")
    from sivei.ballot.credentials import CredentialListDraft, sign_credential_list, style_counts

    draft = CredentialListDraft(m.election_id, m.hash, tuple(entries), style_counts(m, entries), True)
    signed = sign_credential_list(draft, authority)
    env = signed.envelope
    assert verify_digest(authority.public_key, env.content_hash, env.signature)
    out["credential_list"] = {
        "manifest": "manifest.json",
        "credentials": creds,
        "entries": [e.to_json() for e in entries],
        "entries_hash_input": (Encoder().u32(len(entries)).to_bytes() + b"".join(
            Encoder().fixed(e.public_key, 32).string(e.ballot_style).to_bytes() for e in entries)).hex(),
        "entries_hash": e_hash.hex(),
        "envelope": env.to_json(),
        "credential_list_hash": signed.hash.hex(),
        "authority_key_fingerprint": fingerprint(key_fingerprint_digest(authority.public_key)),
        "credentials_jsonl": "".join(canonical_json(e.to_json()).decode() + "\n" for e in entries),
    }
    out.update(credential_token_vectors(authority, rows))
    return out


def credential_token_vectors(authority: DeterministicSigner, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Voting links, credential tokens and their seals (protocol 11.5 and 11.6)."""
    from sivei.ballot.credential_tokens import (
        NONCE_BYTES,
        seal_key,
        seal_token,
        sign_token,
        token_digest,
        verify_token,
    )
    from sivei.ballot.credentials import credential_from_link, voting_link

    election_id = "vectores-2027"
    site = "https://voto.ejemplo.mx/ext"
    out: dict[str, Any] = {}
    out["links"] = [{"site": site, "credential": rows[i]["formatted"], "link": voting_link(site, rows[i]["formatted"]),
                     "canonical": rows[i]["canonical"]} for i in (1, 5)]
    good = out["links"][0]["link"]
    out["link_fragments"] = [
        {"text": good, "canonical": credential_from_link(good)},
        {"text": "credencial=" + rows[1]["canonical"].lower(), "canonical": rows[1]["canonical"]},
        {"text": rows[1]["formatted"], "canonical": None, "why": "a typed credential, not a link"},
        {"text": site + "/votar#contenido", "canonical": None, "why": "another fragment"},
    ]
    out["damaged_links"] = [{"text": good[:-1], "why": "a character short"},
                            {"text": good + "0", "why": "a character long"},
                            {"text": good[:-1] + "U", "why": "U is not a data character"}]
    tokens = []
    for i, voter_id in ((1, "V00000001"), (5, "mx-0042.b")):
        cred = rows[i]["formatted"]
        pk = credential_public_key(election_id, cred)
        token = sign_token(authority, election_id, voter_id, pk)
        assert verify_token(authority.public_key, election_id, voter_id, pk, token)
        nonce = fixed_bytes(f"seal/nonce/{i}", NONCE_BYTES)
        aad = Encoder().string(election_id).string(voter_id.upper()).to_bytes()
        tokens.append({
            "election_id": election_id, "voter_id": voter_id, "token_voter_id": voter_id.upper(),
            "credential": cred, "public_credential": pk.hex(),
            "digest_input": Encoder().string(election_id).string(voter_id.upper()).fixed(pk, 32).to_bytes().hex(),
            "digest": token_digest(election_id, voter_id, pk).hex(), "token": token.hex(),
            "seal_key": seal_key(election_id, cred).hex(), "nonce": nonce.hex(), "aad": aad.hex(),
            "sealed": seal_token(election_id, voter_id, cred, token, nonce=nonce).hex()})
    out["credential_tokens"] = {"authority_key": authority.public_key.hex(), "tokens": tokens,
                                "wrong_credential": rows[2]["formatted"]}
    return out


# -- ballots, challenges --------------------------------------------------------------------------

def _ballot_credential() -> str:
    return format_credential(_credential_with_check(32))


def ballot_vectors() -> dict[str, Any]:
    ctx, k = ballot_context()
    m = ctx.manifest
    out = header("Encrypted ballots from fixed inputs (manifest.json, K = g^k, a fixed H_E, a credential, "
                 "a ballot nonce and the choices): the canonical JSON ballot, its binary encoding "
                 "(without signature), the ballot hash H(\"sivei/ballot\", H_E ‖ encoding), the tracking "
                 "code and the Ed25519 signature over string(\"sivei/ballot-signature\") ‖ H_E ‖ "
                 "ballot hash. Unmarked contests are encrypted as their null option.")
    out["manifest"] = "manifest.json"
    out["manifest_hash"] = m.hash.hex()
    out["election_secret_key"] = sc(k)
    out["election_key"] = el(G, ctx.key.element)
    out["election_hash"] = ctx.election_hash.hex()
    credential = _ballot_credential()
    seed = credential_seed(m.election_id, credential)
    public = credential_public_key(m.election_id, credential)
    out["credential"] = credential
    out["credential_seed"] = seed.hex()
    out["public_credential"] = public.hex()
    cases = []
    for label, style, choices in (("full", "nte", {"gob-nte": "PRA_PRB", "consulta": "NO"}),
                                  ("unmarked", "nte", {"gob-nte": "CNR"}),
                                  ("referendum-only", "sur", {"consulta": "SI"})):
        nonce = fixed_bytes(f"ballot/{label}/nonce")
        ballot = encrypt_ballot(ctx, style, choices, public, nonce)
        signed = sign_ballot(ctx, ballot, seed)
        b_hash = ballot.ballot_hash(ctx)
        plaintext = {}
        for index, contest in m.style_contests(style):
            chosen = choices.get(contest.id)
            oi = contest.option_index(chosen) if chosen else contest.null_option_index
            plaintext[contest.id] = [1 if i == oi else 0 for i in range(len(contest.options))]
            del index
        cases.append({
            "label": label, "style": style, "choices": choices, "ballot_nonce": nonce.hex(),
            "plaintext": plaintext,
            "ballot": ballot.to_json(G),
            "encoding": ballot.encode(G).hex(),
            "ballot_hash": b_hash.hex(),
            "tracking_code": ballot.tracking_code(ctx),
            "signature_message": signature_message(ctx, b_hash).hex(),
            "signature": signed.signature.hex(),
        })
    out["ballots"] = cases
    return out


def challenge_vectors() -> dict[str, Any]:
    ctx, _ = ballot_context()
    m = ctx.manifest
    out = header("Cast-or-challenge: a challenged ballot reveals (choices, ballot nonce); anyone rebuilds "
                 "the ballot byte for byte and its tracking code. Same context as ballot.json.")
    out["manifest"] = "manifest.json"
    out["election_key"] = el(G, ctx.key.element)
    out["election_hash"] = ctx.election_hash.hex()
    public = credential_public_key(m.election_id, _ballot_credential())
    choices = {"gob-nte": "PRC", "consulta": "SI"}
    nonce = fixed_bytes("challenge/nonce")
    ballot = encrypt_ballot(ctx, "nte", choices, public, nonce)
    good = ChallengedBallot(ballot, choices, nonce)
    assert check_challenge(ctx, good) == []
    out["challenged"] = good.to_json(ctx)
    out["challenged_problems"] = []
    # A lying device: encrypted PRC but reveals PRA.
    lying = ChallengedBallot(ballot, {"gob-nte": "PRA", "consulta": "SI"}, nonce)
    out["lying_device"] = {"challenged": lying.to_json(ctx),
                           "problems": [p.check for p in check_challenge(ctx, lying)]}
    return out


# -- envelopes, DKG -------------------------------------------------------------------------------


def envelope_vectors() -> dict[str, Any]:
    out = header("Signed envelopes: content hash H(\"sivei/envelope\", string(type) ‖ string(election_id) "
                 "‖ string(ceremony_id) ‖ u32(round) ‖ string(sender) ‖ previous(32) ‖ "
                 "blob(canonical_json(body))); ECDSA P-256 over that 32-byte digest (no further hashing), "
                 "raw r‖s, low s. Signatures here use RFC 6979 nonces only to make the file reproducible; "
                 "any valid low-s signature must be accepted.", group=None)
    signer = DeterministicSigner("envelope")
    out["private_key"] = signer.private_value.to_bytes(32, "big").hex()
    out["public_key"] = signer.public_key.hex()
    out["key_fingerprint"] = {"digest": key_fingerprint_digest(signer.public_key).hex(),
                              "read_aloud": fingerprint(key_fingerprint_digest(signer.public_key))}
    previous = fixed_bytes("envelope/previous")
    fields = {"type": "dkg-verification", "election_id": "vectores-2027", "ceremony_id": "vectores-llaves-1",
              "round": 3, "sender": "guardian-2", "previous": previous,
              "body": {"accepted": [1, 3], "complaints": []}}
    digest = envelope_content_hash(fields["type"], fields["election_id"], fields["ceremony_id"],  # type: ignore[arg-type]
                                   fields["round"], fields["sender"], previous, fields["body"])  # type: ignore[arg-type]
    content_input = (Encoder().string("dkg-verification").string("vectores-2027").string("vectores-llaves-1")
                     .u32(3).string("guardian-2").fixed(previous, 32)
                     .blob(canonical_json(fields["body"])).to_bytes())
    sig = signer.sign_digest(digest)
    env = Envelope("dkg-verification", "vectores-2027", "vectores-llaves-1", 3, "guardian-2", previous,
                   {"accepted": [1, 3], "complaints": []}, sig)
    assert env.content_hash == digest
    r, s = sig[:32], int.from_bytes(sig[32:], "big")
    high = r + (P256_ORDER - s).to_bytes(32, "big")
    other_body = dict(env.to_json())
    other_body["body"] = {"accepted": [1], "complaints": []}
    out["envelope"] = env.to_json()
    out["content_hash_input"] = content_input.hex()
    out["content_hash"] = digest.hex()
    out["signature_checks"] = [
        {"digest": digest.hex(), "signature": sig.hex(), "valid": True, "why": "low-s signature"},
        {"digest": digest.hex(), "signature": high.hex(), "valid": False,
         "why": "the same signature with s replaced by n − s (high s) is rejected"},
        {"digest": digest.hex(), "signature": (bytes(32) + sig[32:]).hex(), "valid": False, "why": "r = 0"},
        {"digest": fixed_bytes("envelope/other").hex(), "signature": sig.hex(), "valid": False,
         "why": "another digest"},
    ]
    out["tampered_envelope"] = {"envelope": other_body, "valid": False,
                                "why": "body changed after signing"}
    # A bundle of two envelopes.
    signer2 = DeterministicSigner("envelope-2")
    env2_body = {"accepted": [2, 3], "complaints": []}
    d2 = envelope_content_hash("dkg-verification", "vectores-2027", "vectores-llaves-1", 3, "guardian-1",
                               previous, env2_body)
    env2 = Envelope("dkg-verification", "vectores-2027", "vectores-llaves-1", 3, "guardian-1", previous,
                    env2_body, signer2.sign_digest(d2))
    bundle = [env2, env]
    out["bundle"] = {"election_id": "vectores-2027", "ceremony_id": "vectores-llaves-1", "round": 3,
                     "envelopes": [e.to_json() for e in bundle], "signer_keys": [signer2.public_key.hex(),
                                                                               signer.public_key.hex()],
                     "bundle_hash": bundle_hash("vectores-2027", "vectores-llaves-1", 3, bundle).hex()}
    return out


def _dkg_setup() -> dict[str, Any]:
    n, t = 3, 2
    m = manifest()
    h_b = base_hash(G, m.hash)
    coeffs = {j: [fixed_scalar(f"dkg/coef/{j}/{k}") for k in range(t)] for j in range(1, n + 1)}

    def poly(j: int, x: int) -> int:
        return sum(a * pow(x, k, G.q) for k, a in enumerate(coeffs[j])) % G.q

    return {"n": n, "t": t, "h_b": h_b, "coeffs": coeffs, "poly": poly,
            "shares": {i: sum(poly(j, i) for j in range(1, n + 1)) % G.q for i in range(1, n + 1)}}


def dkg_vectors() -> dict[str, Any]:
    setup = _dkg_setup()
    n, t, h_b, coeffs, poly = setup["n"], setup["t"], setup["h_b"], setup["coeffs"], setup["poly"]
    election_id, ceremony_id = "vectores-2027", "vectores-llaves-1"
    out = header("Key ceremony formulas with fixed polynomials (n = 3, t = 2): coefficient commitments "
                 "with Schnorr proofs bound to H_B, u32(dealer) ‖ u32(k); shares P_j(i); the share "
                 "digest the dealer signs; a share sealed box with a fixed ephemeral key; K, K_i and "
                 "their proofs; complaints and their verdicts.")
    out.update({"election_id": election_id, "ceremony_id": ceremony_id, "n": n, "t": t, "h_b": h_b.hex(),
                "manifest": "manifest.json"})
    guardians = []
    commitments: dict[int, list[int]] = {}
    for j in range(1, n + 1):
        cs = [G.pow(G.g, a) for a in coeffs[j]]
        commitments[j] = cs
        proofs = []
        for k, (a, c) in enumerate(zip(coeffs[j], cs, strict=True)):
            u = fixed_scalar(f"dkg/coef-nonce/{j}/{k}")
            pr = prove_schnorr(G, a, c, context=h_b, statement=commitment_statement(j, k), nonce=u)
            proofs.append({"nonce": sc(u), "statement": commitment_statement(j, k).hex(), **pr.to_json(G)})
        guardians.append({
            "index": j, "coefficients": [sc(a) for a in coeffs[j]],
            "round1_body": {"commitments": [el(G, c) for c in cs],
                            "proofs": [{"commitment": p["commitment"], "response": p["response"]}
                                       for p in proofs]},
            "proof_nonces": [p["nonce"] for p in proofs],
            "shares": [{"recipient": i, "share": sc(poly(j, i)),
                        "share_digest": share_digest(G, h_b, ceremony_id, j, i, poly(j, i)).hex(),
                        "expected_image": el(G, expected_share_image(G, cs, i))}
                       for i in range(1, n + 1) if i != j],
        })
    out["guardians"] = guardians
    joint = G.mul(*(commitments[j][0] for j in range(1, n + 1)))
    aggregate = [G.mul(*(commitments[j][k] for j in range(1, n + 1))) for k in range(t)]
    finals = []
    for i in range(1, n + 1):
        s_i = setup["shares"][i]
        key_i = G.pow(G.g, s_i)
        assert key_i == expected_share_image(G, aggregate, i)
        u = fixed_scalar(f"dkg/key-nonce/{i}")
        pr = prove_schnorr(G, s_i, key_i, context=h_b, statement=guardian_key_statement(i), nonce=u)
        finals.append({"index": i, "secret_share": sc(s_i), "proof_nonce": sc(u),
                       "round4_body": {"guardian_key": el(G, key_i), "proof": pr.to_json(G),
                                       "joint_key": el(G, joint)}})
    out["finalize"] = finals
    out["joint_key"] = el(G, joint)
    # Sealed share box from dealer 1 to guardian 2, and complaints.
    dealer, recipient = 1, 2
    dealer_signer = DeterministicSigner("dkg/dealer-1")
    transport_sk = nacl.public.PrivateKey(fixed_bytes("x25519/guardian-2"))
    transport_pk = bytes(transport_sk.public_key)
    share = poly(dealer, recipient)
    sig = dealer_signer.sign_digest(share_digest(G, h_b, ceremony_id, dealer, recipient, share))
    box = deterministic_sealed_box(transport_pk, share.to_bytes(32, "big") + sig, "dkg/ephemeral")
    bad_share = (share + 1) % G.q
    bad_sig = dealer_signer.sign_digest(share_digest(G, h_b, ceremony_id, dealer, recipient, bad_share))
    garbage_box = deterministic_sealed_box(transport_pk, bad_share.to_bytes(32, "big") + bytes(64),
                                           "dkg/ephemeral-2")

    def verdict(complaint: Any, b: bytes | None) -> dict[str, Any]:
        v = evaluate_complaint(G, h_b, ceremony_id, recipient, complaint,
                               dealer_signing_key=dealer_signer.public_key,
                               dealer_commitments=commitments[dealer], complainer_transport_key=transport_pk,
                               box=b)
        return {"culprit": v.culprit, "dealer_at_fault": v.dealer_at_fault, "code": v.code}

    out["share_box"] = {
        "dealer": dealer, "recipient": recipient, "dealer_signing_key": dealer_signer.public_key.hex(),
        "recipient_transport_private_key": bytes(transport_sk).hex(),
        "recipient_transport_key": transport_pk.hex(),
        "ephemeral_private_key": fixed_bytes("x25519/dkg/ephemeral").hex(),
        "plaintext": (share.to_bytes(32, "big") + sig).hex(), "box": box.hex(),
        "round2_entry": {"recipient": recipient, "box": box.hex()},
    }
    out["complaints"] = [
        {"complainer": recipient, "box": None,
         "complaint": BadShareComplaint(dealer, bad_share, bad_sig).to_json(),
         "verdict": verdict(BadShareComplaint(dealer, bad_share, bad_sig), None),
         "why": "the dealer signed a share that does not match its commitments"},
        {"complainer": recipient, "box": None,
         "complaint": BadShareComplaint(dealer, share, sig).to_json(),
         "verdict": verdict(BadShareComplaint(dealer, share, sig), None),
         "why": "the published share matches: the complaint is false"},
        {"complainer": recipient, "box": None,
         "complaint": BadShareComplaint(dealer, bad_share, sig).to_json(),
         "verdict": verdict(BadShareComplaint(dealer, bad_share, sig), None),
         "why": "the published share is not the one the dealer signed"},
        {"complainer": recipient, "box": garbage_box.hex(),
         "complaint": BadBoxComplaint(dealer, bytes(transport_sk)).to_json(),
         "verdict": verdict(BadBoxComplaint(dealer, bytes(transport_sk)), garbage_box),
         "why": "the box opens but carries no valid dealer signature"},
        {"complainer": recipient, "box": box.hex(),
         "complaint": BadBoxComplaint(dealer, bytes(transport_sk)).to_json(),
         "verdict": verdict(BadBoxComplaint(dealer, bytes(transport_sk)), box),
         "why": "the box opens and the share is valid: the complaint is false"},
        {"complainer": recipient, "box": box.hex(),
         "complaint": BadBoxComplaint(dealer, fixed_bytes("x25519/not-guardian-2")).to_json(),
         "verdict": verdict(BadBoxComplaint(dealer, fixed_bytes("x25519/not-guardian-2")), box),
         "why": "the revealed key is not the announced transport key"},
    ]
    list_hash = fixed_bytes("dkg/credential-list-hash")
    out["credential_list_hash"] = list_hash.hex()
    out["h_e"] = election_hash(G, h_b, joint, [commitments[j] for j in range(1, n + 1)], list_hash).hex()
    return out


# -- board ------------------------------------------------------------------------------------------


def board_vectors() -> dict[str, Any]:
    ctx, _ = ballot_context()
    out = header("Board chain: e_i = H(\"sivei/board\", H_E ‖ e_{i−1} ‖ u32(i) ‖ string(type) ‖ "
                 "payload hash), e_{−1} = 32 zero bytes; payload hash = H(\"sivei/board-payload\", "
                 "canonical_json(payload)) except for ballots, whose payload hash is the ballot hash.",
                 group=None)
    h_e = ctx.election_hash
    ballots = ballot_vectors()["ballots"]
    events: list[tuple[str, dict[str, Any] | None, bytes]] = [
        (EVENT_OPEN, {}, payload_hash({})),
        (EVENT_BALLOT, None, bytes.fromhex(ballots[0]["ballot_hash"])),
        ("incident", {"description": "Simulacro: corte de red de 3 minutos"},
         payload_hash({"description": "Simulacro: corte de red de 3 minutos"})),
        (EVENT_BALLOT, None, bytes.fromhex(ballots[2]["ballot_hash"])),
        ("pause", {"reason": "mantenimiento"}, payload_hash({"reason": "mantenimiento"})),
        ("resume", {}, payload_hash({})),
        (EVENT_CLOSE, {"cast": 2, "late": 0}, payload_hash({"cast": 2, "late": 0})),
    ]
    previous = bytes(32)
    rows = []
    for i, (type_, payload, p_hash) in enumerate(events):
        head = event_hash(h_e, previous, i, type_, p_hash)
        row: dict[str, Any] = {"index": i, "type": type_}
        if payload is None:
            row["ballot_hash"] = p_hash.hex()
        else:
            row["payload"] = payload
        row.update({"payload_hash": p_hash.hex(), "previous": previous.hex(),
                    "hash_input": (Encoder().fixed(h_e, 32).fixed(previous, 32).u32(i).string(type_)
                                   .fixed(p_hash, 32).to_bytes()).hex(),
                    "head": head.hex(), "head_read_aloud": fingerprint(head)})
        rows.append(row)
        previous = head
    out["election_hash"] = h_e.hex()
    out["ballots_from"] = "ballot.json (ballots[0] and ballots[2])"
    out["events"] = rows
    return out


# -- signed acts and voters' receipts ---------------------------------------------------------------


def acts_vectors() -> dict[str, Any]:
    from sivei.record.acts import CLOSING, OPENING, SignedAct
    from sivei.record.receipts import TAG_RECEIPT, Receipt

    out = header("Signed acts and voters' receipts (protocol §18.2, sivei/record/receipts.py). An act's "
                 "content hash is H(\"sivei/act\", string(type) ‖ string(election_id) ‖ "
                 "blob(canonical_json(body))), signed by each key-holder; a receipt's digest is "
                 "H(\"sivei/receipt\", canonical_json(every field but signature)), signed with the "
                 "server's receipt key. Both ECDSA P-256 over the 32-byte digest (no further hashing), raw "
                 "r‖s, low s; RFC 6979 nonces only to make the file reproducible. Also P-256 public keys "
                 "that must be refused.", group=None)
    signers = [DeterministicSigner(f"act/guardian-{i}") for i in (1, 2, 3)]
    election_id = "vectores-2027"
    hx = lambda label: fixed_bytes(label).hex()  # noqa: E731 - a short local alias
    closing_body = {"election_id": election_id, "election_hash": hx("acts/h_e"), "closed_at": "2027-06-07T00:01:00Z",
                    "head": hx("acts/head"), "head_index": 6, "cast": 2, "late": 1,
                    "encrypted_tally_hash": hx("acts/tally")}
    closing = SignedAct(CLOSING, election_id, closing_body)
    for i, signer in enumerate(signers[:2], start=1):
        closing = closing.signed_by(signer, f"guardian-{i}")
    digest = closing.content_hash
    data = Encoder().string(CLOSING).string(election_id).blob(canonical_json(closing_body)).to_bytes()
    assert tagged_hash("sivei/act", data) == digest
    sig1 = closing.signatures[0].signature
    high = sig1[:32] + (P256_ORDER - int.from_bytes(sig1[32:], "big")).to_bytes(32, "big")
    keys = {f"guardian-{i}": s.public_key.hex() for i, s in enumerate(signers, start=1)}
    out["guardian_keys"] = keys
    out["closing_act"] = {
        "act": closing.to_json(), "content_hash_input": data.hex(), "content_hash": digest.hex(),
        "read_aloud": fingerprint(digest),
        "signature_checks": [
            {"signer": "guardian-1", "signature": sig1.hex(), "valid": True, "why": "low-s signature"},
            {"signer": "guardian-1", "signature": high.hex(), "valid": False, "why": "high s"},
            {"signer": "guardian-3", "signature": sig1.hex(), "valid": False, "why": "another key-holder's key"},
        ],
    }
    opening_body = {"election_id": election_id, "parameters_fingerprint": hx("acts/params"),
                    "manifest_hash": hx("acts/manifest"), "voting_opens": "2027-05-23T02:00:00Z",
                    "voting_closes": "2027-06-07T00:00:00Z",
                    "credential_authority_key": DeterministicSigner("act/authority").public_key.hex(),
                    "credential_list_hash": hx("acts/list"), "credential_counts": {"nte": 2, "sur": 2},
                    "ceremony_id": "vectores-llaves-1", "threshold": 2, "guardians": 3,
                    "joint_key": element_to_hex(G, G.pow(G.g, fixed_scalar("acts/joint"))),
                    "transcript_hash": hx("acts/transcript"), "election_hash": hx("acts/h_e"),
                    "guardian_signing_keys": [s.public_key.hex() for s in signers],
                    "receipt_key": DeterministicSigner("act/receipts").public_key.hex(),
                    "genesis_head": hx("acts/genesis"), "integrity_digest": hx("acts/integrity")}
    opening = SignedAct(OPENING, election_id, opening_body)
    for i, signer in enumerate(signers, start=1):
        opening = opening.signed_by(signer, f"guardian-{i}")
    out["opening_act"] = {"act": opening.to_json(), "content_hash": opening.content_hash.hex()}

    receipt_signer = DeterministicSigner("act/receipts")
    ballot_hash = fixed_bytes("acts/ballot")
    receipt = Receipt(election_id, fixed_bytes("acts/h_e"), ballot_hash, fingerprint(ballot_hash), 3,
                      fixed_bytes("acts/receipt-head"), "2027-06-01T17:04:05Z").signed_by(receipt_signer)
    body = canonical_json(receipt.body())
    assert tagged_hash(TAG_RECEIPT, body) == receipt.digest
    other = receipt.to_json()
    other["index"] = 4
    rsig = receipt.signature
    out["receipt"] = {
        "receipt_key": receipt_signer.public_key.hex(), "receipt": receipt.to_json(),
        "digest_input": body.decode("utf-8"), "digest": receipt.digest.hex(),
        "checks": [
            {"receipt": receipt.to_json(), "valid": True, "why": "as signed"},
            {"receipt": dict(receipt.to_json(), signature=(rsig[:32] + (P256_ORDER - int.from_bytes(
                rsig[32:], "big")).to_bytes(32, "big")).hex()), "valid": False, "why": "high s"},
            {"receipt": other, "valid": False, "why": "index changed after signing"},
        ],
    }
    point = receipt_signer.public_key
    out["public_keys"] = [
        {"key": point.hex(), "valid": True, "why": "uncompressed point on the curve"},
        {"key": (point[:-1] + bytes([point[-1] ^ 1])).hex(), "valid": False, "why": "not on the curve"},
        {"key": (bytes([2 + (point[-1] & 1)]) + point[1:33]).hex(), "valid": False,
         "why": "compressed form (33 bytes): only 04 ‖ x ‖ y is accepted"},
        {"key": "04" + "00" * 64, "valid": False, "why": "(0, 0) is not a point"},
    ]
    return out


def board_file_vectors() -> dict[str, Any]:
    """The board.json chain as record format version 2 stores it (docs/record.md §4.6)."""
    from sivei.ballot.board import BoardEvent, event_from_json, event_to_bytes, event_to_json
    from sivei.ballot.encrypt import EncryptedBallot
    from sivei.record.board_file import MAGIC

    ctx, _ = ballot_context()
    chain = board_vectors()["events"]
    ballots = ballot_vectors()["ballots"]
    signed = {b["ballot_hash"]: dict(b["ballot"], signature=b["signature"]) for b in ballots}
    out = header("The board of board.json stored as record format version 2 (board.bin): the magic "
                 "string(\"sivei-board\") ‖ u32(2), then per event u32(length) ‖ u32(index) ‖ string(type) ‖ "
                 "fixed(head, 32) ‖ content; a ballot's content is its canonical encoding (ballot.json "
                 "\"encoding\") ‖ blob(signature), any other event's blob(canonical_json(payload)). Each "
                 "event also as its version-1 line (board.jsonl); both forms have the same heads. "
                 "\"rejected\": frames a reader must refuse, with the reason.")
    out["election_hash"] = ctx.election_hash.hex()
    out["magic"] = MAGIC.hex()
    events = []
    whole = MAGIC
    for row in chain:
        head = bytes.fromhex(row["head"])
        if row["type"] == EVENT_BALLOT:
            ballot = EncryptedBallot.from_json(G, signed[row["ballot_hash"]])
            event = BoardEvent(row["index"], row["type"], head, ballot=ballot)
        else:
            event = BoardEvent(row["index"], row["type"], head, payload=row["payload"])
        line = event_to_json(event, ctx)
        assert event_from_json(ctx, line, "v")[1].hex() == row["payload_hash"]
        body = event_to_bytes(event, ctx)
        frame = Encoder().u32(len(body)).to_bytes() + body
        whole += frame
        events.append({"index": row["index"], "type": row["type"], "line": line, "frame": frame.hex(),
                       "payload_hash": row["payload_hash"], "head": row["head"]})
    out["events"] = events
    out["file_sha256"] = hashlib.sha256(whole).hexdigest()
    out["file_bytes"] = len(whole)
    incident = bytes.fromhex(events[2]["frame"])
    ballot = bytes.fromhex(events[1]["frame"])
    width = G.element_bytes
    alpha_at = 4 + 4 + 4 + len("ballot") + 32 + 4 + len("nte") + 32 + 4 + 4 + 4
    too_big = ballot[:alpha_at] + (G.p + 1).to_bytes(width, "big") + ballot[alpha_at + width:]
    spaced = json.dumps(events[2]["line"]["payload"], ensure_ascii=False).encode()
    body = incident[4:4 + 4 + 4 + len("incident") + 32]
    not_canonical = body + Encoder().blob(spaced).to_bytes()
    out["rejected"] = [
        {"reason": "the length announces one byte more than the event has (truncated)",
         "frame": (Encoder().u32(len(incident) - 3).to_bytes() + incident[4:]).hex()},
        {"reason": "one byte after the event's content",
         "frame": (Encoder().u32(len(incident) - 3).to_bytes() + incident[4:] + b"\x00").hex()},
        {"reason": "unknown event type",
         "frame": (lambda b: Encoder().u32(len(b)).to_bytes() + b)(
             Encoder().u32(2).string("reset").fixed(bytes(32), 32).blob(b"{}").to_bytes()).hex()},
        {"reason": "an element (the first α) not below p", "frame": too_big.hex()},
        {"reason": "a payload that is not canonical JSON (spaces)",
         "frame": (Encoder().u32(len(not_canonical)).to_bytes() + not_canonical).hex()},
        {"reason": "a signature of 63 bytes",
         "frame": (Encoder().u32(len(ballot) - 5).to_bytes() + ballot[4:-68] + Encoder().blob(bytes(63)).to_bytes()
                   ).hex()},
    ]
    return out


# -- threshold decryption, tally --------------------------------------------------------------------


def threshold_vectors() -> dict[str, Any]:
    setup = _dkg_setup()
    n, t, shares = setup["n"], setup["t"], setup["shares"]
    out = header("Threshold decryption with the dkg.json polynomials (n = 3, t = 2): Lagrange weights, "
                 "decryption shares M_i = A^{s_i} with Chaum–Pedersen proofs (fixed nonces) whose "
                 "statement is u32(i) ‖ element(B), the combination g^m = B / Π M_i^{w_i}, and the "
                 "encrypted-tally hash.")
    sets = [[1, 2], [1, 3], [2, 3], [1, 2, 3], [1, 3, 5], [2, 4], [1, 2, 3, 4, 5]]
    out["lagrange"] = [{"present": s, "weights": [sc(lagrange_coefficient(G, i, s)) for i in s]} for s in sets]
    joint_secret = setup["poly"](1, 0) + setup["poly"](2, 0) + setup["poly"](3, 0)
    key = ElectionKey(G, G.pow(G.g, joint_secret % G.q))
    h_e = bytes.fromhex(dkg_vectors()["h_e"])
    m = 3
    xi = fixed_scalar("threshold/xi")
    ct = key.encrypt(m, xi)
    out["election_key"] = el(G, key.element)
    out["election_hash"] = h_e.hex()
    out["ciphertext"] = ct.to_json(G)
    out["plaintext"] = m
    cases = []
    for present in ([1, 3], [1, 2, 3]):
        rows = []
        m_values: dict[int, int] = {}
        for i in present:
            s_i = shares[i]
            key_i = G.pow(G.g, s_i)
            m_i = G.pow(ct.alpha, s_i)
            m_values[i] = m_i
            u = fixed_scalar(f"threshold/nonce/{i}")
            statement = Encoder(G).u32(i).element(ct.beta).to_bytes()
            proof = prove_chaum_pedersen(G, s_i, ct.alpha, key_i, m_i, context=h_e, statement=statement, nonce=u)
            assert verify_chaum_pedersen(G, proof, ct.alpha, key_i, m_i, context=h_e, statement=statement)
            rows.append({"guardian": i, "secret_share": sc(s_i), "guardian_key": el(G, key_i), "nonce": sc(u),
                         "statement": statement.hex(),
                         "share": {"guardian": i, "share": el(G, m_i), "proof": proof.to_json(G)}})
        g_m = combine_shares(G, ct, m_values, n=n, t=t)
        assert g_m == G.pow(G.g, m)
        cases.append({"present": present, "weights": [sc(lagrange_coefficient(G, i, present)) for i in present],
                      "shares": rows, "g_m": el(G, g_m), "m": m})
    out["decryptions"] = cases
    tally = EncryptedTally((
        TallyEntry("NTE", 0, 2, tuple(key.encrypt(v, fixed_scalar(f"tally/nte/{i}")) for i, v in
                                      enumerate([1, 0, 0, 1, 0, 0]))),
        TallyEntry("NTE", 1, 2, tuple(key.encrypt(v, fixed_scalar(f"tally/nte-c/{i}")) for i, v in
                                      enumerate([1, 1, 0]))),
        TallyEntry("SUR", 1, 0, (Ciphertext(1, 1),) * 3),
    ))
    tctx = ElectionContext(manifest(), key, h_e)
    out["encrypted_tally"] = {"tally": tally.to_json(G), "tally_hash": tally.hash(tctx).hex()}
    return out


def results_vectors() -> dict[str, Any]:
    from sivei.tally.results import compute_results

    m = manifest()
    out = header("Results from decrypted counts (manifest.json): total, votes per candidacy, and the "
                 "informative distribution of combination votes among the combination's parties "
                 "(equal split; remainder one vote each to the parties with most own votes; ties by "
                 "manifest party order). \"results\" is results.json of record format version 2 (every "
                 "count named by its option id); \"results_version_1\" the same in version 1 (counts by "
                 "position).", group=None)
    out["manifest"] = "manifest.json"
    cases = []
    for label, nte_gob, nte_c, sur_c in (
        ("plain", [5, 3, 4, 7, 1, 2], [6, 5, 11], [2, 1, 0]),
        ("tie-goes-to-earlier-party", [4, 4, 0, 5, 0, 0], [3, 5, 5], [0, 0, 0]),
        ("remainder-to-larger-party", [1, 6, 2, 3, 0, 1], [1, 1, 11], [9, 0, 1]),
    ):
        counts = {("NTE", "gob-nte"): nte_gob, ("NTE", "consulta"): nte_c, ("SUR", "consulta"): sur_c}
        res = compute_results(m, counts)
        cases.append({"label": label,
                      "counts": [{"entity": e, "contest_id": c, "option_counts": v} for (e, c), v in counts.items()],
                      "results": res.to_json(m), "results_version_1": res.to_json(m, 1)})
    out["cases"] = cases
    return out


def production_vectors() -> dict[str, Any]:
    grp = PRODUCTION_GROUP
    out = header("Production group (ElectionGuard 2.0 baseline): element encoding (512 bytes) and a "
                 "0/1 proof for m = 1 with fixed nonces.", grp)
    out["fingerprint"] = grp.fingerprint.hex()
    x = grp.pow(grp.g, fixed_scalar("production/element", grp))
    out["element"] = {"value": el(grp, x), "encoding": Encoder(grp).element(x).to_bytes().hex()}
    out["g"] = el(grp, grp.g)
    out["p_sha256"] = hashlib.sha256(grp.p.to_bytes(512, "big")).hexdigest()
    proofs = proof_vectors(grp, production=True)
    out["zero_one"] = proofs["zero_one"]
    return out


# -- driver ---------------------------------------------------------------------------------------

def in_person_vectors() -> dict[str, Any]:
    """In-person voting at consulates (docs/protocol.md §20): a manifest with ``in_person``, the
    declaration hash, a consulate log's content hash."""
    from sivei.ballot.in_person import ConsulateCredentials, ConsulateLog, InPersonDeclaration, with_consulates
    from sivei.crypto.envelope import seal

    signers = {code: DeterministicSigner(f"consulate/{code}") for code in ("LAX", "MAD")}
    m = with_consulates(manifest(), [("LAX", "Consulado General de México en Los Ángeles", 1500,
                                      signers["LAX"].public_key),
                                     ("MAD", "Consulado de México en Madrid", 2, signers["MAD"].public_key)],
                        unregistered_entity=("SRE", "Personas sin registro previo (consulados)"),
                        unregistered_contests=["consulta"])
    pk = [fixed_bytes(f"in-person/credential/{i}") for i in range(4)]
    declaration = InPersonDeclaration(m.election_id, (
        ConsulateCredentials("LAX", (pk[0],), (pk[1], pk[2])), ConsulateCredentials("MAD", (), (pk[3],))))
    log = ConsulateLog("LAX", 1, (fixed_bytes("in-person/card/0"), fixed_bytes("in-person/card/1")))
    h_e = fixed_bytes("in-person/election-hash")
    draft = log.draft(m.election_id, h_e)
    content = envelope_content_hash(draft["type"], draft["election_id"], draft["ceremony_id"], draft["round"],
                                    draft["sender"], h_e, draft["body"])
    signed = seal(signers["LAX"], type=draft["type"], election_id=draft["election_id"],
                  ceremony_id=draft["ceremony_id"], round=draft["round"], sender=draft["sender"], previous=h_e,
                  body=draft["body"])
    return {
        **header("In-person voting at consulates: the manifest's in_person block (its canonical JSON and hash), "
                 "the hash of the authority's declaration of the consulates' credentials "
                 "(H(\"sivei/in-person\", …)), a consulate log's envelope content hash (what its key signs) and "
                 "the log signed by LAX's log key (RFC 6979 nonces; any valid low-s signature verifies).",
                 None),
        "manifest": m.to_json(),
        "canonical_json_sha256": hashlib.sha256(canonical_json(m.to_json())).hexdigest(),
        "manifest_hash": m.hash.hex(),
        "declaration": declaration.to_json(),
        "declaration_hash": declaration.hash.hex(),
        "log_draft": draft,
        "log_content_hash": content.hex(),
        "election_hash": h_e.hex(),
        "log": signed.to_json(),
    }


BUILDERS: dict[str, Callable[[], dict[str, Any]]] = {
    "encoding.json": encoding_vectors,
    "hashes.json": hash_vectors,
    "fingerprint.json": fingerprint_vectors,
    "proofs.json": proof_vectors,
    "nonces.json": nonce_vectors,
    "credentials.json": credential_vectors,
    "ballot.json": ballot_vectors,
    "challenge.json": challenge_vectors,
    "envelope.json": envelope_vectors,
    "acts.json": acts_vectors,
    "dkg.json": dkg_vectors,
    "board.json": board_vectors,
    "board-file.json": board_file_vectors,
    "threshold.json": threshold_vectors,
    "results.json": results_vectors,
    "production.json": production_vectors,
    "in-person.json": in_person_vectors,
}


def _render(obj: Any, indent: int) -> str:
    """JSON with small values kept on one line (anything whose compact form fits in 100 columns)."""
    compact = json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))
    if len(compact) + indent <= 100 or not isinstance(obj, (list, dict)) or not obj:
        return compact
    pad = " " * (indent + 1)
    if isinstance(obj, list):
        items = [pad + _render(v, indent + 1) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    items = [pad + json.dumps(k, ensure_ascii=False) + ": " + _render(v, indent + 1) for k, v in obj.items()]
    return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"


def dumps(obj: Any) -> str:
    return _render(obj, 0) + "\n"


def render() -> dict[str, str]:
    files = {"manifest.json": dumps(MANIFEST_JSON)}
    for name, build in BUILDERS.items():
        files[name] = dumps(build())
    return files


def small_election() -> None:
    """Run the drill on the test group with the vectors' manifest and keep its record."""
    from sivei.drill import DrillOptions, run_drill
    from sivei.record.convert import convert_record

    target = HERE / SMALL_ELECTION
    if target.exists():
        shutil.rmtree(target)
    drilled = HERE / f".{SMALL_ELECTION}-drill"
    outcome = run_drill(DrillOptions(group=G, voters=4, guardians=5, threshold=3, challenges=1,
                                     manifest=manifest(), output=drilled, seed=2027),
                        say=lambda _msg: None)
    convert_record(drilled, target, 1, allow_test_group=True)  # kept in format 1: verifiers read it forever
    shutil.rmtree(drilled)
    target.chmod(0o755)
    h_e = outcome.ctx.election_hash
    expect = {
        **header("The small complete election in small-election/ (written by the drill, not "
                 "deterministic): the verifier must accept it with the test group, this election "
                 "fingerprint and this final head."),
        "command": "sivei verificar --test-group --expect-election ELECTION_HASH --expect-head FINAL_HEAD "
                   "tests/vectors/small-election",
        "election_hash": h_e.hex(),
        "election_fingerprint": fingerprint(h_e),
        "final_head": outcome.head.hex(),
        "final_head_read_aloud": fingerprint(outcome.head),
    }
    (HERE / SMALL_ELECTION_EXPECT).write_text(dumps(expect), encoding="utf-8")
    small_election_v2()


def small_election_v2() -> None:
    """small-election-v2/: small-election/ converted to record format version 2 (deterministic)."""
    from sivei.record.convert import convert_record

    target = HERE / SMALL_ELECTION_V2
    if target.exists():
        shutil.rmtree(target)
    convert_record(HERE / SMALL_ELECTION, target, 2, allow_test_group=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the files on disk; write nothing")
    parser.add_argument("--small-election", action="store_true", help="also re-run the small drill")
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        stale = [name for name, text in files.items()
                 if not (HERE / name).is_file() or (HERE / name).read_text(encoding="utf-8") != text]
        for name in stale:
            print(f"differs: {name}", file=sys.stderr)
        return 1 if stale else 0
    for name, text in files.items():
        (HERE / name).write_text(text, encoding="utf-8")
    if args.small_election:
        small_election()
    return 0


if __name__ == "__main__":
    sys.exit(main())
