"""The verifier's report: every failing check with its location, plus what was checked."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sivei.i18n import language, tr
from sivei.problems import Problem

REPORT_FORMAT = "sivei-verification-report"
REPORT_VERSION = 1
MAX_LISTED_PER_CHECK = 50
"""Problems listed per check; the rest are counted (a broken chain would otherwise list every line)."""


@dataclass
class VerificationReport:
    record: str
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    """Checked facts by stable English key (``group``, ``ballots_on_board``…), whatever the language."""
    fingerprints: dict[str, str] = field(default_factory=dict)
    """Read-aloud fingerprints by stable English key (``election_hash``, ``guardian_1``…)."""
    labels: dict[str, str] = field(default_factory=dict)
    """Each key's label for people, in the language the report was made in."""
    heading: str | None = None
    """A line shown first: what kind of election this is, when it is not the real one."""
    _counts: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self._counts

    def add(self, check: str, location: str, message: str) -> None:
        self._counts[check] += 1
        if self._counts[check] <= MAX_LISTED_PER_CHECK:
            self.problems.append(Problem(check, location, message))

    def extend(self, problems: list[Problem]) -> None:
        for p in problems:
            self.add(p.check, p.location, p.message)

    def add_fact(self, key: str, label: str, value: Any) -> None:
        self.facts[key] = value
        self.labels[key] = label

    def add_fingerprint(self, key: str, label: str, value: str, *, first: bool = False) -> None:
        self.fingerprints = {key: value, **self.fingerprints} if first else {**self.fingerprints, key: value}
        self.labels[key] = label

    def label(self, key: str) -> str:
        return self.labels.get(key, key)

    def has(self, check: str) -> bool:
        return self._counts[check] > 0

    def failed_checks(self) -> dict[str, int]:
        return dict(self._counts)

    def to_json(self) -> dict[str, Any]:
        """Stable English keys whatever the language: only ``labels``, ``problems[].message`` and
        ``notes`` are in the report's language (``language``)."""
        return {
            "format": REPORT_FORMAT,
            "version": REPORT_VERSION,
            "record": self.record,
            "ok": self.ok,
            "language": language(),
            "facts": self.facts,
            "fingerprints": self.fingerprints,
            "labels": {k: self.labels[k] for k in [*self.facts, *self.fingerprints] if k in self.labels},
            "failed_checks": self.failed_checks(),
            "problems": [p.to_json() for p in self.problems],
            "notes": self.notes,
        }

    def format_text(self) -> str:
        lines = [self.heading] if self.heading else []
        lines.append(tr(f"Registro: {self.record}", f"Record: {self.record}"))
        if self.fingerprints:
            lines.append(tr("Huellas (para comparar en voz alta):", "Fingerprints (to compare aloud):"))
            width = max(len(self.label(k)) for k in self.fingerprints)
            for key, fp in self.fingerprints.items():
                lines.append(f"  {self.label(key).ljust(width)}  {fp}")
        if self.facts:
            lines.append(tr("Datos verificados:", "Checked facts:"))
            for key, value in self.facts.items():
                shown = ", ".join(map(str, value)) if isinstance(value, list) else value
                lines.append(f"  {self.label(key)}: {shown}")
        for note in self.notes:
            lines.append(tr(f"Nota: {note}", f"Note: {note}"))
        if self.ok:
            lines.append(tr("RESULTADO: verificación exitosa", "RESULT: verification successful"))
        else:
            total = sum(self._counts.values())
            lines.append(tr(f"RESULTADO: la verificación FALLÓ ({total} problemas)",
                            f"RESULT: verification FAILED ({total} problems)"))
            for p in self.problems:
                lines.append(f"  ✗ {p}")
            for check, count in self._counts.items():
                if count > MAX_LISTED_PER_CHECK:
                    lines.append(tr(f"  … y {count - MAX_LISTED_PER_CHECK} problemas más de «{check}»",
                                    f"  … and {count - MAX_LISTED_PER_CHECK} more «{check}» problems"))
        return "\n".join(lines)
