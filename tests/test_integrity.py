"""The software-integrity constancia (``sivei integridad``) and the offline bundle's checks.

Changes are made on copies in temporary trees, built through the same functions as the real
installation's constancia; the real installation is only read."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from importlib.metadata import PathDistribution
from pathlib import Path
from typing import Any

import pytest

import sivei
from sivei.cli.main import main
from sivei.crypto.fingerprint import fingerprint
from sivei.errors import EncodingError, SiveiError
from sivei.i18n import set_language
from sivei.integrity import (
    LOCK_NAME,
    SUMS_NAME,
    FileHash,
    IntegrityConstancia,
    _instructions,
    build_bundle,
    build_constancia,
    compare,
    compare_metadata,
    find_lock_file,
    installation_constancia,
    parse_sums,
    registered_static_dirs,
    resolve_dotted_dir,
    sha3_file,
    verify_bundle,
    write_sums,
)

SIVEI_DIR = Path(sivei.__file__).parent
FINGERPRINT = re.compile(r"[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){3}")


@pytest.fixture(autouse=True)
def spanish() -> Any:
    yield
    set_language("es")


@pytest.fixture(scope="module")
def real() -> IntegrityConstancia:
    return build_constancia()


# -- the real installation ------------------------------------------------------------------------


def test_real_constancia_is_deterministic(real: IntegrityConstancia) -> None:
    again = installation_constancia()
    assert again == real and again.digest == real.digest and again.to_json() == real.to_json()
    assert FINGERPRINT.fullmatch(real.fingerprint) and real.fingerprint == fingerprint(real.digest)


def test_real_constancia_covers_the_package_and_the_lock(real: IntegrityConstancia) -> None:
    by_path = {f.path: f for f in real.files}
    assert real.mode in ("record", "source-tree") and dict(real.packages)["sivei"] == real.mode
    for rel in ("sivei/__init__.py", "sivei/integrity.py", "sivei/crypto/encoding.py", "sivei/cli/main.py"):
        assert by_path[rel].kind == "package"
        assert by_path[rel].sha3_256 == hashlib.sha3_256((SIVEI_DIR.parent / rel).read_bytes()).hexdigest()
    assert not any("__pycache__" in f.path or f.path.endswith(".pyc") for f in real.files)
    assert not any(f.path.endswith(("dist-info/RECORD", "direct_url.json")) for f in real.files)
    lock = find_lock_file([SIVEI_DIR])
    assert lock is not None and real.lock_file == LOCK_NAME
    assert by_path[LOCK_NAME].kind == "lock"
    assert by_path[LOCK_NAME].sha3_256 == hashlib.sha3_256(lock.read_bytes()).hexdigest()
    assert real.package_version == sivei.__version__


def test_digest_is_sha3_of_the_canonical_file_list(real: IntegrityConstancia) -> None:
    """What an auditor can recompute independently, e.g. ``jq -cjS .files C.json | openssl dgst -sha3-256``."""
    listing = json.dumps(real.to_json()["files"], sort_keys=True, separators=(",", ":")).encode()
    assert real.digest == hashlib.sha3_256(listing).digest()
    assert real.to_json()["digest"] == real.digest.hex()


# -- temporary trees: changes are detected ---------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    pkg = tmp_path / "site" / "sivei"
    shutil.copytree(SIVEI_DIR, pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    static = tmp_path / "static"
    (static / "js").mkdir(parents=True)
    (static / "index.html").write_text("<!doctype html><title>cabina</title>\n")
    (static / "js" / "booth.js").write_text("'use strict';\n")
    lock = tmp_path / LOCK_NAME
    lock.write_text("cryptography==50.0.2 --hash=sha256:" + "ab" * 32 + "\n")
    return {"pkg": pkg, "static": static, "lock": lock}


def tree_constancia(t: dict[str, Path], **kw: Any) -> IntegrityConstancia:
    args: dict[str, Any] = {"packages": {"sivei": t["pkg"]}, "distributions": [],
                            "static_dirs": {"cabina": t["static"]}, "lock_file": t["lock"]}
    args.update(kw)
    return build_constancia(**args)


def test_tree_constancia_lists_every_file(tree: dict[str, Path]) -> None:
    c = tree_constancia(tree)
    assert c.mode == "source-tree" and c.static_dirs == ("cabina",) and c.lock_file == LOCK_NAME
    keys = {f.key for f in c.files}
    assert {("static", "cabina/index.html"), ("static", "cabina/js/booth.js"), ("lock", LOCK_NAME),
            ("package", "sivei/integrity.py")} <= keys
    n_source = sum(1 for p in tree["pkg"].rglob("*") if p.is_file())
    assert sum(1 for f in c.files if f.kind == "package") == n_source
    assert tree_constancia(tree) == c


def test_changed_added_removed_files_are_detected(tree: dict[str, Path]) -> None:
    before = tree_constancia(tree)
    with (tree["pkg"] / "crypto" / "encoding.py").open("a") as f:
        f.write("\n# backdoor\n")
    (tree["pkg"] / "crypto" / "extra.py").write_text("x = 1\n")
    (tree["pkg"] / "problems.py").unlink()
    (tree["static"] / "js" / "booth.js").write_text("'use strict'; steal();\n")
    (tree["pkg"] / "__pycache__").mkdir()
    (tree["pkg"] / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"ignored")
    after = tree_constancia(tree)
    assert after.digest != before.digest and after.fingerprint != before.fingerprint
    diff = compare(before, after)
    assert len(diff) == 4
    assert diff[0].startswith("modificado (package): sivei/crypto/encoding.py")
    assert "añadido (package): sivei/crypto/extra.py" in diff
    assert "eliminado (package): sivei/problems.py" in diff
    assert any(d.startswith("modificado (static): cabina/js/booth.js") for d in diff)
    assert compare(before, before) == [] and compare_metadata(before, after) == []
    set_language("en")
    assert "removed (package): sivei/problems.py" in compare(before, after)


def test_lock_file_changed_or_absent(tree: dict[str, Path]) -> None:
    before = tree_constancia(tree)
    tree["lock"].write_text("cryptography==0.1\n")
    old_lock = next(f.sha3_256 for f in before.files if f.kind == "lock")
    assert compare(before, tree_constancia(tree)) == [
        f"modificado (lock): {LOCK_NAME}  {old_lock[:16]}… → {sha3_file(tree['lock'])[:16]}…"]
    absent = tree_constancia(tree, lock_file=None, search_lock=False)
    assert absent.lock_file is None and IntegrityConstancia.from_json(absent.to_json()).lock_file is None
    assert compare(before, absent) == [f"eliminado (lock): {LOCK_NAME}"]
    with pytest.raises(SiveiError, match="no existe el archivo de bloqueo"):
        tree_constancia(tree, lock_file=tree["lock"].with_name("nope.lock"))


def test_record_mode_from_a_distribution(tmp_path: Path) -> None:
    """A wheel-installed distribution: every RECORD file, except bytecode and the installer's own
    RECORD and direct_url.json; the launcher hashed with its interpreter line normalised."""
    site = tmp_path / "venv" / "site"
    pkg = site / "sivei"
    (pkg / "__pycache__").mkdir(parents=True)
    (pkg / "__init__.py").write_text("__version__ = '9.9'\n")
    (pkg / "a.py").write_text("A = 1\n")
    (pkg / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    info = site / "sivei-9.9.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sivei\nVersion: 9.9\n")
    (info / "INSTALLER").write_text("pip\n")
    (info / "direct_url.json").write_text('{"url": "file:///somewhere/on/this/host.whl"}')
    (tmp_path / "venv" / "bin").mkdir()
    launcher = tmp_path / "venv" / "bin" / "sivei"
    launcher.write_text("#!/host/a/bin/python\nfrom sivei.cli.main import main\nmain()\n")
    (info / "RECORD").write_text("\n".join([
        "sivei/__init__.py,,", "sivei/a.py,,", "sivei/__pycache__/a.cpython-311.pyc,,",
        "sivei-9.9.dist-info/METADATA,,", "sivei-9.9.dist-info/INSTALLER,,",
        "sivei-9.9.dist-info/direct_url.json,,", "sivei-9.9.dist-info/RECORD,,", "../bin/sivei,,"]) + "\n")
    dist = PathDistribution(info)
    other = tmp_path / "elsewhere" / "sivei_server"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("")

    c = build_constancia(packages={"sivei": pkg}, distributions=[dist], static_dirs={}, search_lock=False,
                         package_version="9.9")
    assert c.mode == "record" and c.lock_file is None
    assert [f.key for f in c.files] == [
        ("launcher", "../bin/sivei"), ("package", "sivei-9.9.dist-info/INSTALLER"),
        ("package", "sivei-9.9.dist-info/METADATA"), ("package", "sivei/__init__.py"), ("package", "sivei/a.py")]
    normalised = hashlib.sha3_256(b"#!python\nfrom sivei.cli.main import main\nmain()\n").hexdigest()
    assert c.files[0].sha3_256 == normalised
    launcher.write_text("#!/other/host/bin/python3\nfrom sivei.cli.main import main\nmain()\n")
    assert build_constancia(packages={"sivei": pkg}, distributions=[dist], static_dirs={}, search_lock=False,
                            package_version="9.9") == c
    launcher.write_text("#!/host/a/bin/python\nimport evil\n")
    changed = build_constancia(packages={"sivei": pkg}, distributions=[dist], static_dirs={}, search_lock=False,
                               package_version="9.9")
    assert compare(c, changed)[0].startswith("modificado (launcher): ../bin/sivei")

    # A package imported from a directory the RECORD does not list is walked: mode "mixed".
    mixed = build_constancia(packages={"sivei": pkg, "sivei_server": other}, distributions=[dist],
                             static_dirs={}, search_lock=False, package_version="9.9")
    assert mixed.mode == "mixed" and dict(mixed.packages) == {"sivei": "record", "sivei_server": "source-tree"}
    assert ("package", "sivei_server/__init__.py") in {f.key for f in mixed.files}
    assert IntegrityConstancia.from_json(mixed.to_json()) == mixed
    assert compare_metadata(c, mixed) == ["modo: record → mixed"]

    (pkg / "a.py").unlink()
    with pytest.raises(SiveiError, match=r"a\.py"):
        build_constancia(packages={"sivei": pkg}, distributions=[dist], static_dirs={}, search_lock=False)


def test_static_directory_registration() -> None:
    assert resolve_dotted_dir("sivei.crypto", "ep") == SIVEI_DIR / "crypto"
    assert resolve_dotted_dir("sivei:data", "ep") == SIVEI_DIR / "data"
    with pytest.raises(SiveiError, match="no está instalado"):
        resolve_dotted_dir("sivei_no_such_package.static", "ep")
    with pytest.raises(SiveiError, match="valor no válido"):
        resolve_dotted_dir("sivei/static", "ep")


def test_static_directory_from_an_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A distribution (the server, later) registers its static directory in ``sivei.static``;
    the library finds it without importing the distribution's code."""
    info = tmp_path / "sivei_fake_server-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sivei-fake-server\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[sivei.static]\nfalso = sivei.data\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    # The real server registers its own directory too; this test looks at its fake one only.
    assert registered_static_dirs()["falso"] == SIVEI_DIR / "data"
    c = build_constancia()
    assert "falso" in c.static_dirs
    assert ("static", "falso/sample-manifest.json") in {f.key for f in c.files}


