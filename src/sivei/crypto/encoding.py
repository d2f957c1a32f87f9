"""The one canonical binary encoding that every hash and signature covers, and its JSON form.

Binary: group elements as exactly ``element_bytes`` big-endian bytes; scalars as exactly 32 bytes;
unsigned integers as 4 bytes; strings as UTF-8 with a 4-byte length; variable byte strings with a
4-byte length; lists with a 4-byte count followed by their items. JSON: the same values as
fixed-width lowercase hex strings. Decoders accept exactly one spelling of each value, so re-encoding
a received object never changes its hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sivei.crypto.group import SCALAR_BYTES, Group
from sivei.errors import EncodingError
from sivei.i18n import tr

U32_MAX = 2**32 - 1


class Encoder:
    """Builds a canonical byte string field by field."""

    __slots__ = ("_group", "_parts")

    def __init__(self, group: Group | None = None) -> None:
        self._group = group
        self._parts: list[bytes] = []

    def u32(self, n: int) -> Encoder:
        if not 0 <= n <= U32_MAX:
            raise EncodingError(tr(f"entero fuera de rango: {n}", f"integer out of range: {n}"))
        self._parts.append(n.to_bytes(4, "big"))
        return self

    def string(self, s: str) -> Encoder:
        data = utf8(s, "string")
        self.u32(len(data))
        self._parts.append(data)
        return self

    def blob(self, data: bytes) -> Encoder:
        """Variable-length bytes, with a 4-byte length."""
        self.u32(len(data))
        self._parts.append(bytes(data))
        return self

    def fixed(self, data: bytes, length: int) -> Encoder:
        """Fixed-width bytes (hashes, keys, signatures): no length prefix."""
        if len(data) != length:
            raise EncodingError(
                tr(f"se esperaban {length} bytes, hay {len(data)}",
                   f"expected {length} bytes, got {len(data)}")
            )
        self._parts.append(bytes(data))
        return self

    def element(self, x: int) -> Encoder:
        group = self._require_group()
        if not 0 < x < group.p:
            raise EncodingError(tr("elemento fuera de [1, p)", "element outside [1, p)"))
        self._parts.append(x.to_bytes(group.element_bytes, "big"))
        return self

    def elements(self, xs: Iterable[int]) -> Encoder:
        items = list(xs)
        self.u32(len(items))
        for x in items:
            self.element(x)
        return self

    def scalar(self, x: int) -> Encoder:
        group = self._require_group()
        if not 0 <= x < group.q:
            raise EncodingError(tr("escalar fuera de [0, q)", "scalar outside [0, q)"))
        self._parts.append(x.to_bytes(SCALAR_BYTES, "big"))
        return self

    def raw(self, data: bytes) -> Encoder:
        """Append an already canonical encoding (a nested object)."""
        self._parts.append(data)
        return self

    def to_bytes(self) -> bytes:
        return b"".join(self._parts)

    def _require_group(self) -> Group:
        if self._group is None:
            raise TypeError("this encoder has no group")
        return self._group


class Decoder:
    """Reads a canonical binary encoding field by field (the inverse of ``Encoder``): every read
    checks that the bytes are there and that the value is in range, so a decoded object re-encodes to
    exactly the bytes read. Membership of elements in the subgroup is the caller's check (batched)."""

    __slots__ = ("_data", "_group", "_pos", "_what")

    def __init__(self, data: bytes | memoryview, what: str, group: Group | None = None, *,
                 start: int = 0) -> None:
        self._data = memoryview(data)
        self._group = group
        self._pos = start
        self._what = what

    @property
    def position(self) -> int:
        return self._pos

    @property
    def what(self) -> str:
        """The path of what is being decoded, the prefix of every error message."""
        return self._what

    def remaining(self) -> int:
        return len(self._data) - self._pos

    def _take(self, n: int, what: str) -> memoryview:
        end = self._pos + n
        if end > len(self._data):
            missing = end - len(self._data)
            raise EncodingError(tr(f"{self._what}{what}: datos truncados (faltan {missing} bytes)",
                                   f"{self._what}{what}: truncated data ({missing} bytes missing)"))
        out = self._data[self._pos:end]
        self._pos = end
        return out

    def u32(self, what: str) -> int:
        return int.from_bytes(self._take(4, what), "big")

    def fixed(self, length: int, what: str) -> bytes:
        return bytes(self._take(length, what))

    def blob(self, what: str) -> bytes:
        return bytes(self._take(self.u32(what), what))

    def string(self, what: str) -> str:
        raw = self._take(self.u32(what), what)
        try:
            return str(raw, "utf-8")
        except UnicodeDecodeError as exc:
            raise EncodingError(tr(f"{self._what}{what}: texto que no es UTF-8 válido",
                                   f"{self._what}{what}: text that is not valid UTF-8")) from exc

    def element(self, what: str) -> int:
        """An element in [1, p) (range only: membership is established by the caller)."""
        group = self._require_group()
        x = int.from_bytes(self._take(group.element_bytes, what), "big")
        return group.require_in_range(x, f"{self._what}{what}")

    def scalar(self, what: str) -> int:
        group = self._require_group()
        x = int.from_bytes(self._take(SCALAR_BYTES, what), "big")
        return group.require_scalar(x, f"{self._what}{what}")

    def end(self) -> None:
        """Every byte was read: trailing bytes are an error (one encoding per value)."""
        if self._pos != len(self._data):
            extra = len(self._data) - self._pos
            raise EncodingError(tr(f"{self._what}: sobran {extra} bytes al final",
                                   f"{self._what}: {extra} unexpected bytes at the end"))

    def _require_group(self) -> Group:
        if self._group is None:
            raise TypeError("this decoder has no group")
        return self._group


