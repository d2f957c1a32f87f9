"""``sivei verificar RECORD`` (alias ``verify``): the auditors' offline verifier."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sivei.crypto.batch import DEFAULT_BITS, MAX_BITS, MIN_BITS, check_bits
from sivei.i18n import tr
from sivei.record.report import VerificationReport
from sivei.record.verify import VerifyOptions, verify_record


def print_progress(events: int, done: int, total: int, elapsed: float) -> None:
    """Progress line for a board verification (also used by the key-holders' vault opening), from
    the board file's offset: no pass over the board just to count it."""
    share = done / total if total else 1.0
    eta = elapsed / share * (1 - share) if share else 0.0
    print(tr(f"\r  verificando el tablero: {share:.0%} ({events} eventos), faltan ~{eta:.0f} s   ",
             f"\r  checking the board: {share:.0%} ({events} events), ~{eta:.0f} s left   "),
          end="", file=sys.stderr, flush=True)
    if done >= total:
        print(file=sys.stderr)


def lote_bits_argument(p: argparse.ArgumentParser, *, default: int = DEFAULT_BITS) -> None:
    """``--lote-bits λ``: the security of the batched proof checks (protocol §8.5)."""

    def parse(value: str) -> int:
        try:
            return check_bits(int(value))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    p.add_argument("--lote-bits", "--batch-bits", dest="lote_bits", type=parse, default=default, metavar="λ",
                   help=tr(f"seguridad de la verificación por lotes: una prueba falsa pasa con probabilidad "
                           f"≤ 2·2^−λ ({MIN_BITS} a {MAX_BITS}; por omisión {default})",
                           f"security of batch verification: a false proof passes with probability ≤ 2·2^−λ "
                           f"({MIN_BITS} to {MAX_BITS}; default {default})"))


def run(args: argparse.Namespace) -> int:
    options = VerifyOptions(
        allow_test_group=args.test_group,
        expect_election=tuple(args.expect_election or ()),
        expect_heads=tuple(args.expect_head or ()),
        jobs=args.jobs,
        progress=None if args.quiet else print_progress,
        lote_bits=args.lote_bits,
        closed=args.closed,
        receipts=tuple(Path(r) for r in args.receipt or ()),
    )
    on_cluster = args.scheduler is not None
    report = _verify_on_cluster(args, options) if on_cluster else verify_record(Path(args.record), options)
    if args.json:
        text = json.dumps(report.to_json(), ensure_ascii=False, indent=1)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    if args.json != "-":
        print(report.format_text())
    return 0 if report.ok else 1


def _verify_on_cluster(args: argparse.Namespace, options: VerifyOptions) -> VerificationReport:
    """``--scheduler``: the board's chunks checked on a Dask cluster (``sivei.record.cluster``)."""
    from dataclasses import replace

    from sivei.record.cluster import ClusterError, DaskChecker, TlsFiles

    if args.jobs is not None:
        raise ClusterError(tr("--jobs y --scheduler se excluyen: los procesos son los trabajadores del clúster",
                              "--jobs and --scheduler exclude each other: the processes are the cluster's workers"))
    tls_given = [args.tls_ca_file, args.tls_cert, args.tls_key]
    if any(tls_given) and not all(tls_given):
        raise ClusterError(tr("TLS necesita las tres opciones: --tls-ca-file, --tls-cert y --tls-key",
                              "TLS needs all three options: --tls-ca-file, --tls-cert and --tls-key"))
    tls = TlsFiles(args.tls_ca_file, args.tls_cert, args.tls_key) if all(tls_given) else None
    with DaskChecker(args.scheduler, tls=tls) as checker:
        if not args.quiet:
            print(tr(f"  clúster Dask {args.scheduler}: {checker.workers} trabajadores con el mismo software",
                     f"  Dask cluster {args.scheduler}: {checker.workers} workers with the same software"),
                  file=sys.stderr)
        return verify_record(Path(args.record), replace(options, checker=checker))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("verificar", aliases=["verify"],
                       help=tr("verificar un registro electoral sin conexión",
                               "verify an election record offline"))
    p.add_argument("record", metavar=tr("REGISTRO", "RECORD"), help=tr("directorio del registro", "record directory"))
    p.add_argument("--test-group", action="store_true",
                   help=tr("aceptar el grupo de prueba (solo para pruebas)", "accept the test group (tests only)"))
    p.add_argument("--expect-election", action="append", metavar=tr("HUELLA", "FINGERPRINT"),
                   help=tr("huella publicada de la elección (20 caracteres o hash completo)",
                           "published election fingerprint (20 characters or full hash)"))
    p.add_argument("--expect-head", action="append", metavar="HASH",
                   help=tr("cabeza del tablero anotada durante la votación (repetible)",
                           "board head noted during voting (repeatable)"))
    p.add_argument("--jobs", type=int, default=None,
                   help=tr("procesos en paralelo (por omisión, todos los núcleos)",
                           "parallel processes (default: all cores)"))
    lote_bits_argument(p)
    p.add_argument("--scheduler", "--planificador", dest="scheduler", metavar="tls://HOST:8786",
                   help=tr("verificar las boletas en un clúster Dask (docs/cluster.md); tcp:// solo en loopback",
                           "check the ballots on a Dask cluster (docs/cluster.md); tcp:// on loopback only"))
    p.add_argument("--tls-ca-file", metavar="CA.pem",
                   help=tr("CA de los certificados del clúster (con --scheduler tls://)",
                           "CA of the cluster's certificates (with --scheduler tls://)"))
    p.add_argument("--tls-cert", metavar="CERT.pem",
                   help=tr("certificado de este cliente", "this client's certificate"))
    p.add_argument("--tls-key", metavar="KEY.pem", help=tr("llave de este cliente", "this client's key"))
    p.add_argument("--json", metavar=tr("ARCHIVO", "FILE"),
                   help=tr("escribir el informe en JSON ('-' para la salida estándar)",
                           "write the report as JSON ('-' for standard output)"))
    p.add_argument("--cerrado", "--closed", dest="closed", action="store_true",
                   help=tr("verificar un registro cerrado, antes del descifrado",
                           "verify a closed record, before decryption"))
    p.add_argument("--recibo", "--receipt", dest="receipt", action="append", metavar=tr("RECIBO", "RECEIPT"),
                   help=tr("recibo de un votante: firma, su boleta en la cadena en ese índice y contada (repetible)",
                           "a voter's receipt: signature, its ballot on the chain at that index and counted "
                           "(repeatable)"))
    p.add_argument("--quiet", action="store_true", help=tr("sin progreso", "no progress"))
    p.set_defaults(func=run)
