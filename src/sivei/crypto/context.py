"""The two hash contexts every proof is bound to.

H_B = H("sivei/base-hash", group fingerprint ‖ manifest hash) — known before the key ceremony and
used in its proofs. H_E = H("sivei/election-hash", H_B ‖ K ‖ all coefficient commitments ‖
credential-list hash) — fixed at opening and used in everything after: ballot proofs, credential
signatures, decryption shares, the board chain and receipts.
"""

from __future__ import annotations

from collections.abc import Sequence

from sivei.crypto.encoding import Encoder, tagged_hash
from sivei.crypto.group import Group

TAG_BASE_HASH = "sivei/base-hash"
TAG_ELECTION_HASH = "sivei/election-hash"


def base_hash(group: Group, manifest_hash: bytes) -> bytes:
    data = Encoder().fixed(group.fingerprint, 32).fixed(manifest_hash, 32).to_bytes()
    return tagged_hash(TAG_BASE_HASH, data)


def election_hash(group: Group, h_b: bytes, joint_key: int,
                  commitments: Sequence[Sequence[int]], credential_list_hash: bytes) -> bytes:
    """``commitments[j]`` are guardian j+1's coefficient commitments C_{j,0..t-1}, in order."""
    enc = Encoder(group).fixed(h_b, 32).element(joint_key).u32(len(commitments))
    for row in commitments:
        enc.elements(row)
    enc.fixed(credential_list_hash, 32)
    return tagged_hash(TAG_ELECTION_HASH, enc.to_bytes())
