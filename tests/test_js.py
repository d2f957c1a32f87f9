"""The booth's JavaScript: its node tests (``node --test``) and round trips with the library.

The node tests reproduce every shared JSON test vector byte for byte. The round trips encrypt and
sign ballots with the JavaScript (``tests/js/encrypt-cli.mjs``) for contexts made by Python, and
check that the library validates them, rebuilds them byte for byte from the same ballot nonce, and
accepts their challenged-ballot files. Without node these tests are skipped, except in CI (``CI``
set), where a missing node is a failure.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sivei.ballot.challenge import ChallengedBallot, check_challenge
from sivei.ballot.context import ElectionContext
from sivei.ballot.credentials import credential_public_key, credential_seed, generate_credential
from sivei.ballot.encrypt import EncryptedBallot, encrypt_ballot, sign_ballot
from sivei.ballot.manifest import sample_manifest
from sivei.ballot.validate import ballot_problems
from sivei.crypto.elgamal import ElectionKey
from sivei.crypto.encoding import element_to_hex
from sivei.crypto.group import PRODUCTION_GROUP
from sivei.record.context import load_election_context

ROOT = Path(__file__).resolve().parent.parent
JS_TESTS = ROOT / "tests" / "js"
VECTORS = ROOT / "tests" / "vectors"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is required to test the booth's JavaScript (CI is set)")
        pytest.skip("node is not installed")
    return node


def test_node_unit_tests() -> None:
    """``node --test`` over tests/js/*.test.mjs (the files are listed so any node version finds them)."""
    files = sorted(str(p) for p in JS_TESTS.glob("*.test.mjs"))
    assert files, "no JavaScript tests found"
    # The hook resolves the vendored @noble/curves' bare imports of @noble/hashes (as the bundle does).
    hook = str(JS_TESTS / "noble-resolve.mjs")
    result = subprocess.run([_node(), "--import", hook, "--test", *files], cwd=ROOT, capture_output=True, text=True,
                            timeout=600, check=False)
    summary = "\n".join(line for line in result.stdout.splitlines() if line.startswith("# "))
    assert result.returncode == 0, f"node --test failed:\n{result.stdout[-20000:]}\n{result.stderr[-5000:]}"
    assert "# fail 0" in summary, summary


def _context_json(ctx: ElectionContext) -> dict[str, Any]:
    return {"group": ctx.group.name, "election_key": element_to_hex(ctx.group, ctx.key.element),
            "election_hash": ctx.election_hash.hex(), "manifest": ctx.manifest.to_json()}


def _encrypt_in_js(ctx: ElectionContext, style: str, choices: dict[str, str], credential: str,
                   **extra: Any) -> dict[str, Any]:
    request = {"context": _context_json(ctx), "allowTestGroup": ctx.group.name != PRODUCTION_GROUP.name,
               "style": style, "choices": choices, "credential": credential, **extra}
    result = subprocess.run([_node(), str(JS_TESTS / "encrypt-cli.mjs")], input=json.dumps(request),
                            cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def _check_round_trip(ctx: ElectionContext, style: str, choices: dict[str, str], **extra: Any) -> dict[str, Any]:
    credential = generate_credential()
    out = _encrypt_in_js(ctx, style, choices, credential.lower(), **extra)
    election_id = ctx.manifest.election_id
    ballot = EncryptedBallot.from_json(ctx.group, out["ballot"])
    # The server's validation: proofs, shape, signature (the style is the one the list would give).
    assert ballot_problems(ctx, ballot, style, "js") == []
    assert ballot.credential == credential_public_key(election_id, credential)
    assert out["publicCredential"] == ballot.credential.hex()
    # The library rebuilds the same ballot from the same nonce, and the same signature.
    nonce = bytes.fromhex(out["ballotNonce"])
    rebuilt = encrypt_ballot(ctx, style, choices, ballot.credential, nonce)
    assert rebuilt.encode(ctx.group) == ballot.encode(ctx.group)
    signed = sign_ballot(ctx, rebuilt, credential_seed(election_id, credential))
    assert signed.to_json(ctx.group) == out["ballot"]
    assert rebuilt.ballot_hash(ctx).hex() == out["ballotHash"]
    assert rebuilt.tracking_code(ctx) == out["trackingCode"]
    # The challenged-ballot file is the library's, and checks.
    challenged = ChallengedBallot.from_json(ctx, out["challenged"])
    assert check_challenge(ctx, challenged) == []
    assert ChallengedBallot(rebuilt, choices, nonce).to_json(ctx) == out["challenged"]
    return out


def test_js_ballots_accepted_by_the_library() -> None:
    ctx = load_election_context(VECTORS / "small-election", allow_test_group=True)
    _check_round_trip(ctx, "nte", {"gob-nte": "PRA_PRB", "consulta": "SI"})
    _check_round_trip(ctx, "nte", {"gob-nte": "CNR"})
    _check_round_trip(ctx, "sur", {"consulta": "NO"}, ed25519="fallback")
    _check_round_trip(ctx, "sur", {}, ballotNonce=secrets.token_hex(32))


@pytest.mark.production
def test_js_production_ballot_accepted_by_the_library() -> None:
    """The sample manifest's 28-option style on the production group, in the JavaScript."""
    manifest = sample_manifest()
    key = ElectionKey(PRODUCTION_GROUP, PRODUCTION_GROUP.g_pow(secrets.randbelow(PRODUCTION_GROUP.q)))
    ctx = ElectionContext(manifest, key, secrets.token_bytes(32))
    style = "chih"
    contests = manifest.style_contests(style)
    assert sum(len(c.options) for _, c in contests) == 28
    choices = {contests[0][1].id: contests[0][1].options[7].id, contests[1][1].id: "NULO"}
    out = _check_round_trip(ctx, style, choices)
    print(f"\nJS, production group, 28 options: tables {out['tablesMs']:.0f} ms, "
          f"encryption {out['encryptMs']:.0f} ms")


def test_js_manifest_hash_matches_the_library() -> None:
    """The booth's manifest hash (shown as the manifest fingerprint) for the sample manifest."""
    ctx = ElectionContext(sample_manifest(), ElectionKey(PRODUCTION_GROUP, PRODUCTION_GROUP.g),
                          bytes(32))
    script = ("import { Manifest } from './server/sivei_server/static/booth/js/manifest.js';"
              "import { readFileSync } from 'node:fs';"
              "const m = Manifest.fromJson(JSON.parse(readFileSync(0, 'utf8')));"
              "process.stdout.write(Buffer.from(await m.hash()).toString('hex'));")
    result = subprocess.run([_node(), "--input-type=module", "-e", script],
                            input=json.dumps(ctx.manifest.to_json()), cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ctx.manifest.hash.hex()


def test_eg_shape_fixture_is_the_benchmarks_manifest() -> None:
    """tests/js/fixtures/eg-shape-manifest.json (timed by tests/js/bench.mjs) is benchmarks' eg-shape."""
    root = str(ROOT)
    if root not in sys.path:
        sys.path.insert(0, root)
    manifests = importlib.import_module("benchmarks.manifests")
    fixture = json.loads((JS_TESTS / "fixtures" / "eg-shape-manifest.json").read_text(encoding="utf-8"))
    assert fixture == manifests.eg_shape_json()
