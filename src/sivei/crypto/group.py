"""The prime-order subgroup of Z_p^* in which all election cryptography happens.

Two groups exist and no other is ever accepted: the ElectionGuard 2.0 baseline parameters (production)
and a 512-bit group with the same structure for fast unit tests. A record names its group and the
verifier compares the parameters byte for byte with these constants.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import gmpy2

from sivei.errors import EncodingError, GroupMembershipError
from sivei.i18n import tr

SCALAR_BYTES = 32


@dataclass(frozen=True)
class Group:
    """Parameters (p, q, g) with q | p-1, g of order q; elements are encoded in ``element_bytes``."""

    name: str
    p: int
    q: int
    g: int

    @property
    def element_bytes(self) -> int:
        return (self.p.bit_length() + 7) // 8

    @property
    def cofactor(self) -> int:
        """(p-1)/q = 2r."""
        return (self.p - 1) // self.q

    @property
    def r(self) -> int:
        """r = (p-1)/(2q), prime in both groups: what makes batched membership tests sound (§8.5)."""
        return (self.p - 1) // (2 * self.q)

    @cached_property
    def fingerprint(self) -> bytes:
        """SHA-256 over the canonical encoding of (name, p, q, g): what a record's header names."""
        width = self.element_bytes
        data = (
            len(self.name.encode()).to_bytes(4, "big")
            + self.name.encode()
            + width.to_bytes(4, "big")
            + self.p.to_bytes(width, "big")
            + self.q.to_bytes(SCALAR_BYTES, "big")
            + self.g.to_bytes(width, "big")
        )
        return hashlib.sha256(b"sivei/group" + data).digest()

    # -- membership -------------------------------------------------------------------------

    def is_element(self, x: int) -> bool:
        """True when x is in [1, p) and in the order-q subgroup."""
        return 0 < x < self.p and gmpy2.powmod(x, self.q, self.p) == 1

    def require_in_range(self, x: int, what: str) -> int:
        """Return x if 0 < x < p, else raise: the whole check of a proof commitment, and the first
        half of a membership test (whose order-q half may then be batched, §8.5)."""
        if not 0 < x < self.p:
            raise GroupMembershipError(
                tr(f"{what}: el valor está fuera del intervalo [1, p)",
                   f"{what}: value outside the range [1, p)")
            )
        return x

    def require_element(self, x: int, what: str, *, nonidentity: bool = False) -> int:
        """Return x if it is a subgroup element (≠ 1 when ``nonidentity``), else raise."""
        self.require_in_range(x, what)
        if gmpy2.powmod(x, self.q, self.p) != 1:
            raise GroupMembershipError(self.not_member_message(what))
        if nonidentity and x == 1:
            raise GroupMembershipError(
                tr(f"{what}: el elemento no puede ser la identidad (1)",
                   f"{what}: element must not be the identity (1)")
            )
        return x

    @staticmethod
    def not_member_message(what: str) -> str:
        """The one message for an element outside the order-q subgroup, however it was found."""
        return tr(f"{what}: el elemento no pertenece al subgrupo de orden q",
                  f"{what}: element is not in the order-q subgroup")

    def require_scalar(self, x: int, what: str) -> int:
        if not 0 <= x < self.q:
            raise EncodingError(
                tr(f"{what}: el escalar está fuera del intervalo [0, q)",
                   f"{what}: scalar outside the range [0, q)")
            )
        return x

    # -- arithmetic -------------------------------------------------------------------------

    def pow(self, base: int, exponent: int) -> int:
        """Variable-base exponentiation for public exponents."""
        return int(gmpy2.powmod(base, exponent, self.p))

    def pow_secret(self, base: int, exponent: int) -> int:
        """Exponentiation by a secret exponent, in constant time (``powmod_sec``)."""
        return int(gmpy2.powmod_sec(base, exponent % self.q, self.p))

    def mul(self, *xs: int) -> int:
        acc = gmpy2.mpz(1)
        p = self.p
        for x in xs:
            acc = acc * x % p
        return int(acc)

    def inv(self, x: int) -> int:
        return int(gmpy2.invert(x, self.p))

    def div(self, a: int, b: int) -> int:
        return int(gmpy2.mpz(a) * gmpy2.invert(b, self.p) % self.p)

    def g_pow(self, exponent: int) -> int:
        """g^e through the cached fixed-base table."""
        from sivei.crypto.fixedbase import fixed_base

        return fixed_base(self, self.g).pow(exponent)


