"""The project's one read-aloud format: 20 Crockford base-32 characters (100 bits) in groups of 5.

Every fingerprint a person compares aloud — election, keys, tracking codes, chain heads — uses this
format; the full 32-byte hash goes wherever a machine checks it. Wherever a person types a fingerprint
back, both the short form and the full hex hash are accepted.
"""

from __future__ import annotations

from sivei.errors import EncodingError
from sivei.i18n import tr

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(CROCKFORD)}
# Crockford's decoding is lenient on the characters people confuse.
_DECODE.update({"O": 0, "I": 1, "L": 1})

FINGERPRINT_CHARS = 20


def crockford_encode(data: bytes, nchars: int) -> str:
    """The first ``nchars`` base-32 digits of ``data`` read as a big-endian bit string."""
    bits = int.from_bytes(data, "big")
    total = len(data) * 8
    if nchars * 5 > total:
        raise ValueError("not enough bits")
    value = bits >> (total - nchars * 5)
    out = []
    for _ in range(nchars):
        out.append(CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(out))


def crockford_decode(text: str) -> int:
    """Value of a Crockford string; hyphens and spaces are ignored, case and O/I/L are forgiven."""
    value = 0
    for ch in text.upper():
        if ch in "- ":
            continue
        if ch not in _DECODE:
            raise EncodingError(tr(f"carácter no válido en base 32: {ch!r}",
                                   f"invalid base-32 character: {ch!r}"))
        value = value * 32 + _DECODE[ch]
    return value


def group5(text: str) -> str:
    return "-".join(text[i : i + 5] for i in range(0, len(text), 5))


def fingerprint(digest: bytes) -> str:
    """Read-aloud form of a 32-byte hash: e.g. ``7K2QD-M4X9T-0BRHE-5VWNC``."""
    return group5(crockford_encode(digest, FINGERPRINT_CHARS))


def matches_fingerprint(typed: str, digest: bytes) -> bool:
    """True when ``typed`` is the full hex hash or the 20-character fingerprint of ``digest``."""
    cleaned = typed.strip()
    if len(cleaned) == 2 * len(digest):
        return cleaned.lower() == digest.hex()
    compact = "".join(ch for ch in cleaned if ch not in "- ")
    if len(compact) != FINGERPRINT_CHARS:
        return False
    try:
        return crockford_decode(compact) == int.from_bytes(digest, "big") >> (
            len(digest) * 8 - FINGERPRINT_CHARS * 5
        )
    except EncodingError:
        return False