def utf8(s: str, what: str) -> bytes:
    """UTF-8 bytes of ``s``; a lone surrogate (possible after JSON escapes) is an encoding error."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodingError(tr(f"{what}: texto con caracteres no representables en UTF-8",
                               f"{what}: text with characters not representable in UTF-8")) from exc


def tagged_hash(tag: str, data: bytes) -> bytes:
    """H(tag, data) = SHA-256(encode_string(tag) ‖ data): a domain-separated 32-byte digest."""
    t = tag.encode("ascii")
    return hashlib.sha256(len(t).to_bytes(4, "big") + t + data).digest()


def hash_to_scalar(group: Group, tag: str, data: bytes) -> int:
    """Fiat–Shamir challenge: H(tag, data) read big-endian, reduced mod q."""
    return int.from_bytes(tagged_hash(tag, data), "big") % group.q


# -- JSON (fixed-width lowercase hex) -----------------------------------------------------------


def _parse_hex(value: object, nbytes: int, what: str) -> bytes:
    if not isinstance(value, str):
        raise EncodingError(tr(f"{what}: se esperaba una cadena hexadecimal",
                               f"{what}: expected a hex string"))
    try:
        data = bytes.fromhex(value) if len(value) == 2 * nbytes else None
    except ValueError:
        data = None
    # Round trip: exactly two lowercase digits per byte (fromhex alone accepts upper case and spaces).
    if data is None or data.hex() != value:
        raise EncodingError(
            tr(f"{what}: se esperaban exactamente {2 * nbytes} dígitos hexadecimales en minúscula",
               f"{what}: expected exactly {2 * nbytes} lowercase hex digits")
        )
    return data


def bytes_to_hex(data: bytes) -> str:
    return data.hex()


def hex_to_bytes(value: object, nbytes: int, what: str) -> bytes:
    return _parse_hex(value, nbytes, what)


def element_to_hex(group: Group, x: int) -> str:
    return x.to_bytes(group.element_bytes, "big").hex()


def element_from_hex(group: Group, value: object, what: str, *, nonidentity: bool = False,
                     membership: bool = True) -> int:
    """Parse and check a group element received from outside (range and subgroup membership).

    ``membership=False`` checks the range only: for callers that establish membership of many
    elements at once with the batched test (protocol §3.2, §8.5) before using them."""
    x = int.from_bytes(_parse_hex(value, group.element_bytes, what), "big")
    if not membership:
        return group.require_in_range(x, what)
    return group.require_element(x, what, nonidentity=nonidentity)


def commitment_from_hex(group: Group, value: object, what: str) -> int:
    """Parse a proof commitment: range only. The proof's verification equation sets it equal to a
    product of subgroup elements, so a commitment outside the subgroup can never verify (a batch
    also requires its Jacobi symbol to be 1, §8.5); skipping the membership exponentiation here
    halves the cost of reading a ballot."""
    return element_from_hex(group, value, what, membership=False)


def scalar_to_hex(x: int) -> str:
    return x.to_bytes(SCALAR_BYTES, "big").hex()


def scalar_from_hex(group: Group, value: object, what: str) -> int:
    x = int.from_bytes(_parse_hex(value, SCALAR_BYTES, what), "big")
    return group.require_scalar(x, what)


# -- canonical JSON (message bodies) ------------------------------------------------------------

JSON = None | bool | int | str | list["JSON"] | dict[str, "JSON"]


def _check_canonical(value: object, path: str) -> None:
    if isinstance(value, str):
        utf8(value, path)
        return
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) > 2**53 - 1:
            raise EncodingError(tr(f"{path}: entero demasiado grande para JSON",
                                   f"{path}: integer too large for JSON"))
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_canonical(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str) or not k.isascii():
                raise EncodingError(tr(f"{path}: las claves deben ser ASCII",
                                       f"{path}: keys must be ASCII"))
            _check_canonical(item, f"{path}.{k}")
        return
    raise EncodingError(tr(f"{path}: tipo no permitido en JSON canónico ({type(value).__name__})",
                           f"{path}: type not allowed in canonical JSON ({type(value).__name__})"))


def canonical_json(value: object) -> bytes:
    """UTF-8 JSON with keys sorted, no whitespace, no floats: one byte string per value.

    Keys are ASCII, so sorting by code point agrees with JavaScript's default sort."""
    import json

    _check_canonical(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")
