"""Exception hierarchy shared by every layer.

Every error the library raises for bad input is a ``SiveiError`` whose message names what is wrong,
so the CLI can print it without a traceback.
"""

from __future__ import annotations


class SiveiError(Exception):
    """Base class: a clear, user-facing reason (already translated by ``sivei.i18n.tr``)."""


class EncodingError(SiveiError):
    """A value does not have its one canonical encoding (wrong width, case, range)."""


class GroupMembershipError(EncodingError):
    """A received group element is not in the order-q subgroup."""


class SignatureError(SiveiError):
    """A signature does not verify, or is not in canonical (low-s, strict) form."""


class ProofError(SiveiError):
    """A zero-knowledge proof does not verify."""


class ManifestError(SiveiError):
    """The election manifest is malformed or inconsistent."""


class BallotError(SiveiError):
    """A ballot is malformed or fails validation; the message gives the precise reason."""


class CeremonyError(SiveiError):
    """A key ceremony message is invalid, or the ceremony must abort naming a culprit."""


class RecordError(SiveiError):
    """An election record file is missing, truncated or malformed."""
