"""The JSON test vectors of tests/vectors/ are reproduced byte for byte by this implementation.

Each test reads the inputs a vector file states and recomputes every output with the library, the
way another implementation (the browser booth, an independent verifier) is expected to; it does not
import the generator. ``test_generator_is_deterministic`` checks that regenerating gives the same
files, and ``test_small_election_verifies`` runs the verifier on the kept drill record.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from sivei.ballot.board import event_hash, payload_hash
from sivei.ballot.challenge import ChallengedBallot, check_challenge
from sivei.ballot.context import ElectionContext
from sivei.ballot.credential_tokens import seal_key, seal_token, token_digest, unseal_token, verify_token
from sivei.ballot.credentials import (
    CHECK_ALPHABET,
    CredentialEntry,
    CredentialError,
    CredentialList,
    check_credential_list,
    credential_from_link,
    credential_public_key,
    credential_seed,
    entries_hash,
    format_credential,
    parse_credential,
    voting_link,
)
from sivei.ballot.encrypt import (
    EncryptedBallot,
    derive_nonce,
    encrypt_ballot,
    sign_ballot,
    signature_message,
)
from sivei.ballot.manifest import Manifest
from sivei.ballot.validate import ballot_problems
from sivei.crypto import ed25519
from sivei.crypto.context import base_hash, election_hash
from sivei.crypto.decryption import (
    DecryptionShare,
    combine_shares,
    lagrange_coefficient,
    verify_share,
)
from sivei.crypto.dkg import (
    BadBoxComplaint,
    complaint_from_json,
    evaluate_complaint,
    expected_share_image,
    open_share_box,
    share_digest,
)
from sivei.crypto.ecdsa import key_fingerprint_digest, verify_digest
from sivei.crypto.elgamal import Ciphertext, ElectionKey
from sivei.crypto.encoding import (
    Encoder,
    canonical_json,
    element_from_hex,
    hash_to_scalar,
    scalar_from_hex,
    tagged_hash,
)
from sivei.crypto.envelope import Envelope, bundle_hash
from sivei.crypto.fingerprint import CROCKFORD, fingerprint, matches_fingerprint
from sivei.crypto.group import GROUPS, PRODUCTION_GROUP, TEST_GROUP, Group
from sivei.crypto.proofs import (
    ChaumPedersenProof,
    SchnorrProof,
    ZeroOneNonces,
    ZeroOneProof,
    prove_chaum_pedersen,
    prove_schnorr,
    prove_zero_one,
    verify_chaum_pedersen,
    verify_schnorr,
    verify_zero_one,
)
from sivei.errors import EncodingError
from sivei.record.verify import VerifyOptions, verify_record
from sivei.tally.aggregate import EncryptedTally

VECTORS = Path(__file__).parent / "vectors"
G = TEST_GROUP


@cache
def load(name: str) -> Any:
    data = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    if name != "manifest.json":
        assert data["format"] == "sivei-test-vectors" and data["version"] == 1
    return data


def group_of(data: dict[str, Any]) -> Group:
    return GROUPS[data["group"]]


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def scalar(value: str) -> int:
    return scalar_from_hex(G, value, "vector")


def element(group: Group, value: str) -> int:
    return element_from_hex(group, value, "vector")


def manifest() -> Manifest:
    return Manifest.from_json(load("manifest.json"))


def context(data: dict[str, Any]) -> ElectionContext:
    group = group_of(data)
    return ElectionContext(manifest(), ElectionKey(group, element(group, data["election_key"])),
                           h(data["election_hash"]))


# -- encoding ---------------------------------------------------------------------------------------


def test_encoding_primitives() -> None:
    v = load("encoding.json")
    assert group_of(v) is G
    for case in v["u32"]:
        assert Encoder().u32(case["value"]).to_bytes().hex() == case["encoding"]
    for case in v["string"]:
        assert Encoder().string(case["value"]).to_bytes().hex() == case["encoding"]
    for case in v["blob"]:
        assert Encoder().blob(h(case["value"])).to_bytes().hex() == case["encoding"]
    for case in v["scalar"]:
        x = scalar_from_hex(G, case["value"], "s")
        assert Encoder(G).scalar(x).to_bytes().hex() == case["encoding"] == case["value"]
    for case in v["element"]:
        x = element_from_hex(G, case["value"], "e")
        assert Encoder(G).element(x).to_bytes().hex() == case["encoding"] == case["value"]
    values = [element(G, x) for x in v["element_list"]["values"]]
    assert Encoder(G).elements(values).to_bytes().hex() == v["element_list"]["encoding"]
    enc = Encoder(G)
    for field in v["composite"]["fields"]:
        ((kind, value),) = field.items()
        if kind == "string":
            enc.string(value)
        elif kind == "u32":
            enc.u32(value)
        elif kind == "scalar":
            enc.scalar(scalar(value))
        elif kind == "element":
            enc.element(element(G, value))
        elif kind == "fixed":
            enc.fixed(h(value), 32)
        else:
            assert kind == "blob"
            enc.blob(h(value))
    assert enc.to_bytes().hex() == v["composite"]["encoding"]


def test_encoding_rejections() -> None:
    v = load("encoding.json")
    for case in v["element_rejections"]:
        with pytest.raises(EncodingError):
            element_from_hex(G, case["hex"], "e")
    for case in v["nonidentity_rejections"]:
        element_from_hex(G, case["hex"], "e")  # a valid element ...
        with pytest.raises(EncodingError):  # ... but not as a key or commitment
            element_from_hex(G, case["hex"], "e", nonidentity=True)
    for case in v["scalar_rejections"]:
        with pytest.raises(EncodingError):
            scalar_from_hex(G, case["hex"], "s")


def test_canonical_json() -> None:
    v = load("encoding.json")
    for case in v["canonical_json"]:
        out = canonical_json(case["value"])
        assert out.decode("utf-8") == case["canonical"]
        assert out.hex() == case["utf8_hex"]
    for case in v["canonical_json_rejections"]:
        with pytest.raises(EncodingError):
            canonical_json(case["value"])


# -- hashes, fingerprints ---------------------------------------------------------------------------


def test_hashes() -> None:
    v = load("hashes.json")
    for case in v["tagged_hash"]:
        assert tagged_hash(case["tag"], h(case["data"])).hex() == case["digest"]
    for case in v["hash_to_scalar"]:
        assert hash_to_scalar(G, case["tag"], h(case["data"])).to_bytes(32, "big").hex() == case["scalar"]
    for case in v["group_fingerprint"]:
        grp = GROUPS[case["group"]]
        assert grp.fingerprint.hex() == case["fingerprint"]
        assert fingerprint(grp.fingerprint) == case["read_aloud"]
    pre = v["group_fingerprint_preimage"]
    import hashlib

    assert hashlib.sha256(h(pre["preimage"])).digest() == GROUPS[pre["group"]].fingerprint


def test_manifest_hash_and_contexts() -> None:
    v = load("hashes.json")
    m = manifest()
    assert m.to_json() == load("manifest.json")
    assert m.hash.hex() == v["manifest"]["manifest_hash"]
    e = v["manifest_with_emblem"]
    with_emblem = m.to_json()
    with_emblem["parties"][0]["emblem"] = e["emblem"]
    assert Manifest.from_json(with_emblem).hash.hex() == e["manifest_hash"]
    assert hashlib.sha256(bytes.fromhex(e["emblem_file_bytes"])).hexdigest() == e["emblem"]["sha256"]
    assert fingerprint(m.hash) == v["manifest"]["read_aloud"]
    b = v["base_hash"]
    assert base_hash(GROUPS[b["group"]], h(b["manifest_hash"])).hex() == b["h_b"]
    e = v["election_hash"]
    commitments = [[element(G, c) for c in row] for row in e["commitments"]]
    joint = element(G, e["joint_key"])
    assert joint == G.mul(*(row[0] for row in commitments))
    h_e = election_hash(G, h(e["h_b"]), joint, commitments, h(e["credential_list_hash"]))
    assert h_e.hex() == e["h_e"]
    assert fingerprint(h_e) == e["read_aloud"]


def test_fingerprints() -> None:
    v = load("fingerprint.json")
    assert v["alphabet"] == CROCKFORD
    for case in v["encode"]:
        assert fingerprint(h(case["digest"])) == case["fingerprint"]
    for case in v["matches"]:
        assert matches_fingerprint(case["typed"], h(case["digest"])) is case["matches"], case["typed"]


# -- proofs -----------------------------------------------------------------------------------------


def test_schnorr_vector() -> None:
    v = load("proofs.json")["schnorr"]
    i = v["inputs"]
    x = scalar(i["secret"])
    public = element(G, v["public"])
    assert public == G.g_pow(x)
    proof = prove_schnorr(G, x, public, context=h(i["context"]), statement=h(i["statement"]),
                          nonce=scalar(i["nonce"]))
    assert proof.to_json(G) == v["proof"]
    assert (hash_to_scalar(G, "sivei/proof/schnorr", h(v["challenge_input"])).to_bytes(32, "big").hex()
            == v["challenge"])
    parsed = SchnorrProof.from_json(G, v["proof"], "proof")
    assert verify_schnorr(G, parsed, public, context=h(i["context"]), statement=h(i["statement"]))


def test_chaum_pedersen_vector() -> None:
    v = load("proofs.json")["chaum_pedersen"]
    i = v["inputs"]
    s, base = scalar(i["secret"]), element(G, i["h"])
    x, y = element(G, v["x"]), element(G, v["y"])
    assert (x, y) == (G.g_pow(s), G.pow(base, s))
    proof = prove_chaum_pedersen(G, s, base, x, y, context=h(i["context"]), statement=h(i["statement"]),
                                 nonce=scalar(i["nonce"]))
    assert proof.to_json(G) == v["proof"]
    assert (hash_to_scalar(G, "sivei/proof/chaum-pedersen", h(v["challenge_input"])).to_bytes(32, "big").hex()
            == v["challenge"])
    parsed = ChaumPedersenProof.from_json(G, v["proof"], "proof")
    assert verify_chaum_pedersen(G, parsed, base, x, y, context=h(i["context"]), statement=h(i["statement"]))


def _check_zero_one(group: Group, block: dict[str, Any]) -> None:
    key = ElectionKey(group, element(group, block["election_key"]))
    assert key.element == group.g_pow(scalar_from_hex(group, block["election_secret_key"], "k"))
    for case in block["cases"]:
        i = case["inputs"]
        xi = scalar_from_hex(group, i["nonce_xi"], "xi")
        ct = key.encrypt(i["m"], xi)
        assert ct.to_json(group) == case["ciphertext"]
        nonces = ZeroOneNonces(scalar_from_hex(group, i["real_commitment_u"], "u"),
                               scalar_from_hex(group, i["fake_challenge"], "c"),
                               scalar_from_hex(group, i["fake_commitment_u"], "u"))
        ctx, stmt = h(i["context"]), h(i["statement"])
        proof = prove_zero_one(key, ct, i["m"], xi, nonces, context=ctx, statement=stmt)
        assert proof.to_json(group) == case["proof"]
        assert (proof.c0 + proof.c1) % group.q == scalar_from_hex(group, case["challenge"], "c")
        parsed = ZeroOneProof.from_json(group, case["proof"], "proof")
        assert verify_zero_one(key, Ciphertext.from_json(group, case["ciphertext"], "ct"), parsed,
                               context=ctx, statement=stmt)
        for bad in case.get("rejected_variants", []):
            bad_proof = ZeroOneProof.from_json(group, bad.get("proof", case["proof"]), "proof")
            bad_stmt = h(bad.get("statement", i["statement"]))
            assert not verify_zero_one(key, ct, bad_proof, context=ctx, statement=bad_stmt), bad["why"]


def test_zero_one_vectors() -> None:
    _check_zero_one(G, load("proofs.json")["zero_one"])


@pytest.mark.production
def test_production_vectors() -> None:
    v = load("production.json")
    grp = group_of(v)
    assert grp is PRODUCTION_GROUP
    assert grp.fingerprint.hex() == v["fingerprint"]
    assert grp.g.to_bytes(512, "big").hex() == v["g"]
    import hashlib

    assert hashlib.sha256(grp.p.to_bytes(512, "big")).hexdigest() == v["p_sha256"]
    x = element_from_hex(grp, v["element"]["value"], "e")
    assert Encoder(grp).element(x).to_bytes().hex() == v["element"]["encoding"]
    assert len(v["element"]["encoding"]) == 1024
    _check_zero_one(grp, v["zero_one"])


# -- nonces, credentials -----------------------------------------------------------------------------


def test_nonce_derivation() -> None:
    v = load("nonces.json")
    h_e, ballot_nonce = h(v["election_hash"]), h(v["ballot_nonce"])
    for case in v["nonces"]:
        data = (Encoder().fixed(h_e, 32).fixed(ballot_nonce, 32).u32(case["contest"]).u32(case["option"])
                .string(case["purpose"]).to_bytes())
        assert data.hex() == case["hash_input"]
        nonce = derive_nonce(G, h_e, ballot_nonce, case["contest"], case["option"], case["purpose"])
        assert nonce.to_bytes(32, "big").hex() == case["nonce"]


def test_credential_format_and_parse() -> None:
    v = load("credentials.json")
    assert v["check_alphabet"] == CHECK_ALPHABET
    for case in v["format_examples"]:
        assert format_credential(case["canonical"]) == case["formatted"]
        assert case["formatted"][-1] == CHECK_ALPHABET[case["check_value"]]
        assert parse_credential(case["formatted"]) == case["canonical"]
    for case in v["parse"]:
        assert parse_credential(case["typed"]) == case["canonical"]
    for case in v["parse_errors"]:
        with pytest.raises(CredentialError):
            parse_credential(case["typed"])


def test_credential_seed_and_key() -> None:
    v = load("credentials.json")
    for case in v["seed"]:
        canonical = parse_credential(case["credential"])
        assert canonical == case["canonical"]
        data = Encoder().string(case["election_id"]).string(canonical).to_bytes()
        assert data.hex() == case["seed_input"]
        seed = credential_seed(case["election_id"], case["credential"])
        assert seed.hex() == case["seed"] == tagged_hash("sivei/cred", data).hex()
        assert credential_public_key(case["election_id"], case["credential"]).hex() == case["public_credential"]
        assert ed25519.public_key_from_seed(seed).hex() == case["public_credential"]


def test_credential_list() -> None:
    v = load("credentials.json")["credential_list"]
    m = manifest()
    entries = [CredentialEntry(h(e["credential"]), e["style"]) for e in v["entries"]]
    assert sorted(CredentialEntry(credential_public_key(m.election_id, c), "").public_key
                  for c in v["credentials"]) == [e.public_key for e in entries]
    assert entries_hash(entries, len(entries)).hex() == v["entries_hash"]
    assert tagged_hash("sivei/credential-list", h(v["entries_hash_input"])).hex() == v["entries_hash"]
    assert "".join(canonical_json(e.to_json()).decode() + "\n" for e in entries) == v["credentials_jsonl"]
    env = Envelope.from_json(v["envelope"])
    assert check_credential_list(m, env, entries) == []
    lst = CredentialList(env, tuple(entries))
    assert lst.hash.hex() == v["credential_list_hash"]
    assert fingerprint(key_fingerprint_digest(lst.authority_key)) == v["authority_key_fingerprint"]


def test_voting_links() -> None:
    v = load("credentials.json")
    for case in v["links"]:
        assert voting_link(case["site"], case["credential"]) == case["link"]
        assert credential_from_link(case["link"]) == case["canonical"]
    for case in v["link_fragments"]:
        assert credential_from_link(case["text"]) == case["canonical"]
    for case in v["damaged_links"]:
        with pytest.raises(CredentialError):
            credential_from_link(case["text"])


def test_credential_tokens_and_seals() -> None:
    v = load("credentials.json")["credential_tokens"]
    key = h(v["authority_key"])
    for case in v["tokens"]:
        election, voter = case["election_id"], case["voter_id"]
        pk, token = h(case["public_credential"]), h(case["token"])
        assert credential_public_key(election, case["credential"]) == pk
        assert Encoder().string(election).string(case["token_voter_id"]).fixed(pk, 32).to_bytes().hex() == \
            case["digest_input"]
        assert token_digest(election, voter, pk).hex() == case["digest"]
        assert tagged_hash("sivei/credential-token", h(case["digest_input"])).hex() == case["digest"]
        assert verify_token(key, election, voter, pk, token)
        assert seal_key(election, case["credential"]).hex() == case["seal_key"]
        assert seal_token(election, voter, case["credential"], token, nonce=h(case["nonce"])).hex() == case["sealed"]
        assert unseal_token(election, voter, case["credential"], h(case["sealed"])) == token
        with pytest.raises(CredentialError):
            unseal_token(election, voter, v["wrong_credential"], h(case["sealed"]))


# -- ballots -----------------------------------------------------------------------------------------


def test_ballots() -> None:
    v = load("ballot.json")
    ctx = context(v)
    m = ctx.manifest
    assert m.hash.hex() == v["manifest_hash"]
    assert ctx.key.element == G.g_pow(scalar(v["election_secret_key"]))
    seed = credential_seed(m.election_id, v["credential"])
    assert seed.hex() == v["credential_seed"]
    public = ed25519.public_key_from_seed(seed)
    assert public.hex() == v["public_credential"]
    for case in v["ballots"]:
        ballot = encrypt_ballot(ctx, case["style"], case["choices"], public, h(case["ballot_nonce"]))
        assert ballot.to_json(G) == case["ballot"]
        assert ballot.encode(G).hex() == case["encoding"]
        b_hash = ballot.ballot_hash(ctx)
        assert b_hash.hex() == case["ballot_hash"]
        assert tagged_hash("sivei/ballot", ctx.election_hash + ballot.encode(G)) == b_hash
        assert ballot.tracking_code(ctx) == case["tracking_code"] == fingerprint(b_hash)
        message = signature_message(ctx, b_hash)
        assert message.hex() == case["signature_message"]
        signed = sign_ballot(ctx, ballot, seed)
        assert signed.signature.hex() == case["signature"]
        assert ed25519.verify(public, message, h(case["signature"]))
        # Parsed back, with the signature, it is a valid cast ballot of its style.
        parsed = EncryptedBallot.from_json(G, {**case["ballot"], "signature": case["signature"]})
        assert ballot_problems(ctx, parsed, case["style"], "vector") == []
        # The plaintext each selection encrypts, recovered with the election secret key.
        k = scalar(v["election_secret_key"])
        for contest in parsed.contests:
            cid = m.contests[contest.index].id
            bits = [0 if G.div(s.ciphertext.beta, G.pow(s.ciphertext.alpha, k)) == 1 else 1
                    for s in contest.selections]
            assert bits == case["plaintext"][cid]


def test_challenge() -> None:
    v = load("challenge.json")
    ctx = context(v)
    good = ChallengedBallot.from_json(ctx, v["challenged"])
    assert good.ballot.tracking_code(ctx) == v["challenged"]["tracking_code"]
    assert good.to_json(ctx) == v["challenged"]
    assert [p.check for p in check_challenge(ctx, good)] == v["challenged_problems"]
    lying = ChallengedBallot.from_json(ctx, v["lying_device"]["challenged"])
    assert [p.check for p in check_challenge(ctx, lying)] == v["lying_device"]["problems"]
    rebuilt = encrypt_ballot(ctx, good.ballot.style, good.choices, good.ballot.credential, good.ballot_nonce)
    assert rebuilt.to_json(G) == v["challenged"]["ballot"]


# -- envelopes, DKG ----------------------------------------------------------------------------------


def test_envelopes() -> None:
    v = load("envelope.json")
    public = h(v["public_key"])
    assert key_fingerprint_digest(public).hex() == v["key_fingerprint"]["digest"]
    assert fingerprint(key_fingerprint_digest(public)) == v["key_fingerprint"]["read_aloud"]
    env = Envelope.from_json(v["envelope"])
    data = (Encoder().string(env.type).string(env.election_id).string(env.ceremony_id).u32(env.round)
            .string(env.sender).fixed(env.previous, 32).blob(canonical_json(env.body)).to_bytes())
    assert data.hex() == v["content_hash_input"]
    assert env.content_hash.hex() == v["content_hash"] == tagged_hash("sivei/envelope", data).hex()
    env.verify(public)
    for case in v["signature_checks"]:
        assert verify_digest(public, h(case["digest"]), h(case["signature"])) is case["valid"], case["why"]
    tampered = Envelope.from_json(v["tampered_envelope"]["envelope"])
    assert verify_digest(public, tampered.content_hash, tampered.signature) is False
    b = v["bundle"]
    envelopes = [Envelope.from_json(e) for e in b["envelopes"]]
    for e, key in zip(envelopes, b["signer_keys"], strict=True):
        e.verify(h(key))
    assert bundle_hash(b["election_id"], b["ceremony_id"], b["round"], envelopes).hex() == b["bundle_hash"]



def test_acts_and_receipts() -> None:
    from sivei.crypto.ecdsa import load_public_key
    from sivei.errors import SignatureError
    from sivei.record.acts import SignedAct
    from sivei.record.receipts import Receipt

    v = load("acts.json")
    keys = {name: h(key) for name, key in v["guardian_keys"].items()}
    c = v["closing_act"]
    act = SignedAct.from_json(c["act"], "closing")
    assert (Encoder().string(act.type).string(act.election_id).blob(canonical_json(dict(act.body))).to_bytes().hex()
            == c["content_hash_input"])
    assert act.content_hash.hex() == c["content_hash"] and fingerprint(act.content_hash) == c["read_aloud"]
    assert act.signature_problems(keys, required=2, what="closing") == []
    for case in c["signature_checks"]:
        assert verify_digest(keys[case["signer"]], act.content_hash, h(case["signature"])) is case["valid"]
    opening = SignedAct.from_json(v["opening_act"]["act"], "opening")
    assert opening.content_hash.hex() == v["opening_act"]["content_hash"]
    assert opening.signature_problems(keys, required=3, what="opening") == []
    r = v["receipt"]
    receipt = Receipt.from_json(r["receipt"])
    assert canonical_json(receipt.body()).decode() == r["digest_input"] and receipt.digest.hex() == r["digest"]
    for case in r["checks"]:
        assert Receipt.from_json(case["receipt"]).signature_valid(h(r["receipt_key"])) is case["valid"], case["why"]
    for case in v["public_keys"]:
        try:
            load_public_key(h(case["key"]), "key")
            valid = True
        except SignatureError:
            valid = False
        assert valid is case["valid"], case["why"]

def test_dkg_formulas() -> None:
    v = load("dkg.json")
    h_b = h(v["h_b"])
    assert h_b == base_hash(G, manifest().hash)
    n, t, ceremony_id = v["n"], v["t"], v["ceremony_id"]
    commitments: dict[int, list[int]] = {}
    for g_ in v["guardians"]:
        j = g_["index"]
        coeffs = [scalar(a) for a in g_["coefficients"]]
        cs = [element_from_hex(G, c, "C", nonidentity=True) for c in g_["round1_body"]["commitments"]]
        assert cs == [G.g_pow(a) for a in coeffs] and len(cs) == t
        commitments[j] = cs
        for k, (a, c, nonce, pj) in enumerate(zip(coeffs, cs, g_["proof_nonces"], g_["round1_body"]["proofs"],
                                                  strict=True)):
            stmt = Encoder().u32(j).u32(k).to_bytes()
            proof = prove_schnorr(G, a, c, context=h_b, statement=stmt, nonce=scalar(nonce))
            assert proof.to_json(G) == pj
            assert verify_schnorr(G, SchnorrProof.from_json(G, pj, "p"), c, context=h_b, statement=stmt)
        for s in g_["shares"]:
            i, share = s["recipient"], scalar(s["share"])
            assert share == sum(a * pow(i, k, G.q) for k, a in enumerate(coeffs)) % G.q
            assert share_digest(G, h_b, ceremony_id, j, i, share).hex() == s["share_digest"]
            image = expected_share_image(G, cs, i)
            assert image.to_bytes(G.element_bytes, "big").hex() == s["expected_image"] and image == G.g_pow(share)
    joint = G.mul(*(commitments[j][0] for j in range(1, n + 1)))
    assert joint == element(G, v["joint_key"])
    aggregate = [G.mul(*(commitments[j][k] for j in range(1, n + 1))) for k in range(t)]
    for f in v["finalize"]:
        i, s_i = f["index"], scalar(f["secret_share"])
        body = f["round4_body"]
        key_i = element(G, body["guardian_key"])
        assert key_i == G.g_pow(s_i) == expected_share_image(G, aggregate, i)
        assert element(G, body["joint_key"]) == joint
        proof = prove_schnorr(G, s_i, key_i, context=h_b, statement=Encoder().u32(i).to_bytes(),
                              nonce=scalar(f["proof_nonce"]))
        assert proof.to_json(G) == body["proof"]
    h_e = election_hash(G, h_b, joint, [commitments[j] for j in range(1, n + 1)], h(v["credential_list_hash"]))
    assert h_e.hex() == v["h_e"]


def test_dkg_share_box_and_complaints() -> None:
    v = load("dkg.json")
    h_b, ceremony_id = h(v["h_b"]), v["ceremony_id"]
    box = v["share_box"]
    dealer, recipient = box["dealer"], box["recipient"]
    opened = open_share_box(G, h_b, ceremony_id, dealer, recipient, h(box["recipient_transport_private_key"]),
                            h(box["dealer_signing_key"]), h(box["box"]))
    assert opened is not None
    share, signature = opened
    assert share.to_bytes(32, "big") + signature == h(box["plaintext"])
    expected_share = next(s for s in v["guardians"][dealer - 1]["shares"] if s["recipient"] == recipient)
    assert share == scalar(expected_share["share"])
    dealer_commitments = [element(G, c) for c in v["guardians"][dealer - 1]["round1_body"]["commitments"]]
    for case in v["complaints"]:
        complaint = complaint_from_json(G, case["complaint"], v["n"], "complaint")
        assert complaint.to_json() == case["complaint"]
        b = h(case["box"]) if case["box"] else None
        assert isinstance(complaint, BadBoxComplaint) == (b is not None)
        verdict = evaluate_complaint(G, h_b, ceremony_id, case["complainer"], complaint,
                                     dealer_signing_key=h(box["dealer_signing_key"]),
                                     dealer_commitments=dealer_commitments,
                                     complainer_transport_key=h(box["recipient_transport_key"]), box=b)
        assert {"culprit": verdict.culprit, "dealer_at_fault": verdict.dealer_at_fault,
                "code": verdict.code} == case["verdict"], case["why"]


# -- board, threshold decryption, results --------------------------------------------------------------


def test_board_chain() -> None:
    v = load("board.json")
    h_e = h(v["election_hash"])
    ballots = {b["ballot_hash"] for b in load("ballot.json")["ballots"]}
    previous = bytes(32)
    for case in v["events"]:
        if "payload" in case:
            p_hash = payload_hash(case["payload"])
            assert tagged_hash("sivei/board-payload", canonical_json(case["payload"])) == p_hash
        else:
            assert case["ballot_hash"] in ballots
            p_hash = h(case["ballot_hash"])
        assert p_hash.hex() == case["payload_hash"]
        assert previous.hex() == case["previous"]
        data = Encoder().fixed(h_e, 32).fixed(previous, 32).u32(case["index"]).string(case["type"]).fixed(
            p_hash, 32).to_bytes()
        assert data.hex() == case["hash_input"]
        head = event_hash(h_e, previous, case["index"], case["type"], p_hash)
        assert head.hex() == case["head"]
        assert fingerprint(head) == case["head_read_aloud"]
        previous = head


def test_board_file() -> None:
    """Version 2's stored board: the library writes every frame byte for byte, reads each back to the
    same event (same version-1 line, same payload hash, so the same head), and refuses the rejected
    frames; the test's own decoder of docs/record.md reads the frames too."""
    import hashlib

    from recordtools import frame_to_obj
    from sivei.ballot.board import event_from_json, event_to_bytes, event_to_json
    from sivei.errors import SiveiError
    from sivei.record.board_file import MAGIC, parse_event

    v = load("board-file.json")
    ctx = context(load("ballot.json"))
    assert v["election_hash"] == ctx.election_hash.hex() and v["magic"] == MAGIC.hex()
    whole = MAGIC
    for k, case in enumerate(v["events"], start=1):
        frame = h(case["frame"])
        whole += frame
        event, p_hash = event_from_json(ctx, case["line"], "line")
        assert (len(frame) - 4).to_bytes(4, "big") + event_to_bytes(event, ctx) == frame
        again, again_hash = parse_event(ctx, frame, "board.bin", k)
        assert again_hash == p_hash and again_hash.hex() == case["payload_hash"]
        assert event_to_json(again, ctx) == case["line"] and again.head.hex() == case["head"]
        assert frame_to_obj(frame[4:], G.element_bytes) == case["line"]
    assert hashlib.sha256(whole).hexdigest() == v["file_sha256"] and len(whole) == v["file_bytes"]
    for case in v["rejected"]:
        with pytest.raises(SiveiError):
            parse_event(ctx, h(case["frame"]), "board.bin", 1, membership=False)


