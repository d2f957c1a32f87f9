"""The booth's page and UI scripts, the static verification page and its bundle (no browser here;
tests/e2e/ drives real Chromium).

* ``/votar`` renders the booth (logged-in voters only) under the strict CSP: no inline script or
  style, module scripts from this server only, Spanish first (``?lang=en`` or the language cookie).
* ``static/booth/ui/boleta.js`` (node): every mark set a voter can reach one offered mark at a time
  counts for the option the library's ``Contest.option_for_marks`` gives; every party and
  combination option is reachable; nothing reachable is an invalid combination.
* ``static/booth/ui/qr.js`` (node): data codewords as the standard says, and matrices equal to
  segno's for the same codewords, version, level and mask (versions 1–40, levels L and M).
* ``scripts/bundle.mjs``: the committed classic-script bundles (the booth with its worker, and the
  verification page's cryptography) are up to date; the verification page's loads as a classic script
  (no module syntax) and checks challenged ballots made by the Python library.
* Static URLs carry their content's digest (``?v=``) and are cached for a year; a stale ``v`` is not.
* The UI and the verification page are in the software-integrity constancia.

Without node the node tests are skipped, except in CI (``CI`` set), where that is a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import segno
from segno import consts

from servertools import election_setup, prepare, voter_browser
from sivei.ballot.challenge import ChallengedBallot
from sivei.ballot.context import ElectionContext
from sivei.ballot.credentials import credential_public_key, generate_credential
from sivei.ballot.encrypt import encrypt_ballot, new_ballot_nonce
from sivei.ballot.manifest import sample_manifest
from sivei.crypto.elgamal import ElectionKey
from sivei.crypto.encoding import element_to_hex
from sivei.crypto.group import TEST_GROUP

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "server" / "sivei_server" / "static"
UI = STATIC / "booth" / "ui"
VERIFY = STATIC / "verificar"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is required to test the booth's UI scripts (CI is set)")
        pytest.skip("node is not installed")
    return node


def run_node(script: str, stdin: Any = None) -> Any:
    result = subprocess.run([_node(), "--input-type=module", "-e", script], cwd=ROOT, capture_output=True, text=True,
                            input=None if stdin is None else json.dumps(stdin), timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-5000:]
    return json.loads(result.stdout)


# -- the page ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def booth_setup(tmp_path_factory: pytest.TempPathFactory) -> Any:
    setup = election_setup(tmp_path_factory.mktemp("cabina"), voters=2)
    prepare(setup)
    yield setup
    setup.kit.close()


def test_booth_page_renders_under_the_strict_csp(booth_setup: Any) -> None:
    voter = booth_setup.kit.roll[0].voter_id
    b = voter_browser(booth_setup.app, voter)
    r = b.get("/votar")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "worker-src 'self'" in csp
    assert '<html lang="es">' in html
    # One classic script (the booth and its worker, scripts/bundle.mjs), its URL naming its content.
    bundle = re.search(r'<script defer src="(/static/booth/dist/cabina\.js\?v=([0-9a-f]{16}))"></script>', html)
    assert bundle is not None
    assert f'data-trabajador="{bundle.group(1)}"' in html
    assert bundle.group(2) == hashlib.sha256((STATIC / "booth/dist/cabina.js").read_bytes()).hexdigest()[:16]
    # The two answers it needs first are preloaded, in parallel with it.
    for path in ("/api/eleccion/contexto", "/api/votante"):
        assert f'<link rel="preload" href="{path}" as="fetch" crossorigin>' in html
    # No inline script or style anywhere (the CSP would block them).
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html and "<style" not in html
    # Every screen the script expects, and the endpoints it calls.
    for screen in ("p-carga", "p-sesion", "p-votado", "p-credencial", "p-boleta", "p-revision", "p-codigo",
                   "p-impugnada", "p-recibo", "p-error"):
        assert f'id="{screen}"' in html
    for attr, path in (("data-contexto", "/api/eleccion/contexto"), ("data-votante", "/api/votante"),
                       ("data-votar", "/api/votar"), ("data-verificar", "/static/verificar/index.html")):
        assert f'{attr}="{path}"' in html or f'{attr}="{path}?v=' in html
    # The credential field is never submitted by a form (no name) and never remembered.
    field = re.search(r"<input id=\"credencial\"[^>]*>", html)
    assert field and 'autocomplete="off"' in field.group(0) and " name=" not in field.group(0)
    # Each data-i18n key has its English text.
    keys = set(re.findall(r'data-i18n="([^"]+)"', html))
    textos = (UI / "textos.js").read_text(encoding="utf-8")
    missing = [k for k in keys if not re.search(rf'^\s*"?{re.escape(k)}"?:', textos, re.M)]
    assert missing == []


def test_booth_language_and_login(booth_setup: Any) -> None:
    voter = booth_setup.kit.roll[0].voter_id
    b = voter_browser(booth_setup.app, voter)
    assert '<html lang="en">' in b.get("/votar?lang=en").get_data(as_text=True)
    assert '<html lang="es">' in b.get("/votar?lang=xx").get_data(as_text=True)
    # The booth page itself loads without a session (the credential authority's link opens it; the
    # booth asks for the login and keeps the link's credential in memory), but nothing of the voter's
    # does: their data and casting need the session.
    anonymous = booth_setup.app.test_client()
    page = anonymous.get("/votar")
    assert page.status_code == 200 and 'id="p-sesion"' in page.get_data(as_text=True)
    assert anonymous.get("/api/votante").status_code == 401
    assert anonymous.get("/votar/sesion").status_code in (302, 303, 401)
    done = b.get("/votar/sesion")
    assert done.status_code == 200 and "/static/booth/ui/sesion.js?v=" in done.get_data(as_text=True)


def test_ui_scripts_are_served_as_javascript(booth_setup: Any) -> None:
    client = booth_setup.app.test_client()
    for path in ("booth/dist/cabina.js", "booth/ui/cabina.js", "booth/ui/boleta.js", "booth/ui/qr.js",
                 "booth/ui/textos.js", "booth/ui/enlace.js", "booth/ui/sesion.js", "booth/ui/horas.js",
                 "verificar/sivei-verificar.js", "verificar/verificar.js", "verificar/registro.js"):
        r = client.get(f"/static/{path}")
        assert r.status_code == 200, path
        assert r.mimetype in ("text/javascript", "application/javascript"), (path, r.mimetype)
    assert client.get("/static/verificar/index.html").status_code == 200
    assert client.get("/static/verificar/registro.html").status_code == 200


def test_static_urls_name_their_content_and_are_cached_for_a_year(booth_setup: Any) -> None:
    client = booth_setup.app.test_client()
    html = client.get("/votar").get_data(as_text=True)
    css = re.search(r'href="(/static/booth/ui/cabina\.css\?v=([0-9a-f]{16}))"', html)
    assert css is not None
    assert css.group(2) == hashlib.sha256((STATIC / "booth/ui/cabina.css").read_bytes()).hexdigest()[:16]
    r = client.get(css.group(1))
    assert r.status_code == 200 and r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # An old page's URL (another digest) or none: served, but never kept for a year.
    for url in ("/static/booth/ui/cabina.css?v=0000000000000000", "/static/booth/ui/cabina.css"):
        r = client.get(url)
        assert r.status_code == 200 and "immutable" not in r.headers.get("Cache-Control", ""), url
    # Blueprints' static files too (the login pages' style sheet).
    page = client.get("/cuenta/entrar").get_data(as_text=True)
    auth_css = re.search(r'href="(/cuenta/estatico/auth\.css\?v=[0-9a-f]{16})"', page)
    assert auth_css is not None
    assert "immutable" in client.get(auth_css.group(1)).headers["Cache-Control"]


def test_the_pages_load_nothing_from_elsewhere() -> None:
    for path in [*UI.iterdir(), *(p for p in VERIFY.rglob("*") if p.is_file()),
                 ROOT / "server/sivei_server/templates/booth/cabina.html"]:
        text = path.read_text(encoding="utf-8")
        for url in re.findall(r"(?:src|href)=[\"'](https?:)?//", text):
            pytest.fail(f"{path.name}: a third-party reference ({url})")
        assert "fetch(\"http" not in text and "fetch('http" not in text, path.name


# -- the ballot's marks (node) -------------------------------------------------------------------------------

BALLOT_SCRIPT = r"""
import { Manifest } from "./server/sivei_server/static/booth/js/manifest.js";
import { BallotMarks } from "./server/sivei_server/static/booth/ui/boleta.js";
let input = ""; process.stdin.on("data", (d) => (input += d)); process.stdin.on("end", () => {
  const manifest = Manifest.fromJson(JSON.parse(input));
  const out = {};
  for (const style of manifest.ballotStyles) {
    for (const cm of new BallotMarks(manifest, style.id).contests) {
      const seen = new Map();
      const walk = (path) => {
        const key = JSON.stringify([[...cm.parties].sort(), cm.other]);
        if (seen.has(key)) return;
        seen.set(key, { parties: [...cm.parties].sort(), other: cm.other, choice: cm.choice,
          offered: cm.items.filter((op) => cm.offered(op)).map((op) => op.id) });
        for (const op of cm.items) {
          if (!cm.offered(op)) continue;
          cm.toggle(op.id); walk(); cm.toggle(op.id);
        }
      };
      walk();
      out[cm.contest.id] = [...seen.values()];
    }
  }
  console.log(JSON.stringify(out));
});
"""


def test_marks_reach_exactly_the_valid_options() -> None:
    manifest = sample_manifest()
    states = run_node(BALLOT_SCRIPT, manifest.to_json())
    for contest in manifest.contests:
        reached = states[contest.id]
        null_id = next(o.id for o in contest.options if o.kind == "null")
        choices = set()
        for st in reached:
            if st["parties"]:
                expected = contest.options[contest.option_for_marks(st["parties"])].id
                assert expected != null_id, (contest.id, st)  # never an invalid combination
            elif st["other"] is not None:
                expected = st["other"]
            else:
                expected = null_id  # unmarked: counts as null
            assert st["choice"] == expected, (contest.id, st)
            choices.add(st["choice"])
        # Every option of the contest can be voted for (combinations through party marks).
        assert choices == {o.id for o in contest.options}, contest.id
        # Nothing else is offered while an exclusive option (independent, write-in, null) is marked.
        for st in reached:
            if st["other"] is not None:
                assert st["offered"] == [st["other"]], st


# -- QR codes (node) -------------------------------------------------------------------------------------------

QR_SCRIPT = r"""
import { dataCodewordsOf, matrixOf, qrMatrix, challengeQrText } from "./server/sivei_server/static/booth/ui/qr.js";
let input = ""; process.stdin.on("data", (d) => (input += d)); process.stdin.on("end", () => {
  const { cases, file } = JSON.parse(input);
  console.log(JSON.stringify({
    cases: cases.map((c) => ({
      data: dataCodewordsOf(new TextEncoder().encode(c.text), c.ver, c.lvl),
      matrix: matrixOf(c.segno, c.ver, c.lvl, c.mask).map((r) => r.map((b) => (b ? 1 : 0)).join("")),
    })),
    qrText: challengeQrText(file),
    qrSize: qrMatrix(new TextEncoder().encode(challengeQrText(file))).length,
  }));
});
"""


def _data_codewords(data: bytes, ver: int, level: str, *, segno_style: bool) -> list[int]:
    """Data codewords computed here from the standard; segno (1.6) adds a zero codeword after the
    terminator when the bits end on a codeword boundary (still a valid symbol)."""
    err = {"L": consts.ERROR_LEVEL_L, "M": consts.ERROR_LEVEL_M}[level]
    capacity = sum(e.num_blocks * e.num_data for e in consts.ECC[ver][err]) * 8
    bits = "0100" + format(len(data), "08b" if ver <= 9 else "016b") + "".join(format(b, "08b") for b in data)
    bits += "0" * min(4, capacity - len(bits))
    pad = (8 - len(bits) % 8) % 8
    if segno_style and pad == 0 and len(bits) < capacity:
        pad = 8
    bits += "0" * pad
    fill = ("11101100", "00010001")
    i = 0
    while len(bits) < capacity:
        bits += fill[i % 2]
        i += 1
    return [int(bits[k:k + 8], 2) for k in range(0, len(bits), 8)]


def test_qr_codes_match_the_standard_and_segno(tmp_path: Path) -> None:
    import random

    rnd = random.Random(2027)
    cases = []
    for ver, level in ((1, "M"), (2, "L"), (5, "M"), (7, "M"), (9, "L"), (10, "L"), (13, "M"), (15, "M"), (22, "L"),
                       (27, "M"), (32, "M"), (40, "M")):
        for mask in range(8):
            text = "".join(rnd.choice('abcdefXYZ0123{}":,-') for _ in range(rnd.randint(1, 20)))
            cases.append({"text": text, "ver": ver, "lvl": level, "mask": mask,
                          "segno": _data_codewords(text.encode(), ver, level, segno_style=True)})
    ctx = _test_context()
    credential = credential_public_key(ctx.manifest.election_id, generate_credential())
    choices = {"gob-chih": "PAN_PRI", "sen-norte": "CNR", "rm-2027": "SIGA"}
    ballot = encrypt_ballot(ctx, "chih", choices, credential, new_ballot_nonce())
    file = ChallengedBallot(ballot, choices, new_ballot_nonce()).to_json(ctx)
    out = run_node(QR_SCRIPT, {"cases": cases, "file": file})
    for case, got in zip(cases, out["cases"], strict=True):
        assert got["data"] == _data_codewords(case["text"].encode(), case["ver"], case["lvl"], segno_style=False)
        ref = segno.make(case["text"], version=case["ver"], error=case["lvl"].lower(), mode="byte",
                         mask=case["mask"], boost_error=False)
        assert got["matrix"] == ["".join("1" if b else "0" for b in row) for row in ref.matrix], case
    qr = json.loads(out["qrText"])
    assert qr == {"format": "sivei-impugnada-qr/1", "election_hash": file["election_hash"], "style": "chih",
                  "credential": file["ballot"]["credential"], "choices": choices, "ballot_nonce": file["ballot_nonce"]}
    assert out["qrSize"] <= 4 * 25 + 17  # a version ≤ 25 symbol: readable by a phone from a screen


# -- the verification page's bundle (node) ------------------------------------------------------------------------

def test_bundles_are_up_to_date() -> None:
    result = subprocess.run([_node(), "scripts/bundle.mjs", "--check"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    booth = (STATIC / "booth/dist/cabina.js").read_text(encoding="utf-8")
    bundle = (VERIFY / "sivei-verificar.js").read_text(encoding="utf-8")
    for text in (booth, bundle):
        assert not re.search(r"^\s*(import|export)\b", text, re.M)
        assert "import.meta" not in text
    # The record checker's protocol modules (acts, receipts, the board chain, tally, decryption…) are
    # shared JavaScript that only the verification pages' bundle holds.
    record_checker = {"acts", "board", "ceremony", "credentiallist", "decryption", "ecdsa", "receipts", "results",
                      "tally", "validate"}
    for src in [*sorted((STATIC / "booth" / "ui").glob("*.js")), *sorted((STATIC / "booth" / "js").glob("*.js"))]:
        if src.stem in ("index", "sesion") or src.stem in record_checker:  # the verification page's entry; the
            continue  # login tab's own script; the record checker's modules
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        assert f"{digest}  server/sivei_server/static/booth/{src.parent.name}/{src.name}" in booth, src.name
    # It names the SHA-256 of each source it holds: the record checker, its vendored libraries included.
    for src in [*sorted((VERIFY / "js").glob("*.js")), VERIFY.parent / "booth/vendor/noble-curves-2.4.0/nist.js",
                VERIFY.parent / "booth/vendor/noble-hashes-2.4.0/sha3.js"]:
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        assert f"{digest}  server/sivei_server/static/{src.relative_to(VERIFY.parent).as_posix()}" in bundle, src.name
    for src in sorted((STATIC / "booth" / "js").glob("*.js")):
        if src.stem in ("client", "service", "worker"):
            assert f"booth/js/{src.name}" not in bundle
            continue
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        assert f"{digest}  server/sivei_server/static/booth/js/{src.name}" in bundle


BUNDLE_SCRIPT = r"""
import vm from "node:vm";
import { readFileSync } from "node:fs";
let input = ""; process.stdin.on("data", (d) => (input += d)); process.stdin.on("end", async () => {
  const { context, file, qr } = JSON.parse(input);
  // A classic script in a fresh global: what a browser does with <script src> (no module loader).
  const sandbox = { crypto: globalThis.crypto, TextEncoder, TextDecoder, URL, console };
  sandbox.globalThis = sandbox;
  vm.createContext(sandbox);
  vm.runInContext(readFileSync("server/sivei_server/static/verificar/sivei-verificar.js", "utf8"), sandbox);
  const S = sandbox.SiveiVerificar;
  const ctx = S.ElectionContext.fromJson(context, { allowTestGroup: true });
  const good = await S.checkChallenge(ctx, file);
  const doctored = await S.checkChallenge(ctx, { ...file, choices: { ...file.choices, "rm-2027": "REVOCA" } });
  const rebuilt = await S.encryptBallot(ctx, qr.style, qr.choices, S.hexToBytes(qr.credential, 32, "c"),
    S.hexToBytes(qr.ballot_nonce, 32, "n"));
  console.log(JSON.stringify({ good, doctored: doctored.problems.map((p) => p.check),
    qrTrackingCode: await rebuilt.trackingCode(ctx) }));
});
"""


def _test_context() -> ElectionContext:
    import secrets

    manifest = sample_manifest()
    key = ElectionKey(TEST_GROUP, pow(TEST_GROUP.g, secrets.randbelow(TEST_GROUP.q - 1) + 1, TEST_GROUP.p))
    return ElectionContext(manifest, key, secrets.token_bytes(32))


def test_verify_bundle_checks_the_librarys_challenged_ballots() -> None:
    ctx = _test_context()
    credential = credential_public_key(ctx.manifest.election_id, generate_credential())
    choices = {"dip-mig-jal": "PT_PVEM_MORENA", "rm-2027": "SIGA"}
    nonce = new_ballot_nonce()
    ballot = encrypt_ballot(ctx, "jal", choices, credential, nonce)
    file = ChallengedBallot(ballot, choices, nonce).to_json(ctx)
    context = {"group": ctx.group.name, "election_key": element_to_hex(ctx.group, ctx.key.element),
               "election_hash": ctx.election_hash.hex(), "manifest": ctx.manifest.to_json()}
    qr = {"style": "jal", "credential": credential.hex(), "choices": choices, "ballot_nonce": nonce.hex()}
    out = run_node(BUNDLE_SCRIPT, {"context": context, "file": file, "qr": qr})
    assert out["good"] == {"trackingCode": ballot.tracking_code(ctx), "problems": []}
    assert out["doctored"] == ["challenge.mismatch"]
    assert out["qrTrackingCode"] == ballot.tracking_code(ctx)


# -- the integrity constancia -----------------------------------------------------------------------------------

def test_booth_ui_and_verification_page_are_in_the_constancia() -> None:
    from sivei.integrity import installation_constancia

    listed = {f.path for f in installation_constancia().files}
    for path in [*UI.iterdir(), *(p for p in VERIFY.rglob("*") if p.is_file()),
                 ROOT / "server/sivei_server/templates/booth/cabina.html"]:
        rel = "sivei_server/" + path.relative_to(ROOT / "server" / "sivei_server").as_posix()
        assert any(p.endswith(rel) for p in listed), rel
