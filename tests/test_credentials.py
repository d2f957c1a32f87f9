"""Credentials: format and check character, key derivation, the roll, the signed list and its
verification, delivery files, escrow re-delivery and the authority key."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path

import nacl.pwhash
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sivei.ballot import credentials as cr
from sivei.ballot.credentials import (
    CHECK_ALPHABET,
    CredentialEntry,
    CredentialError,
    CredentialList,
    CredentialListDraft,
    Escrow,
    check_credential_list,
    credential_public_key,
    credential_seed,
    format_credential,
    generate_credential,
    generate_credentials,
    issue_credentials,
    load_credential_list_files,
    parse_credential,
    read_roll,
    redeliver,
    sign_credential_list,
    synthetic_roll,
)
from sivei.ballot.manifest import Manifest, sample_manifest
from sivei.crypto import ed25519
from sivei.crypto.ecdsa import SoftwareSigner
from sivei.crypto.encoding import Encoder, tagged_hash
from sivei.crypto.envelope import Envelope, seal
from sivei.crypto.fingerprint import CROCKFORD, fingerprint
from sivei.i18n import set_language

FAST = {"opslimit": nacl.pwhash.argon2id.OPSLIMIT_MIN, "memlimit": nacl.pwhash.argon2id.MEMLIMIT_MIN}
_D = "[0-9A-HJKMNP-TV-Z]"
FORMAT = re.compile(rf"{_D}{{5}}(-{_D}{{5}}){{4}}-{_D}[0-9A-HJKMNP-TV-Z*~$=U]")

# Regression vector: fixed election id and credential → seed and public key (computed once).
VECTOR_ELECTION = "MX-2027-PRUEBA"
VECTOR_CANONICAL = "0123456789ABCDEFGHJKMNPQRS"
VECTOR_FORMATTED = "01234-56789-ABCDE-FGHJK-MNPQR-S9"
VECTOR_SEED = "da019c318592c900cd6ac6cae111b449b3954d13a66bc738cbe67e9df0a73421"
VECTOR_PUBLIC = "fc1a5f99a3c8ad2eb73c0439c32b987d971083944667365e8ffd0cbd8c6d0340"


@pytest.fixture(autouse=True)
def _spanish() -> None:
    set_language("es")


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return sample_manifest()


@pytest.fixture(scope="module")
def authority() -> SoftwareSigner:
    return SoftwareSigner()


@pytest.fixture(scope="module")
def issued(manifest: Manifest, authority: SoftwareSigner) -> cr.IssuedCredentials:
    return issue_credentials(manifest, synthetic_roll(manifest, 40, seed=1), authority, retain=True)


# -- format -------------------------------------------------------------------------------------


def test_generated_credentials_have_the_format_and_differ() -> None:
    creds = {generate_credential() for _ in range(200)}
    assert len(creds) == 200
    for c in creds:
        assert FORMAT.fullmatch(c), c
        assert format_credential(parse_credential(c)) == c


def test_generation_uses_130_bits_from_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []

    def fake(bits: int) -> int:
        asked.append(bits)
        return 2**130 - 1

    monkeypatch.setattr(cr.secrets, "randbits", fake)
    assert parse_credential(generate_credential()) == "Z" * 26
    assert asked == [130]


def test_check_character_is_value_mod_37() -> None:
    value = int("".join(f"{CROCKFORD.index(c):05b}" for c in VECTOR_CANONICAL), 2)
    assert format_credential(VECTOR_CANONICAL)[-1] == CHECK_ALPHABET[value % 37]
    assert format_credential(VECTOR_CANONICAL) == VECTOR_FORMATTED


def test_parsing_is_forgiving() -> None:
    c = VECTOR_FORMATTED
    assert parse_credential(c.lower()) == VECTOR_CANONICAL
    assert parse_credential(c.replace("-", "")) == VECTOR_CANONICAL
    assert parse_credential("  " + c.replace("-", " ") + "\n") == VECTOR_CANONICAL
    assert parse_credential(c.replace("0", "O").replace("1", "l")) == VECTOR_CANONICAL
    assert parse_credential(c.replace("1", "I")) == VECTOR_CANONICAL


def test_check_symbols_parse() -> None:
    seen = set()
    while len(seen) < 5:  # find credentials whose check value is 32..36 (symbols * ~ $ = U)
        c = generate_credential()
        if c[-1] in "*~$=U":
            seen.add(c[-1])
            assert parse_credential(c.lower()) == parse_credential(c)


@pytest.mark.parametrize(("text", "message"), [
    ("", "vacía"),
    ("01234-56789-ABCDE-FGHJK-MNPQR", "faltan 2 caracteres"),
    ("01234-56789-ABCDE-FGHJK-MNPQR-S9X", "1 caracteres de más"),
    ("01234-56789-AB#DE-FGHJK-MNPQR-S9", "grupo 3, carácter 3"),
    ("01234-56789-ABCDE-FGUJK-MNPQR-S9", "grupo 4, carácter 3"),
    ("01234-56789-ABCDE-FGHJK-MNPQR-S*", "verificación"),
    ("01234-56789-ABCDE-FGHJK-MNPQR-T9", "verificación"),
])
def test_parse_errors_name_the_mistake(text: str, message: str) -> None:
    with pytest.raises(CredentialError, match=message):
        parse_credential(text)


def test_parse_errors_in_english() -> None:
    set_language("en")
    with pytest.raises(CredentialError, match="group 3, character 3"):
        parse_credential("01234-56789-AB#DE-FGHJK-MNPQR-S9")
    with pytest.raises(CredentialError, match="check character"):
        parse_credential("01234-56789-ABCDE-FGHJK-MNPQR-T9")


def _compact(formatted: str) -> str:
    return formatted.replace("-", "")


@settings(deadline=None)
@given(st.text(alphabet=CROCKFORD, min_size=26, max_size=26))
def test_every_single_substitution_is_caught(canonical: str) -> None:
    good = _compact(format_credential(canonical))
    for i, original in enumerate(good):
        alphabet = CROCKFORD if i < 26 else CHECK_ALPHABET
        for ch in alphabet:
            if ch == original:
                continue
            typo = good[:i] + ch + good[i + 1:]
            with pytest.raises(CredentialError):
                parse_credential(typo)


@settings(deadline=None)
@given(st.text(alphabet=CROCKFORD, min_size=26, max_size=26))
def test_every_adjacent_transposition_is_caught(canonical: str) -> None:
    good = _compact(format_credential(canonical))
    for i in range(len(good) - 1):
        if good[i] == good[i + 1]:
            continue
        swapped = good[:i] + good[i + 1] + good[i] + good[i + 2:]
        with pytest.raises(CredentialError):
            parse_credential(swapped)


def test_format_rejects_non_canonical() -> None:
    for bad in ("0123456789abcdefghjkmnpqrs", "0123456789ABCDEFGHJKMNPQR", "0123456789ABCDEFGHJKMNPQRU"):
        with pytest.raises(CredentialError):
            format_credential(bad)


# -- derivation ---------------------------------------------------------------------------------


def test_seed_and_public_key_vector() -> None:
    seed = credential_seed(VECTOR_ELECTION, VECTOR_FORMATTED)
    assert seed.hex() == VECTOR_SEED
    # The definition, spelled out with hashlib: H(tag, string(election) ‖ string(26 chars)).
    def s(x: bytes) -> bytes:
        return len(x).to_bytes(4, "big") + x
    manual = hashlib.sha256(s(b"sivei/cred") + s(VECTOR_ELECTION.encode()) + s(VECTOR_CANONICAL.encode()))
    assert seed == manual.digest()
    assert credential_seed(VECTOR_ELECTION, VECTOR_CANONICAL) == seed
    assert credential_seed(VECTOR_ELECTION, VECTOR_FORMATTED.lower()) == seed
    public = credential_public_key(VECTOR_ELECTION, VECTOR_FORMATTED)
    assert public.hex() == VECTOR_PUBLIC
    assert ed25519.is_valid_public_key(public)
    assert ed25519.verify(public, b"m", ed25519.sign(seed, b"m"))


def test_seed_depends_on_election() -> None:
    assert credential_seed("otra", VECTOR_CANONICAL) != credential_seed(VECTOR_ELECTION, VECTOR_CANONICAL)


def test_seed_refuses_a_mistyped_credential() -> None:
    with pytest.raises(CredentialError):
        credential_seed(VECTOR_ELECTION, "01234-56789-ABCDE-FGHJK-MNPQR-T9")


# -- roll ---------------------------------------------------------------------------------------


def _codes(manifest: Manifest) -> list[str]:
    return [e.code for e in manifest.entities]


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "padron.csv"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def test_read_roll(tmp_path: Path, manifest: Manifest) -> None:
    a, b = _codes(manifest)[:2]
    path = _write(tmp_path, "\ufeffvoter_id,entity,name,email,telefono\n"
                  f"A1,{a},María López,maria@example.mx,555\n\n"
                  f'A2,{b},"Pérez, José",jose@example.mx,556\n')
    roll = read_roll(path, manifest)
    assert [r.voter_id for r in roll] == ["A1", "A2"]
    assert roll[1] == cr.RollEntry("A2", b, "Pérez, José", "jose@example.mx")


@pytest.mark.parametrize(("body", "message"), [
    ("", "vacío"),
    ("voter_id,entity,name,email\n", "no tiene votantes"),
    ("voter_id,entity,name\nA1,{a},X,x@y.mx\n", "línea 1: falta la columna «email»"),
    ("voter_id,entity,name,email\nA1,{a},X\n", "línea 2: faltan campos"),
    ("voter_id,entity,name,email\nA1,{a},X,x@y.mx\nA2,ZZ-NADA,Y,y@y.mx\n", "línea 3: entidad desconocida"),
    ("voter_id,entity,name,email\nA1,{a},X,x@y.mx\nA1,{a},Y,y@y.mx\n",
     "línea 3: identificador de votante repetido 'A1' \\(ya en la línea 2;"),
    ("voter_id,entity,name,email\nA1,{a},X,x@y.mx\na1,{a},Y,y@y.mx\n",
     "línea 3: identificador de votante repetido 'a1' \\(ya en la línea 2; no se distinguen mayúsculas\\)"),
    ("voter_id,entity,name,email\nA1,{a},X,x@y.mx\nA2,{a},Y,X@Y.MX\n", "línea 3: correo repetido"),
    ("voter_id,entity,name,email\nA1,{a},X,no-es-correo\n", "línea 2: correo no válido"),
    ("voter_id,entity,name,email\n../x,{a},X,x@y.mx\n", "línea 2: identificador de votante no válido"),
    ("voter_id,entity,name,email\nA1,{a},=HYPERLINK(1),x@y.mx\n", "línea 2: el campo «name» no puede"),
    ("voter_id,entity,name,email\nA1,{a},,x@y.mx\n", "línea 2: el campo «name» está vacío"),
    ('voter_id,entity,name,email\nA1,{a},X,x@y.mx\nA2,{a},"Y,y@y.mx\n', "línea 3: CSV mal formado"),
])
def test_roll_errors(tmp_path: Path, manifest: Manifest, body: str, message: str) -> None:
    path = _write(tmp_path, body.format(a=_codes(manifest)[0]))
    with pytest.raises(CredentialError, match=message):
        read_roll(path, manifest)


def test_roll_bad_encoding_names_the_line(tmp_path: Path, manifest: Manifest) -> None:
    a = _codes(manifest)[0]
    head = f"voter_id,entity,name,email\nA1,{a},X,x@y.mx\nA2,{a},".encode()
    data = head + "Peña".encode("latin-1") + b",y@y.mx\n"
    with pytest.raises(CredentialError, match="línea 3: el archivo no está en UTF-8"):
        read_roll(_write(tmp_path, data), manifest)


def test_roll_missing_file(tmp_path: Path, manifest: Manifest) -> None:
    with pytest.raises(CredentialError, match="no se puede leer"):
        read_roll(tmp_path / "nada.csv", manifest)


def test_synthetic_roll_is_deterministic_and_spread(manifest: Manifest) -> None:
    n = 10 * len(manifest.entities) + 3
    roll = synthetic_roll(manifest, n, seed=7)
    assert roll == synthetic_roll(manifest, n, seed=7)
    assert roll != synthetic_roll(manifest, n, seed=8)
    per_entity = {code: sum(r.entity == code for r in roll) for code in _codes(manifest)}
    assert set(per_entity.values()) <= {10, 11}
    assert len({r.voter_id for r in roll}) == n and len({r.email for r in roll}) == n


# -- list: issue, write, read -------------------------------------------------------------------


def test_issue_write_read_round_trip(tmp_path: Path, manifest: Manifest, authority: SoftwareSigner,
                                     issued: cr.IssuedCredentials) -> None:
    lst = issued.credential_list
    assert len(lst) == 40
    keys = [e.public_key for e in lst.entries]
    assert keys == sorted(keys) and len(set(keys)) == 40
    assert lst.authority_key == authority.public_key
    assert lst.retains_credentials is True
    assert sum(lst.counts.values()) == 40
    assert set(lst.counts) == {s.id for s in manifest.ballot_styles}
    for d in issued.deliveries:
        pk = credential_public_key(manifest.election_id, d.credential)
        assert lst.style_of(pk) == manifest.style_for_entity(d.entity).id
        assert lst.styles[pk] == lst.style_of(pk)
    assert lst.style_of(bytes(32)) is None
    env = lst.envelope
    assert (env.type, env.ceremony_id, env.round, env.sender, env.previous) == (
        "credential-list", "credentials", 0, "credential-authority", manifest.hash)
    lst.write(tmp_path)
    lines = (tmp_path / "credentials.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"credential": keys[0].hex(), "style": lst.entries[0].ballot_style}
    again = CredentialList.read(tmp_path, manifest, authority_key=authority.public_key)
    assert again.hash == lst.hash
    assert again.entries == lst.entries
    assert check_credential_list(manifest, again.envelope, again.entries) == []


def test_entries_hash_matches_the_encoder_definition(issued: cr.IssuedCredentials) -> None:
    entries = issued.credential_list.entries
    enc = Encoder().u32(len(entries))
    for e in entries:
        enc.fixed(e.public_key, 32).string(e.ballot_style)
    expected = tagged_hash("sivei/credential-list", enc.to_bytes())
    assert cr.entries_hash(entries, len(entries)) == expected
    assert issued.credential_list.envelope.body["entries_hash"] == expected.hex()


def test_counts_follow_the_roll(manifest: Manifest, authority: SoftwareSigner) -> None:
    roll = synthetic_roll(manifest, 25, seed=3)
    lst = issue_credentials(manifest, roll, authority, retain=False).credential_list
    expected = {s.id: 0 for s in manifest.ballot_styles}
    for r in roll:
        expected[manifest.style_for_entity(r.entity).id] += 1
    assert lst.counts == expected
    assert lst.retains_credentials is False


def test_generate_then_sign_later(tmp_path: Path, manifest: Manifest, authority: SoftwareSigner) -> None:
    generated = generate_credentials(manifest, synthetic_roll(manifest, 12, seed=2), retain=True)
    generated.draft.write(tmp_path)
    draft = CredentialListDraft.read(tmp_path, manifest)
    assert draft.entries == generated.draft.entries
    lst = sign_credential_list(draft, authority)
    lst.write(tmp_path)
    assert CredentialList.read(tmp_path, manifest).hash == lst.hash


def test_draft_tamper_is_caught(tmp_path: Path, manifest: Manifest) -> None:
    generate_credentials(manifest, synthetic_roll(manifest, 6, seed=2), retain=True).draft.write(tmp_path)
    path = tmp_path / "credentials.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[1:]))
    with pytest.raises(CredentialError, match="count"):
        CredentialListDraft.read(tmp_path, manifest)


# -- list: every tamper is caught ---------------------------------------------------------------


def _published(tmp_path: Path, issued: cr.IssuedCredentials) -> Path:
    issued.credential_list.write(tmp_path)
    return tmp_path


def _lines(directory: Path) -> list[str]:
    return (directory / "credentials.jsonl").read_text().splitlines()


def _set_lines(directory: Path, lines: list[str]) -> None:
    (directory / "credentials.jsonl").write_text("".join(line + "\n" for line in lines))


def _problems(directory: Path, manifest: Manifest) -> list[str]:
    env, entries = load_credential_list_files(directory)
    return check_credential_list(manifest, env, entries)


def test_tamper_changed_style(tmp_path: Path, manifest: Manifest, issued: cr.IssuedCredentials) -> None:
    d = _published(tmp_path, issued)
    lines = _lines(d)
    obj = json.loads(lines[4])
    other = next(s.id for s in manifest.ballot_styles if s.id != obj["style"])
    obj["style"] = other
    lines[4] = json.dumps(obj)
    _set_lines(d, lines)
    problems = _problems(d, manifest)
    assert any("entries_hash" in p for p in problems)
    assert any(f"counts[{other!r}]" in p for p in problems)
    with pytest.raises(CredentialError):
        CredentialList.read(d, manifest)


def test_tamper_dropped_entry(tmp_path: Path, manifest: Manifest, issued: cr.IssuedCredentials) -> None:
    d = _published(tmp_path, issued)
    _set_lines(d, _lines(d)[:-1])
    problems = _problems(d, manifest)
    assert any("body.count: dice 40 credenciales y credentials.jsonl tiene 39" in p for p in problems)
    assert any("entries_hash" in p for p in problems)


def test_tamper_added_entry(tmp_path: Path, manifest: Manifest, issued: cr.IssuedCredentials) -> None:
    d = _published(tmp_path, issued)
    extra = credential_public_key(manifest.election_id, generate_credential())
    entry = CredentialEntry(extra, manifest.ballot_styles[0].id)
    entries = sorted([*issued.credential_list.entries, entry], key=lambda e: e.public_key)
    _set_lines(d, [json.dumps(e.to_json()) for e in entries])
    problems = _problems(d, manifest)
    assert any("tiene 41" in p for p in problems)
    assert any("entries_hash" in p for p in problems)


def test_tamper_duplicate(tmp_path: Path, manifest: Manifest, issued: cr.IssuedCredentials) -> None:
    d = _published(tmp_path, issued)
    lines = _lines(d)
    _set_lines(d, [*lines[:3], lines[2], *lines[3:]])
    problems = _problems(d, manifest)
    assert "credentials.jsonl, línea 4: credencial repetida (igual a la línea 3)" in problems


def test_tamper_unsorted(tmp_path: Path, manifest: Manifest, issued: cr.IssuedCredentials) -> None:
    d = _published(tmp_path, issued)
    lines = _lines(d)
    lines[5], lines[6] = lines[6], lines[5]
    _set_lines(d, lines)
    problems = _problems(d, manifest)
    assert any(p.startswith("credentials.jsonl, línea 7: fuera de orden") for p in problems)
    assert any("entries_hash" in p for p in problems)


def test_tamper_bad_signature(tmp_path: Path, manifest: Manifest, issued: cr.IssuedCredentials) -> None:
    d = _published(tmp_path, issued)
    obj = json.loads((d / "credential-list.json").read_text())
    obj["body"]["retains_credentials"] = False
    (d / "credential-list.json").write_text(json.dumps(obj))
    with pytest.raises(CredentialError, match="firma inválida"):
        CredentialList.read(d, manifest)


def test_tamper_resigned_by_another_key(tmp_path: Path, manifest: Manifest,
                                       issued: cr.IssuedCredentials, authority: SoftwareSigner) -> None:
    lst = issued.credential_list
    other = SoftwareSigner()
    draft = CredentialListDraft(manifest.election_id, manifest.hash, lst.entries, lst.counts, True)
    sign_credential_list(draft, other).write(tmp_path)
    assert CredentialList.read(tmp_path, manifest).authority_key == other.public_key
    with pytest.raises(CredentialError, match="no es la llave de la autoridad esperada"):
        CredentialList.read(tmp_path, manifest, authority_key=authority.public_key)


def test_tamper_wrong_manifest(tmp_path: Path, manifest: Manifest, issued: cr.IssuedCredentials,
                               authority: SoftwareSigner) -> None:
    d = _published(tmp_path, issued)
    body = dict(issued.credential_list.envelope.body)
    body["manifest_hash"] = bytes(32).hex()
    env = seal(authority, type="credential-list", election_id=manifest.election_id,
               ceremony_id="credentials", round=0, sender="credential-authority", previous=bytes(32),
               body=body)
    (d / "credential-list.json").write_text(json.dumps(env.to_json()))
    problems = _problems(d, manifest)
    assert any("«previous» no es el hash del manifiesto" in p for p in problems)
    assert any("manifest_hash: la lista es de otro manifiesto" in p for p in problems)


def test_tamper_other_election(tmp_path: Path, manifest: Manifest, issued: cr.IssuedCredentials,
                               authority: SoftwareSigner) -> None:
    env = issued.credential_list.envelope
    forged = seal(authority, type=env.type, election_id="otra", ceremony_id=env.ceremony_id,
                  round=env.round, sender=env.sender, previous=env.previous, body=env.body)
    problems = check_credential_list(manifest, forged, issued.credential_list.entries)
    expected = f"credential-list.json: «election_id» es 'otra', se esperaba {manifest.election_id!r}"
    assert problems == [expected]


def test_counts_must_be_integers(manifest: Manifest, authority: SoftwareSigner) -> None:
    one_each = issue_credentials(manifest, synthetic_roll(manifest, len(manifest.entities)), authority,
                                 retain=True).credential_list
    env = one_each.envelope
    body = dict(env.body)
    body["counts"] = {k: True for k in body["counts"]}
    forged = seal(authority, type=env.type, election_id=env.election_id, ceremony_id=env.ceremony_id,
                  round=env.round, sender=env.sender, previous=env.previous, body=body)
    problems = check_credential_list(manifest, forged, one_each.entries)
    assert len(problems) == len(manifest.ballot_styles)
    assert all("counts[" in p for p in problems)


def test_tamper_invalid_point(tmp_path: Path, manifest: Manifest, issued: cr.IssuedCredentials) -> None:
    d = _published(tmp_path, issued)
    lines = _lines(d)
    small_order = bytes(32)  # y = 0 encodes a point of order 4
    lines[0] = json.dumps({"credential": small_order.hex(), "style": json.loads(lines[0])["style"]})
    _set_lines(d, lines)
    problems = _problems(d, manifest)
    assert "credentials.jsonl, línea 1: «credential» no es un punto Ed25519 válido" in problems
    with pytest.raises(CredentialError, match="línea 1: «credential» no es un punto Ed25519 válido"):
        CredentialList.read(d, manifest)


def test_malformed_line_names_the_line(tmp_path: Path, manifest: Manifest,
                                       issued: cr.IssuedCredentials) -> None:
    d = _published(tmp_path, issued)
    lines = _lines(d)
    lines[2] = lines[2].replace('"style"', '"estilo"')
    _set_lines(d, lines)
    with pytest.raises(CredentialError, match=r"credentials\.jsonl, línea 3"):
        CredentialList.read(d, manifest)
    lines[2] = "{"
    _set_lines(d, lines)
    with pytest.raises(CredentialError, match="línea 3: JSON no válido"):
        CredentialList.read(d, manifest)


def test_unknown_style_is_named(manifest: Manifest, issued: cr.IssuedCredentials) -> None:
    entries = list(issued.credential_list.entries)
    entries[1] = CredentialEntry(entries[1].public_key, "ESTILO-FANTASMA")
    problems = check_credential_list(manifest, issued.credential_list.envelope, entries)
    assert "credentials.jsonl, línea 2: «style» 'ESTILO-FANTASMA' no existe en el manifiesto" in problems


def test_missing_files(tmp_path: Path, manifest: Manifest) -> None:
    with pytest.raises(CredentialError, match="no existe"):
        CredentialList.read(tmp_path, manifest)


def test_envelope_round_trips(issued: cr.IssuedCredentials) -> None:
    env = issued.credential_list.envelope
    assert Envelope.from_json(json.loads(json.dumps(env.to_json()))).content_hash == env.content_hash


# -- delivery -----------------------------------------------------------------------------------


SITE = "https://voto.ejemplo.mx"


def test_mail_merge_and_letters(tmp_path: Path, manifest: Manifest, issued: cr.IssuedCredentials) -> None:
    cr.write_deliveries(tmp_path, manifest, issued.deliveries, retained=True, site=SITE + "/")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "mail-merge.csv").read_text())))
    assert len(rows) == 40
    first = issued.deliveries[0]
    link = f"{SITE}/votar#credencial={cr.parse_credential(first.credential)}"
    assert rows[0] == {**first.to_json(), "link": link, "qr": f"qr/{first.voter_id}.png"}
    assert cr.credential_from_link(link) == cr.parse_credential(first.credential)
    png = tmp_path / rows[0]["qr"]
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_mode & 0o777 == 0o600
    d = issued.deliveries[3]
    text = (tmp_path / "cartas" / f"{d.voter_id}.txt").read_text()
    assert d.credential in text and d.name in text
    assert cr.voting_link(SITE, d.credential) in text and "no tiene que escribirla" in " ".join(text.split())
    assert f"Huella del manifiesto:  {fingerprint(manifest.hash)}" in text
    assert text.index("No la comparta") < text.index("Do not share it")
    assert "misma credencial" in " ".join(text.split())
    assert (tmp_path / "mail-merge.csv").stat().st_mode & 0o777 == 0o600
    forgotten = " ".join(cr.letter(manifest, d, retained=False, site=SITE).split())
    assert "no podrá recuperarse" in forgotten and "cannot be recovered" in forgotten


# -- escrow -------------------------------------------------------------------------------------


def test_escrow_redelivers_the_same_credential(tmp_path: Path, manifest: Manifest,
                                               issued: cr.IssuedCredentials) -> None:
    Escrow.create(tmp_path, manifest.election_id, issued.deliveries, "frase de paso", **FAST)
    target = issued.deliveries[7]
    again = redeliver(tmp_path, target.voter_id, "frase de paso", credential_list=issued.credential_list)
    assert again == target
    with pytest.raises(CredentialError, match="frase de paso incorrecta"):
        redeliver(tmp_path, target.voter_id, "otra frase")
    with pytest.raises(CredentialError, match="no está en la custodia"):
        redeliver(tmp_path, "NADIE", "frase de paso")
    assert target.credential not in (tmp_path / "escrow.jsonl").read_text()


def test_escrow_refuses_a_swapped_record(tmp_path: Path, manifest: Manifest,
                                         issued: cr.IssuedCredentials) -> None:
    Escrow.create(tmp_path, manifest.election_id, issued.deliveries[:2], "pw", **FAST)
    path = tmp_path / "escrow.jsonl"
    a, b = (json.loads(x) for x in path.read_text().splitlines())
    a["sealed"], b["sealed"] = b["sealed"], a["sealed"]
    path.write_text(json.dumps(a) + "\n" + json.dumps(b) + "\n")
    with pytest.raises(CredentialError, match="otro votante"):
        redeliver(tmp_path, a["voter_id"], "pw")


def test_escrow_checks_membership_in_the_list(tmp_path: Path, manifest: Manifest,
                                              issued: cr.IssuedCredentials,
                                              authority: SoftwareSigner) -> None:
    Escrow.create(tmp_path, manifest.election_id, issued.deliveries[:1], "pw", **FAST)
    other = issue_credentials(manifest, synthetic_roll(manifest, 2, seed=9), authority, retain=True)
    with pytest.raises(CredentialError, match="no está en la lista publicada"):
        redeliver(tmp_path, issued.deliveries[0].voter_id, "pw", credential_list=other.credential_list)


# -- authority key ------------------------------------------------------------------------------


def test_authority_key_file(tmp_path: Path) -> None:
    path = tmp_path / "autoridad.pem"
    signer = cr.create_authority_key(path, "secreto")
    assert path.stat().st_mode & 0o777 == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert cr.load_authority_key(path, "secreto").public_key == signer.public_key
    with pytest.raises(CredentialError, match="frase de paso incorrecta"):
        cr.load_authority_key(path, "otro")
    with pytest.raises(CredentialError, match="ya existe"):
        cr.create_authority_key(path, "secreto")
    assert re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){3}", cr.authority_fingerprint(signer.public_key))