def test_lagrange_and_decryption_shares() -> None:
    v = load("threshold.json")
    for case in v["lagrange"]:
        weights = [lagrange_coefficient(G, i, case["present"]) for i in case["present"]]
        assert [w.to_bytes(32, "big").hex() for w in weights] == case["weights"]
    h_e = h(v["election_hash"])
    ct = Ciphertext.from_json(G, v["ciphertext"], "ct")
    for case in v["decryptions"]:
        m_values = {}
        for row in case["shares"]:
            i, s_i = row["guardian"], scalar(row["secret_share"])
            key_i = element(G, row["guardian_key"])
            assert key_i == G.g_pow(s_i)
            m_i = G.pow(ct.alpha, s_i)
            stmt = Encoder(G).u32(i).element(ct.beta).to_bytes()
            assert stmt.hex() == row["statement"]
            proof = prove_chaum_pedersen(G, s_i, ct.alpha, key_i, m_i, context=h_e, statement=stmt,
                                         nonce=scalar(row["nonce"]))
            share = DecryptionShare(i, m_i, proof)
            assert share.to_json(G) == row["share"]
            assert verify_share(G, DecryptionShare.from_json(G, row["share"]), key_i, ct, h_e)
            m_values[i] = m_i
        weights = [lagrange_coefficient(G, i, case["present"]) for i in case["present"]]
        assert [w.to_bytes(32, "big").hex() for w in weights] == case["weights"]
        g_m = combine_shares(G, ct, m_values, n=3, t=2)
        assert g_m.to_bytes(G.element_bytes, "big").hex() == case["g_m"]
        assert g_m == G.g_pow(case["m"])
        prod = G.mul(*(G.pow(m_values[i], w) for i, w in zip(case["present"], weights, strict=True)))
        assert G.div(ct.beta, prod) == g_m