def test_missing_static_directory_is_an_error(tree: dict[str, Path]) -> None:
    with pytest.raises(SiveiError, match="no existe el directorio"):
        tree_constancia(tree, static_dirs={"cabina": tree["static"] / "nope"})
    with pytest.raises(EncodingError, match="directorio estático"):
        tree_constancia(tree, static_dirs={"a/b": tree["static"]})


# -- strict JSON ------------------------------------------------------------------------------------


def test_json_round_trip(tree: dict[str, Path]) -> None:
    c = tree_constancia(tree)
    obj = c.to_json()
    assert set(obj) == {"schema", "package", "package_version", "python_version", "mode", "packages",
                        "static_dirs", "lock_file", "files", "digest"}
    assert obj["schema"] == "sivei-integridad/1" and obj["package"] == "sivei"
    assert IntegrityConstancia.from_json(obj) == c
    assert IntegrityConstancia.from_json(json.loads(json.dumps(obj))).to_json() == obj
    assert IntegrityConstancia.loads(c.dumps()) == c
    assert json.loads(c.canonical_bytes()) == obj


def _tamper(obj: dict[str, Any], how: str) -> dict[str, Any]:
    o = json.loads(json.dumps(obj))
    files = o["files"]
    if how == "extra field":
        o["signed_by"] = "x"
    elif how == "missing field":
        del o["python_version"]
    elif how == "schema":
        o["schema"] = "sivei-integridad/2"
    elif how == "uppercase hex":
        files[0]["sha3_256"] = files[0]["sha3_256"].upper()
    elif how == "short hash":
        files[0]["sha3_256"] = files[0]["sha3_256"][:-2]
    elif how == "unsorted":
        files[0], files[1] = files[1], files[0]
    elif how == "duplicate":
        files.insert(0, dict(files[0]))
    elif how == "unknown kind":
        files[-1]["kind"] = "binary"
    elif how == "parent path":
        files[-1]["path"] = "sivei/../../etc/passwd"
    elif how == "absolute path":
        files[-1]["path"] = "/etc/passwd"
    elif how == "file extra key":
        files[0]["size"] = 1
    elif how == "digest":
        o["digest"] = "00" * 32
    elif how == "file changed":
        files[-1]["sha3_256"] = "00" * 32
    elif how == "mode":
        o["mode"] = "record"
    elif how == "lock inconsistent":
        o["lock_file"] = None
    elif how == "static undeclared":
        o["static_dirs"] = []
    elif how == "packages":
        o["packages"] = {}
    elif how == "version type":
        o["package_version"] = 1
    elif how == "files type":
        o["files"] = {}
    return o


