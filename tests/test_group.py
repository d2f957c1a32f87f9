import hashlib
import json
from pathlib import Path

import gmpy2
import pytest

from sivei.crypto.group import EG2_P_SHA256, PRODUCTION_GROUP, TEST_GROUP, Group
from sivei.errors import GroupMembershipError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eg2-group.json"


@pytest.mark.parametrize("group", [PRODUCTION_GROUP, TEST_GROUP], ids=lambda g: g.name)
def test_group_structure(group: Group) -> None:
    p, q, g = group.p, group.q, group.g
    assert gmpy2.is_prime(p, 40)
    assert gmpy2.is_prime(q, 40)
    assert (p - 1) % q == 0
    assert (p - 1) % (2 * q) == 0
    assert gmpy2.is_prime((p - 1) // (2 * q), 40)
    assert pow(g, q, p) == 1
    assert g != 1
    assert g == pow(2, (p - 1) // q, p)


def test_production_constants_match_published_parameters() -> None:
    assert PRODUCTION_GROUP.element_bytes == 512
    assert PRODUCTION_GROUP.q == 2**256 - 189
    assert hashlib.sha256(PRODUCTION_GROUP.p.to_bytes(512, "big")).hexdigest() == EG2_P_SHA256
    if SHARED.exists():  # the shared folder sits beside the project in development and CI
        data = json.loads(SHARED.read_text())
        assert int(data["p_hex"], 16) == PRODUCTION_GROUP.p
        assert int(data["q_hex"], 16) == PRODUCTION_GROUP.q
        assert int(data["g_hex"], 16) == PRODUCTION_GROUP.g
        assert hashlib.sha256(PRODUCTION_GROUP.g.to_bytes(512, "big")).hexdigest() == data["sha256_of_g_be512"]


def test_fingerprints_differ() -> None:
    assert PRODUCTION_GROUP.fingerprint != TEST_GROUP.fingerprint
    assert len(PRODUCTION_GROUP.fingerprint) == 32


@pytest.mark.parametrize("value", [0, TEST_GROUP.p, TEST_GROUP.p - 1, 2, TEST_GROUP.p + 5])
def test_non_members_rejected(value: int) -> None:
    # p-1 has order 2 and 2 generates a larger subgroup: neither is in the order-q subgroup.
    with pytest.raises(GroupMembershipError):
        TEST_GROUP.require_element(value, "x")


def test_identity_rejected_when_required() -> None:
    assert TEST_GROUP.require_element(1, "x") == 1
    with pytest.raises(GroupMembershipError, match="identidad"):
        TEST_GROUP.require_element(1, "x", nonidentity=True)


def test_fixed_base_matches_powmod() -> None:
    import secrets

    for group in (TEST_GROUP, PRODUCTION_GROUP):
        for e in (0, 1, 255, 256, group.q - 1, group.q, group.q + 7, secrets.randbelow(group.q)):
            assert group.g_pow(e) == pow(group.g, e % group.q, group.p)
