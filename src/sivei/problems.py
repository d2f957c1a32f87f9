"""A finding of a check: what failed, where, and why — the unit of every verification report."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """``check`` is a stable identifier (e.g. ``ballot.proof.zero-one``) that tests and machines
    match on; ``location`` names the place (file, line, ballot, contest, option, guardian);
    ``message`` is the human explanation in the selected language."""

    check: str
    location: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"check": self.check, "location": self.location, "message": self.message}

    def __str__(self) -> str:
        return f"[{self.check}] {self.location}: {self.message}"