TAMPERINGS = ["extra field", "missing field", "schema", "uppercase hex", "short hash", "unsorted", "duplicate",
              "unknown kind", "parent path", "absolute path", "file extra key", "digest", "file changed", "mode",
              "lock inconsistent", "static undeclared", "packages", "version type", "files type"]


@pytest.mark.parametrize("how", TAMPERINGS)
def test_malformed_json_rejected(tree: dict[str, Path], how: str) -> None:
    obj = tree_constancia(tree).to_json()
    with pytest.raises(EncodingError):
        IntegrityConstancia.from_json(_tamper(obj, how))


@pytest.mark.parametrize("text", ["", "{", "[]", "null", '"x"', "\xff"])
def test_unparsable_json_rejected(text: str) -> None:
    with pytest.raises(EncodingError):
        IntegrityConstancia.loads(text.encode("latin-1"))


def test_file_hash_checks() -> None:
    h = "ab" * 32
    FileHash("launcher", "../../../bin/sivei", h)
    for kind, path in [("package", "../x.py"), ("launcher", "../a/../b"), ("package", "a//b"),
                       ("package", "./a"), ("package", "a\nb"), ("package", "a\\b"), ("static", "")]:
        with pytest.raises(EncodingError):
            FileHash(kind, path, h)


# -- the command ----------------------------------------------------------------------------------