def test_encrypted_tally_hash() -> None:
    v = load("threshold.json")
    ctx = context({**v, "group": G.name})
    tally = EncryptedTally.from_json(G, v["encrypted_tally"]["tally"])
    assert tally.to_json(G) == v["encrypted_tally"]["tally"]
    assert tally.hash(ctx).hex() == v["encrypted_tally"]["tally_hash"]


def test_results() -> None:
    from sivei.tally.results import ElectionResults, compute_results

    v = load("results.json")
    m = manifest()
    for case in v["cases"]:
        counts = {(c["entity"], c["contest_id"]): c["option_counts"] for c in case["counts"]}
        results = compute_results(m, counts)
        assert results.to_json(m) == case["results"], case["label"]
        assert results.to_json(m, 1) == case["results_version_1"], case["label"]
        assert ElectionResults.from_json(m, case["results"], 2) == results
        assert ElectionResults.from_json(m, case["results_version_1"], 1) == results


# -- the small complete election, and the generator ---------------------------------------------------


def test_small_election_in_format_2_is_its_conversion(tmp_path: Path) -> None:
    """small-election-v2/ is small-election/ converted to record format 2: conversion is
    deterministic, both ways (every file byte for byte), and keeps every head and act."""
    from sivei.record.convert import convert_record

    two = convert_record(VECTORS / "small-election", tmp_path / "two", 2, allow_test_group=True)
    one = convert_record(VECTORS / "small-election-v2", tmp_path / "one", 1, allow_test_group=True)
    for converted, kept in ((two, VECTORS / "small-election-v2"), (one, VECTORS / "small-election")):
        names = sorted(p.relative_to(kept).as_posix() for p in kept.rglob("*") if p.is_file())
        assert sorted(p.relative_to(converted).as_posix() for p in converted.rglob("*") if p.is_file()) == names
        for name in names:
            assert (converted / name).read_bytes() == (kept / name).read_bytes(), name


@pytest.mark.parametrize("directory", ["small-election", "small-election-v2"])
def test_small_election_verifies(tmp_path: Path, directory: str) -> None:
    expect = load("small-election.json")
    record = tmp_path / directory
    shutil.copytree(VECTORS / directory, record)
    report = verify_record(record, VerifyOptions(allow_test_group=True,
                                                 expect_election=(expect["election_fingerprint"],),
                                                 expect_heads=(expect["final_head"],), jobs=1))
    assert report.ok, report.format_text()
    assert report.facts  # something was actually checked
    # Without --test-group the test group is refused.
    assert not verify_record(record, VerifyOptions(jobs=1)).ok
    # And a changed final head is caught.
    other = verify_record(record, VerifyOptions(allow_test_group=True, expect_heads=("0" * 64,), jobs=1))
    assert other.has("board.expected-head")


def test_vectors_directory_is_small() -> None:
    total = sum(p.stat().st_size for p in VECTORS.rglob("*") if p.is_file())
    assert total < 1_000_000


def test_generator_is_deterministic() -> None:
    spec = importlib.util.spec_from_file_location("sivei_vectors_generate", VECTORS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0, "tests/vectors/*.json differ from generate.py's output"