# ElectionGuard 2.0 baseline parameters (../shared/eg2-group.json), embedded as constants.
_EG2_P = int(
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFB17217F7D1CF79ABC9E3B39803F2F6AF"
    "40F343267298B62D8A0D175B8BAAFA2BE7B876206DEBAC98559552FB4AFA1B10ED2EAE35C138214427573B291169B8"
    "253E96CA16224AE8C51ACBDA11317C387EB9EA9BC3B136603B256FA0EC7657F74B72CE87B19D6548CAF5DFA6BD3830"
    "3248655FA1872F20E3A2DA2D97C50F3FD5C607F4CA11FB5BFB90610D30F88FE551A2EE569D6DFC1EFA157D2E23DE14"
    "00B39617460775DB8990E5C943E732B479CD33CCCC4E659393514C4C1A1E0BD1D6095D25669B333564A3376A9C7F8A"
    "5E148E82074DB6015CFE7AA30C480A5417350D2C955D5179B1E17B9DAE313CDB6C606CB1078F735D1B2DB31B5F50B5"
    "185064C18B4D162DB3B365853D7598A1951AE273EE5570B6C68F96983496D4E6D330AF889B44A02554731CDC8EA172"
    "93D1228A4EF98D6F5177FBCF0755268A5C1F9538B98261AFFD446B1CA3CF5E9222B88C66D3C5422183EDC99421090B"
    "BB16FAF3D949F236E02B20CEE886B905C128D53D0BD2F9621363196AF503020060E49908391A0C57339BA2BEBA7D05"
    "2AC5B61CC4E9207CEF2F0CE2D7373958D762265890445744FB5F2DA4B751005892D356890DEFE9CAD9B9D4B713E061"
    "62A2D8FDD0DF2FD608FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
    16,
)
_EG2_Q = 2**256 - 189
_EG2_G = int(
    "36036FED214F3B50DC566D3A312FE4131FEE1C2BCE6D02EA39B477AC05F7F885F38CFE77A7E45ACF4029114C4D7A9B"
    "FE058BF2F995D2479D3DDA618FFD910D3C4236AB2CFDD783A5016F7465CF59BBF45D24A22F130F2D04FE93B2D58BB9"
    "C1D1D27FC9A17D2AF49A779F3FFBDCA22900C14202EE6C99616034BE35CBCDD3E7BB7996ADFE534B63CCA41E21FF5D"
    "C778EBB1B86C53BFBE99987D7AEA0756237FB40922139F90A62F2AA8D9AD34DFF799E33C857A6468D001ACF3B681DB"
    "87DC4242755E2AC5A5027DB81984F033C4D178371F273DBB4FCEA1E628C23E52759BC7765728035CEA26B44C49A656"
    "66889820A45C33DD37EA4A1D00CB62305CD541BE1E8A92685A07012B1A20A746C3591A2DB3815000D2AACCFE43DC49"
    "E828C1ED7387466AFD8E4BF1935593B2A442EEC271C50AD39F733797A1EA11802A2557916534662A6B7E9A9E449A24"
    "C8CFF809E79A4D806EB681119330E6C57985E39B200B4893639FDFDEA49F76AD1ACD997EBA13657541E79EC57437E5"
    "04EDA9DD011061516C643FB30D6D58AFCCD28B73FEDA29EC12B01A5EB86399A593A9D5F450DE39CB92962C5EC69253"
    "48DB54D128FD99C14B457F883EC20112A75A6A0581D3D80A3B4EF09EC86F9552FFDA1653F133AA2534983A6F31B0EE"
    "4697935A6B1EA2F75B85E7EBA151BA486094D68722B054633FEC51CA3F29B31E77E317B178B6B9D8AE0F",
    16,
)

#: SHA-256 of p as 512 big-endian bytes, as published with the parameters (checked by a test).
EG2_P_SHA256 = "f76fac50669bdb5b75fe86264378525d336bc1566140a48d76aebf7b0dd19f27"

PRODUCTION_GROUP = Group(name="eg2-baseline", p=_EG2_P, q=_EG2_Q, g=_EG2_G)

# Test group: same q; p = 2·q·r + 1 with r prime and p of 512 bits, found by searching upward from
# the top 64 bits set and the rest taken from SHA-256("sivei test group") (twice); g = 2^((p-1)/q).
_TEST_P = int(
    "ffffffffffffffff6c30839f0501155cc9be14f587bbed2d108132046b2bb2d9"
    "000000000000006d202ed3994e333a7f0eaa86baca41e5bad09e12bce0bc6a43",
    16,
)
_TEST_G = int(
    "f4ea7c4a85c44dbc7782d2a0cbb0921f05df1e5672ce03d3efbdae41b4e3591d"
    "933b4e1ba02315903acf86c8cde1e3ffa9d01ac2b4fc8bbbdfe5b7d0740a0ffb",
    16,
)
TEST_GROUP = Group(name="sivei-test-512", p=_TEST_P, q=_EG2_Q, g=_TEST_G)

GROUPS = {PRODUCTION_GROUP.name: PRODUCTION_GROUP, TEST_GROUP.name: TEST_GROUP}