def test_cli_prints_the_constancia_and_fingerprint(real: IntegrityConstancia, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out_json = tmp_path / "c.json"
    assert main(["integridad", "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert f"Huella para leer en voz alta: {real.fingerprint}" in out
    assert "CONSTANCIA DE INTEGRIDAD" in out and "sivei/integrity.py" in out and real.digest.hex() in out
    assert IntegrityConstancia.load(out_json) == real
    assert main(["--english", "integrity", "--brief"]) == 0
    out = capsys.readouterr().out
    assert f"Fingerprint to read aloud: {real.fingerprint}" in out and "sivei/integrity.py" not in out
    assert main(["integridad", "--json", "-"]) == 0
    assert IntegrityConstancia.loads(capsys.readouterr().out) == real


def test_cli_static_and_lock_options(tree: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out_json = tree["lock"].parent / "c.json"
    assert main(["integridad", "--estatico", f"espejo={tree['static']}", "--bloqueo", str(tree["lock"]),
                 "--json", str(out_json)]) == 0
    c = IntegrityConstancia.load(out_json)
    assert "espejo" in c.static_dirs and ("static", "espejo/js/booth.js") in {f.key for f in c.files}
    assert "cabina" in c.static_dirs  # the server's booth, registered through its entry point
    assert [f.sha3_256 for f in c.files if f.kind == "lock"] == [sha3_file(tree["lock"])]
    capsys.readouterr()
    assert main(["integridad", "--bloqueo", "/nonexistent/requirements.lock"]) == 2
    err = capsys.readouterr().err
    assert "no existe el archivo de bloqueo" in err and "Traceback" not in err


def test_cli_compare(tree: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b, bad = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "bad.json"
    a.write_text(tree_constancia(tree).dumps())
    assert main(["integridad", "comparar", str(a), str(a)]) == 0
    assert "coinciden" in capsys.readouterr().out
    (tree["pkg"] / "crypto" / "group.py").write_text("# replaced\n")
    b.write_text(tree_constancia(tree, python_version="3.12.1").dumps())
    assert main(["integridad", "comparar", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "modificado (package): sivei/crypto/group.py" in out and "NO son iguales" in out
    assert "nota: versión de Python" in out
    assert main(["--english", "integrity", "compare", str(a), str(b)]) == 1
    assert "changed (package): sivei/crypto/group.py" in capsys.readouterr().out
    data = json.loads(a.read_text())
    data["files"] = data["files"][1:]
    bad.write_text(json.dumps(data))
    for args in ([str(a), str(bad)], [str(a), str(tmp_path / "missing.json")]):
        assert main(["integridad", "comparar", *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and "Traceback" not in err


def test_cli_json_to_missing_directory_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["integridad", "--json", str(tmp_path / "no" / "c.json")]) == 2
    assert "no existe el directorio" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# -- the offline bundle's sums --------------------------------------------------------------------


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    d = tmp_path / "bundle"
    d.mkdir()
    (d / "demo-1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04 not really a wheel")
    (d / LOCK_NAME).write_text("demo==1.0 --hash=sha256:" + "cd" * 32 + "\n")
    write_sums(d)
    return d


def test_bundle_sums_format(bundle: Path) -> None:
    text = (bundle / SUMS_NAME).read_text()
    whl = hashlib.sha3_256((bundle / "demo-1.0-py3-none-any.whl").read_bytes()).hexdigest()
    assert text.splitlines() == [f"{whl}  demo-1.0-py3-none-any.whl",
                                 f"{sha3_file(bundle / LOCK_NAME)}  {LOCK_NAME}"]
    assert parse_sums(text) == ({"demo-1.0-py3-none-any.whl": whl, LOCK_NAME: sha3_file(bundle / LOCK_NAME)}, [])
    assert verify_bundle(bundle) == []


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_bundle_sums_match_openssl(bundle: Path) -> None:
    for line in (bundle / SUMS_NAME).read_text().splitlines():
        digest, name = line.split("  ")
        out = subprocess.run(["openssl", "dgst", "-sha3-256", str(bundle / name)], capture_output=True,
                             text=True, check=True).stdout
        assert out.strip().endswith(digest)


def test_changed_extra_and_missing_bundle_files(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["integridad", "verificar-paquete", str(bundle)]) == 0
    out = capsys.readouterr().out
    assert "Huella del paquete para leer en voz alta:" in out and FINGERPRINT.search(out)
    (bundle / "demo-1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04 a different wheel")
    assert verify_bundle(bundle) == ["demo-1.0-py3-none-any.whl: el SHA3-256 no coincide (archivo modificado)"]
    assert main(["integridad", "verificar-paquete", str(bundle)]) == 1
    assert "NO es íntegro" in capsys.readouterr().out
    (bundle / "evil-2.0-py3-none-any.whl").write_bytes(b"x")
    (bundle / LOCK_NAME).unlink()
    problems = verify_bundle(bundle)
    assert len(problems) == 3
    assert f"falta {LOCK_NAME}" in problems
    assert any(p.startswith("evil-2.0-py3-none-any.whl: no está") for p in problems)
    assert main(["--english", "integrity", "check-bundle", str(bundle)]) == 1
    assert "NOT intact" in capsys.readouterr().out


def test_malformed_sums(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sums = bundle / SUMS_NAME
    good = sums.read_text()
    for bad in [good.replace("  ", " ", 1), good.upper(), good + good.splitlines()[0] + "\n",
                good + "ab" * 32 + "  ../escape\n", ""]:
        sums.write_text(bad)
        assert verify_bundle(bundle), bad
    sums.unlink()
    assert main(["integridad", "verificar-paquete", str(bundle)]) == 2
    err = capsys.readouterr().err
    assert "no es un paquete de SIVEI" in err and "Traceback" not in err
    assert main(["integridad", "verificar-paquete", str(bundle / "nope")]) == 2


def test_bundle_refuses_bad_destination_and_leaves_nothing(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    assert main(["integridad", "paquete", str(full)]) == 2
    assert "no está vacío" in capsys.readouterr().err and [p.name for p in full.iterdir()] == ["keep.txt"]
    with pytest.raises(SiveiError, match="no existe el directorio"):
        build_bundle(tmp_path / "no" / "bundle")
    with pytest.raises(SiveiError, match="no existe el archivo de bloqueo"):
        build_bundle(tmp_path / "b", lock_file=tmp_path / "missing.lock")
    with pytest.raises(SiveiError, match=r"pyproject\.toml"):
        build_bundle(tmp_path / "b", project=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]


def test_install_instructions_give_the_exact_offline_commands() -> None:
    text = _instructions("0.1.0", "sivei-0.1.0-py3-none-any.whl", "commit abc")
    assert text.index("ESPAÑOL") < text.index("ENGLISH")
    for command in ["python3 -m venv /opt/sivei",
                    "pip install --no-index --find-links . --require-hashes -r requirements.lock",
                    "pip install --no-index --no-deps sivei-0.1.0-py3-none-any.whl",
                    f"sha3sum -a 256 -c {SUMS_NAME}", "openssl dgst -sha3-256",
                    "sivei integridad verificar-paquete", "sivei integrity check-bundle",
                    "sivei integridad comparar constancia-esperada.json"]:
        assert command in text
