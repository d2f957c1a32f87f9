"""The verifier's stage for in-person voting at consulates (docs/protocol.md §20, checks §18.1).

It runs when the manifest has ``in_person`` (counting policy ``one-vote-per-person``) and reads, under
``consulados/`` in the record:

* ``consulados.json`` — the credential authority's declaration of each consulate's credentials
  (its registered in-person voters' and its pool), which the signed list binds (``in_person_hash``);
* ``bitacora-<C>.json`` — each consulate's log of voters served, signed with the key the manifest
  names for it.

and checks, from the record alone, that nobody voted for people who were not there:

* ``consulates.declaration`` — the declaration is the one the list signs and agrees with the list and
  the manifest (pool sizes, styles, no credential twice, every credential of the unregistered style in
  a pool);
* ``consulates.log`` — every consulate's log is there, of this election (``previous`` = H_E), signed
  by the consulate's key, one line per person, within the cap;
* ``consulates.one-person`` — no unregistered voter (keyed hash of their voter-ID number) is in two
  consulates' logs;
* ``consulates.reconciliation`` — at each consulate, pool credentials used on the board ≤ unregistered
  voters served, and ballots of its registered voters' credentials ≤ registered voters served.

The stage is a module of its own so that the board's format can change around it: it needs only the
set of credentials that cast a ballot, which the board stage collects anyway.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass

from sivei.ballot.context import ElectionContext
from sivei.ballot.in_person import DECLARATION_FILE, ConsulateLog, InPersonDeclaration, check_log, log_file
from sivei.crypto.envelope import Envelope
from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei.record import layout
from sivei.record.report import VerificationReport

RECORD_DIR = "consulados"
DECLARATION = f"{RECORD_DIR}/{DECLARATION_FILE}"


def log_path(code: str) -> str:
    return f"{RECORD_DIR}/{log_file(code)}"


@dataclass(frozen=True)
class ConsulateCount:
    """What the record shows of one consulate (the verifier's report lists it)."""

    code: str
    cap: int
    pool_used: int
    unregistered_served: int | None  # None: no usable log
    registered_ballots: int
    registered_served: int | None


def check_consulates(reader: layout.RecordReader, ctx: ElectionContext, credential_body: Mapping[str, object],
                     styles: Mapping[bytes, str], cast: Container[bytes], report: VerificationReport
                     ) -> list[ConsulateCount]:
    """The stage: problems go to ``report``; returns each consulate's counts (for facts and tests)."""
    manifest = ctx.manifest
    ip = manifest.in_person
    if ip is None:
        return []
    report.add_fact("one_vote_per_person", tr(
        "un voto por persona en todos los canales (internet y consulados)",
        "one vote per person across channels (internet and consulates)"),
        tr(f"{len(ip.consulates)} consulados; sus bitácoras firmadas se concilian con las boletas del tablero",
           f"{len(ip.consulates)} consulates; their signed logs are reconciled with the board's ballots"))
    declaration = _declaration(reader, ctx, credential_body, styles, report)
    logs: dict[str, ConsulateLog] = {}
    for c in ip.consulates:
        log = _log(reader, ctx, c.code, report)
        if log is not None:
            logs[c.code] = log
    _one_person(logs, report)
    if declaration is None:
        return []
    out = []
    for c in ip.consulates:
        pool_used = sum(1 for k in declaration.pool_of(c.code) if k in cast)
        registered_ballots = sum(1 for k in declaration.registered_of(c.code) if k in cast)
        log = logs.get(c.code)
        where = log_path(c.code)
        if log is not None and pool_used > len(log.unregistered):
            report.add("consulates.reconciliation", where, tr(
                f"consulado {c.code}: se usaron {pool_used} credenciales de su fondo y su bitácora firmada registra "
                f"{len(log.unregistered)} personas sin registro atendidas: {pool_used - len(log.unregistered)} "
                "boletas sin una persona atendida",
                f"consulate {c.code}: {pool_used} credentials of its pool were used and its signed log records "
                f"{len(log.unregistered)} unregistered voters served: {pool_used - len(log.unregistered)} ballots "
                "without a voter served"))
        if log is not None and registered_ballots > log.registered_served:
            report.add("consulates.reconciliation", where, tr(
                f"consulado {c.code}: {registered_ballots} boletas de credenciales de sus votantes registrados y su "
                f"bitácora firmada registra {log.registered_served} votantes registrados atendidos",
                f"consulate {c.code}: {registered_ballots} ballots of its registered voters' credentials and its "
                f"signed log records {log.registered_served} registered voters served"))
        count = ConsulateCount(c.code, c.unregistered_cap, pool_used, len(log.unregistered) if log else None,
                               registered_ballots, log.registered_served if log else None)
        out.append(count)
        served = "?" if count.unregistered_served is None else count.unregistered_served
        registered = "?" if count.registered_served is None else count.registered_served
        report.add_fact(f"consulate_{c.code}", tr(f"consulado {c.code}", f"consulate {c.code}"), tr(
            f"credenciales del fondo usadas {pool_used}, personas sin registro atendidas {served} "
            f"(tope {c.unregistered_cap}); boletas de votantes registrados {registered_ballots}, "
            f"registrados atendidos {registered}",
            f"pool credentials used {pool_used}, unregistered voters served {served} (cap {c.unregistered_cap}); "
            f"ballots of registered voters {registered_ballots}, registered voters served {registered}"))
    return out


def _declaration(reader: layout.RecordReader, ctx: ElectionContext, body: Mapping[str, object],
                 styles: Mapping[bytes, str], report: VerificationReport) -> InPersonDeclaration | None:
    try:
        declaration = InPersonDeclaration.from_json(reader.read_json(DECLARATION), DECLARATION)
    except SiveiError as exc:
        report.add("consulates.declaration", DECLARATION, str(exc))
        return None
    problems = declaration.problems(ctx.manifest, styles, body.get("in_person_hash"))
    for message in problems:
        report.add("consulates.declaration", DECLARATION, message)
    return None if problems else declaration


def _log(reader: layout.RecordReader, ctx: ElectionContext, code: str, report: VerificationReport
         ) -> ConsulateLog | None:
    where = log_path(code)
    if not reader.exists(where):
        report.add("consulates.log", where, tr(f"falta la bitácora firmada del consulado {code}",
                                               f"the signed log of consulate {code} is missing"))
        return None
    what = tr("bitácora", "log")
    try:
        envelope = Envelope.from_json(reader.read_json(where), what)
    except SiveiError as exc:
        report.add("consulates.log", where, str(exc))
        return None
    log, problems = check_log(ctx.manifest, ctx.election_hash, code, envelope, what)
    for message in problems:
        report.add("consulates.log", where, message)
    return log


def _one_person(logs: Mapping[str, ConsulateLog], report: VerificationReport) -> None:
    first: dict[bytes, str] = {}
    for code, log in logs.items():
        for h in log.unregistered:
            if h in first:
                report.add("consulates.one-person", log_path(code), tr(
                    f"la persona sin registro {h.hex()[:16]}… ya fue atendida en el consulado {first[h]}: "
                    "votó dos veces",
                    f"unregistered voter {h.hex()[:16]}… was already served at consulate {first[h]}: they voted "
                    "twice"))
            else:
                first[h] = code
