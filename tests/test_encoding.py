import pytest
from hypothesis import given
from hypothesis import strategies as st

from sivei.crypto.encoding import (
    Encoder,
    canonical_json,
    element_from_hex,
    element_to_hex,
    scalar_from_hex,
    scalar_to_hex,
    tagged_hash,
)
from sivei.crypto.fingerprint import crockford_encode, fingerprint, matches_fingerprint
from sivei.crypto.group import TEST_GROUP as G
from sivei.errors import EncodingError, GroupMembershipError


def test_encoder_layout() -> None:
    data = Encoder(G).u32(7).string("añ").element(G.g).scalar(5).to_bytes()
    assert data[:4] == b"\x00\x00\x00\x07"
    assert data[4:8] == (3).to_bytes(4, "big") and data[8:11] == "añ".encode()
    assert data[11 : 11 + 64] == G.g.to_bytes(64, "big")
    assert data[-32:] == (5).to_bytes(32, "big")


def test_tagged_hash_is_domain_separated() -> None:
    assert tagged_hash("a", b"bc") != tagged_hash("ab", b"c")


@given(st.integers(min_value=0, max_value=G.q - 1))
def test_element_hex_round_trip(e: int) -> None:
    x = G.g_pow(e)
    text = element_to_hex(G, x)
    assert len(text) == 128 and text == text.lower()
    assert element_from_hex(G, text, "x") == x


def test_element_hex_rejects_non_canonical() -> None:
    text = element_to_hex(G, G.g)
    with pytest.raises(EncodingError, match="minúscula"):
        element_from_hex(G, text.upper(), "x")
    with pytest.raises(EncodingError):
        element_from_hex(G, text[2:], "x")  # short
    with pytest.raises(EncodingError):
        element_from_hex(G, "00" + text, "x")  # padded
    with pytest.raises(GroupMembershipError):
        element_from_hex(G, element_to_hex(G, G.p - 1), "x")
    with pytest.raises(GroupMembershipError):
        element_from_hex(G, "00" * 64, "x")


def test_scalar_hex_rejects_out_of_range() -> None:
    assert scalar_from_hex(G, scalar_to_hex(G.q - 1), "s") == G.q - 1
    with pytest.raises(EncodingError, match="q"):
        scalar_from_hex(G, G.q.to_bytes(32, "big").hex(), "s")


def test_canonical_json() -> None:
    assert canonical_json({"b": 1, "a": [True, None, "ñ"]}) == '{"a":[true,null,"ñ"],"b":1}'.encode()
    with pytest.raises(EncodingError):
        canonical_json({"a": 1.5})
    with pytest.raises(EncodingError):
        canonical_json({"ñ": 1})


def test_lone_surrogates_are_encoding_errors() -> None:
    import json

    text = json.loads('"\\ud800"')
    with pytest.raises(EncodingError):
        Encoder().string(text)
    with pytest.raises(EncodingError):
        canonical_json({"a": text})


def test_fingerprint_format_and_matching() -> None:
    digest = tagged_hash("t", b"x")
    fp = fingerprint(digest)
    assert len(fp) == 23 and fp.count("-") == 3
    assert matches_fingerprint(fp, digest)
    assert matches_fingerprint(fp.lower().replace("-", " "), digest)
    assert matches_fingerprint(digest.hex(), digest)
    assert matches_fingerprint(digest.hex().upper(), digest)
    other = tagged_hash("t", b"y")
    assert not matches_fingerprint(fp, other)
    assert not matches_fingerprint("nonsense", digest)


def test_crockford_known_value() -> None:
    assert crockford_encode(b"\xff" * 13, 20) == "Z" * 20
    assert crockford_encode(b"\x00" * 12 + b"\x01", 20) == "0" * 20
    assert crockford_encode(bytes([0b00001000]) + b"\x00" * 12, 2) == "10"
