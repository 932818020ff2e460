"""Damaged stores: every damage must be found by `verify` and must stop `apply` before any ref.

The store has three links. Bundles get bytes flipped and are cut short; manifests are edited.
After each damage, `verify_path` must report a problem naming the damaged file, and `apply_store`
must raise a DevkitError into both a fresh target and a target that holds link 1, leaving every
ref (and HEAD, and the applied-link record) of the target as it was.
"""

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from devkit.bundle.apply import apply_store
from devkit.bundle.bundlefile import BundleFormatError, read_header_file, scan_bundle
from devkit.bundle.snapshot import create_store, update_store
from devkit.bundle.verify import verify_path
from devkit.errors import DevkitError
from tests.bundle.gitrepos import SourceRepo, assert_same_repository, git, ref_listing

# ---------------------------------------------------------------------------------------------
# A small store of three links, built once and copied for each test


def build_store(root: Path) -> dict[str, str]:
    src = SourceRepo(root / "src")
    c1 = src.commit("one", files={"a.txt": "alpha\n"})
    src.commit("two", files={"b.txt": "beta\n"})
    src.git("branch", "other", c1)
    src.git("tag", "-a", "-m", "first", "v1", c1)
    create_store(src.path, root / "store")
    apply_store(root / "store", root / "at-link-1")
    src.commit("three", files={"a.txt": "alpha, again\n"})
    src.git("branch", "side", c1)
    update_store(src.path, root / "store")
    src.commit("four", files={"c.txt": "gamma\n"})
    update_store(src.path, root / "store")
    return {"c1": c1}


_templates: dict[str, tuple[Path, dict[str, str]]] = {}


@dataclass
class Damage:
    """A copy of the three-link store and of a target at link 1, to damage."""

    root: Path
    commits: dict[str, str]
    fresh_count: int = 0

    def fresh_target(self) -> Path:
        """A path for a target that does not exist yet."""
        self.fresh_count += 1
        return self.root / f"fresh-{self.fresh_count}"

    @property
    def src(self) -> Path:
        return self.root / "src"

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def at_link_1(self) -> Path:
        return self.root / "at-link-1"

    def bundle(self, sequence: int) -> Path:
        return self.store / f"link-{sequence:04d}.bundle"

    def manifest(self, sequence: int) -> Path:
        return self.store / f"link-{sequence:04d}.json"


@pytest.fixture
def damage(tmp_path, tmp_path_factory) -> Damage:
    key = str(tmp_path_factory.getbasetemp())
    if key not in _templates:
        root = tmp_path_factory.mktemp("store-template")
        _templates[key] = (root, build_store(root))
    template, commits = _templates[key]
    for name in ("src", "store", "at-link-1"):
        shutil.copytree(template / name, tmp_path / name, symlinks=True)
    return Damage(tmp_path, dict(commits))


def target_state(target: Path) -> tuple[str, str, str] | None:
    """Refs, HEAD and config (with the applied-link record) of a bare target, or None."""
    if not target.exists():
        return None
    return ref_listing(target), (target / "HEAD").read_text(), (target / "config").read_text()


def assert_apply_fails_harmlessly(damage: Damage, label: str, fresh_too: bool = True) -> None:
    """apply raises a DevkitError; the fresh target gets no ref, the link-1 target keeps its own."""
    if fresh_too:
        fresh = damage.fresh_target()
        with pytest.raises(DevkitError):
            apply_store(damage.store, fresh)
        state = target_state(fresh)
        assert state is None or state[0] == "", f"{label}: refs appeared in a fresh target"
    before = target_state(damage.at_link_1)
    with pytest.raises(DevkitError):
        apply_store(damage.store, damage.at_link_1)
    assert target_state(damage.at_link_1) == before, f"{label}: the link-1 target changed"


def assert_store_verify_fails(damage: Damage, bad_file: Path, label: str) -> None:
    report = verify_path(damage.store)
    assert not report.ok, f"{label}: verify found nothing"
    assert str(bad_file) in {problem.path for problem in report.problems}, (
        f"{label}: problems name {[p.path for p in report.problems]}, not {bad_file}")


def pack_offset(bundle: Path) -> int:
    data = bundle.read_bytes()
    return data.index(b"\n\nPACK") + 2


def sample_positions(bundle: Path) -> list[int]:
    """About sixty positions: header, the pack header, the pack body, and the trailer."""
    size = bundle.stat().st_size
    start = pack_offset(bundle)
    header = [*range(0, start, max(1, start // 20)), 15, 16, start - 2, start - 1]
    pack_header = list(range(start, start + 12))
    body = list(range(start + 12, size - 20, max(1, (size - 32 - start) // 20)))
    trailer = [size - 20, size - 10, size - 1]
    return sorted(set(header + pack_header + body + trailer))


def test_store_is_sound_before_damage(damage):
    assert verify_path(damage.store).ok
    for sequence in (1, 2, 3):
        assert verify_path(damage.bundle(sequence)).ok
    apply_store(damage.store, damage.at_link_1)
    assert_same_repository(damage.src, damage.at_link_1)


# ---------------------------------------------------------------------------------------------
# Flipped bytes


@pytest.mark.parametrize("sequence", [1, 2, 3])
def test_verify_finds_a_flipped_byte_anywhere(damage, sequence):
    """Every byte of the link, flipped: the store check and the check of the file alone fail.

    The store check compares with the manifest, so even the mildest flip (a hex digit into
    another) is found. On its own a file can only be checked against the bundle format, which a
    hex digit turned into another hex digit in the header does not break: it gets 0xFF flips.
    """
    bundle = damage.bundle(sequence)
    original = bundle.read_bytes()
    for position in range(len(original)):
        data = bytearray(original)
        data[position] ^= 0x01
        bundle.write_bytes(bytes(data))
        assert_store_verify_fails(damage, bundle, f"byte {position} ^ 0x01")
        data[position] ^= 0x01 ^ 0xFF
        bundle.write_bytes(bytes(data))
        report = verify_path(bundle)
        assert not report.ok, f"byte {position}: verify of the file alone found nothing"
        assert [problem.path for problem in report.problems] == [str(bundle)]
    bundle.write_bytes(original)
    assert verify_path(damage.store).ok


def test_apply_refuses_a_flipped_byte(damage):
    bundle = damage.bundle(2)
    original = bundle.read_bytes()
    positions = sample_positions(bundle)
    assert len(positions) >= 50
    # Verify above checks every position; apply (into real targets) takes every other one,
    # and a fresh target (which first takes in link 1) every sixth.
    for index, position in enumerate(positions[::2]):
        data = bytearray(original)
        data[position] ^= 0xFF
        bundle.write_bytes(bytes(data))
        assert_apply_fails_harmlessly(damage, f"link 2 byte {position}", fresh_too=index % 3 == 0)
    bundle.write_bytes(original)
    apply_store(damage.store, damage.at_link_1)
    assert_same_repository(damage.src, damage.at_link_1)


def test_dry_run_checks_the_bundles_too(damage):
    """--dry-run tells the truth: a plan that the real run would refuse is refused."""
    bundle = damage.bundle(2)
    data = bytearray(bundle.read_bytes())
    data[-30] ^= 0xFF
    bundle.write_bytes(bytes(data))
    before = target_state(damage.at_link_1)
    with pytest.raises(DevkitError, match="does not match"):
        apply_store(damage.store, damage.at_link_1, dry_run=True)
    with pytest.raises(DevkitError):
        apply_store(damage.store, damage.fresh_target(), dry_run=True)
    assert target_state(damage.at_link_1) == before


def test_verify_of_one_link_file_checks_its_manifest(damage):
    """A bundle file in a store is checked against its manifest, not only against itself."""
    bundle = damage.bundle(2)
    offset = pack_offset(bundle)
    data = bundle.read_bytes()
    header, pack = data[:offset], data[offset:]
    prerequisite = header.index(b"\n-") + 2
    digit = b"0" if header[prerequisite:prerequisite + 1] != b"0" else b"1"
    bundle.write_bytes(header[:prerequisite] + digit + header[prerequisite + 1:] + pack)
    assert scan_bundle(bundle)  # still a well-formed bundle on its own
    report = verify_path(bundle)
    assert not report.ok
    assert [problem.path for problem in report.problems] == [str(bundle)]


def test_apply_into_fresh_target_refuses_a_flipped_byte_in_link_1(damage):
    bundle = damage.bundle(1)
    original = bundle.read_bytes()
    for position in sample_positions(bundle)[::4]:
        data = bytearray(original)
        data[position] ^= 0x01
        bundle.write_bytes(bytes(data))
        fresh = damage.fresh_target()
        with pytest.raises(DevkitError):
            apply_store(damage.store, fresh)
        state = target_state(fresh)
        assert state is None or state[0] == "", f"byte {position}: refs in a fresh target"


# ---------------------------------------------------------------------------------------------
# Truncated files


def truncation_lengths(bundle: Path) -> dict[str, int]:
    size = bundle.stat().st_size
    start = pack_offset(bundle)
    return {"empty": 0, "in signature": 5, "after signature": 16, "in header": start // 2,
            "before blank line": start - 1, "right after header": start,
            "in pack header": start + 6, "after pack header": start + 12,
            "in pack": (start + size) // 2, "in trailer": size - 10, "last byte cut": size - 1}


@pytest.mark.parametrize("sequence", [2, 3])
def test_truncated_bundle_is_found_and_refused(damage, sequence):
    bundle = damage.bundle(sequence)
    original = bundle.read_bytes()
    for label, length in truncation_lengths(bundle).items():
        bundle.write_bytes(original[:length])
        assert_store_verify_fails(damage, bundle, label)
        report = verify_path(bundle)
        assert not report.ok and report.problems[0].path == str(bundle), label
        with pytest.raises(BundleFormatError):
            scan_bundle(bundle)
        assert_apply_fails_harmlessly(damage, f"link {sequence} cut to {label}")


def test_extra_bytes_after_the_pack_are_found(damage):
    bundle = damage.bundle(3)
    bundle.write_bytes(bundle.read_bytes() + b"\0")
    assert_store_verify_fails(damage, bundle, "appended byte")
    assert not verify_path(bundle).ok
    assert_apply_fails_harmlessly(damage, "appended byte")


# ---------------------------------------------------------------------------------------------
# Edited manifests


def manifest_text(document: dict) -> bytes:
    """A manifest written the way devkit writes them (so an unchanged document is unchanged)."""
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode()


def edit_manifest(damage: Damage, sequence: int, edit: Callable[[dict], None]) -> None:
    path = damage.manifest(sequence)
    document = json.loads(path.read_bytes())
    assert manifest_text(document) == path.read_bytes(), "the test must not reformat manifests"
    edit(document)
    path.write_bytes(manifest_text(document))


def change_hex(value: str) -> str:
    return ("1" if value[0] == "0" else "0") + value[1:]


def set_bundle_field(name: str, change: Callable) -> Callable[[dict], None]:
    def edit(document: dict) -> None:
        document["bundle"][name] = change(document["bundle"][name])
    return edit


def set_field(name: str, value) -> Callable[[dict], None]:
    def edit(document: dict) -> None:
        document[name] = value
    return edit


def header_ref_to_old_commit(document: dict) -> None:
    # refs/heads/main moved in link 2, so link 2's header carries it: point it elsewhere.
    document["refs"]["refs/heads/main"] = document["prerequisites"][0]


MANIFEST_EDITS = {
    "sha256 changed": (set_bundle_field("sha256", change_hex), "SHA-256"),
    "size changed": (set_bundle_field("size", lambda size: size + 1), "size"),
    "pack checksum changed": (set_bundle_field("pack_checksum", change_hex), "pack checksum"),
    "object count changed": (set_bundle_field("objects", lambda n: n + 1), "object count"),
    "header ref edited": (header_ref_to_old_commit, "header ref"),
    "invalid JSON": (None, "JSON"),
    "unknown version": (set_field("version", 2), "version"),
    "other identity": (set_field("identity", "00000000-0000-4000-8000-000000000000"),
                       "another repository"),
    "sequence changed": (set_field("sequence", 3), "link 3"),
    "bundle outside the store": (set_bundle_field("file", lambda _: "../x.bundle"),
                                 "bundle file name"),
    "bundle in a subfolder": (set_bundle_field("file", lambda _: "sub/link-0002.bundle"),
                              "bundle file name"),
    "short object id": (lambda doc: doc["refs"].update({"refs/heads/main": "abc123"}),
                        "object id"),
    "prerequisite not an id": (set_field("prerequisites", ["HEAD"]), "object id"),
}


@pytest.mark.parametrize("name", list(MANIFEST_EDITS))
def test_edited_manifest_is_found_and_refused(damage, name):
    edit, message = MANIFEST_EDITS[name]
    if name == "bundle outside the store":
        shutil.copy(damage.bundle(2), damage.store.parent / "x.bundle")
    if edit is None:
        damage.manifest(2).write_bytes(damage.manifest(2).read_bytes()[:-40])
    else:
        edit_manifest(damage, 2, edit)

    report = verify_path(damage.store)
    assert not report.ok
    damaged = {str(damage.manifest(2)), str(damage.bundle(2))}
    assert any(problem.path in damaged and message in problem.message
               for problem in report.problems), report.problems
    assert_apply_fails_harmlessly(damage, name)


def test_deleted_manifest_in_the_middle_is_a_missing_link(damage):
    damage.manifest(2).unlink()
    report = verify_path(damage.store)
    assert not report.ok
    assert any("link 2 is missing" in problem.message for problem in report.problems)
    assert_apply_fails_harmlessly(damage, "manifest 2 deleted")


def test_deleted_bundle_is_found_and_refused(damage):
    damage.bundle(2).unlink()
    assert_store_verify_fails(damage, damage.bundle(2), "bundle 2 deleted")
    assert_apply_fails_harmlessly(damage, "bundle 2 deleted")


def test_edited_manifest_breaks_the_hash_chain(damage):
    """A harmless-looking edit of link 2 (its date) is seen through link 3's manifest."""
    edit_manifest(damage, 2, set_field("created", "2020-01-01T00:00:00Z"))
    report = verify_path(damage.store)
    assert [problem.path for problem in report.problems] == [str(damage.manifest(3))]
    assert "link 2" in report.problems[0].message


def test_edited_ref_of_the_newest_link_is_found(damage):
    """The newest manifest says where a ref points even when its bundle does not carry it.

    `other` did not move in link 3, so link 3's header does not name it. Pointing it at another
    existing commit in link 3's manifest must still be noticed: the bundle header and the
    previous link say where an unchanged ref is.
    """
    c1 = damage.commits["c1"]
    head_commit = git(damage.src, "rev-parse", "main").strip()
    edit_manifest(damage, 3, lambda doc: doc["refs"].update({"refs/heads/other": head_commit}))
    assert git(damage.src, "rev-parse", "other").strip() == c1

    report = verify_path(damage.store)
    assert not report.ok, "verify accepts a manifest whose ref value was edited"
    assert_apply_fails_harmlessly(damage, "edited ref of the newest link")


INVALID_NAMES = ["refs/heads/a..b", "refs/heads/x.lock", "refs/heads/../../config",
                 "refs/heads/sp ace", "refs/heads/ctl\x01", "refs/heads/a/", "HEAD", "main",
                 # Valid for git, but update-ref would write them as files in the git folder.
                 "objects/info/alternates", "info/exclude", "heads/nowhere"]


@pytest.mark.parametrize("where", ["refs", "peeled", "head"])
@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_ref_name_in_manifest_is_rejected(damage, where, name):
    def edit(document: dict) -> None:
        if where == "refs":
            document["refs"][name] = document["refs"]["refs/heads/main"]
        elif where == "peeled":
            document["peeled"][name] = None
        else:
            document["head"] = {"symref": name}

    edit_manifest(damage, 3, edit)
    report = verify_path(damage.store)
    assert not report.ok
    assert any("invalid ref name" in problem.message and problem.path == str(damage.manifest(3))
               for problem in report.problems), report.problems
    assert_apply_fails_harmlessly(damage, f"{name!r} in {where}")


# ---------------------------------------------------------------------------------------------
# Bundle headers


@pytest.mark.parametrize("bad_name", [b"refs/heads/a..b", b"refs/heads/../x", b"refs/heads/a b",
                                      b"refs/heads/\xff\xfe", b"main",
                                      b"objects/info/alternates"])
def test_invalid_ref_name_in_bundle_header(damage, bad_name):
    bundle = damage.bundle(1)
    data = bundle.read_bytes()
    assert b" refs/heads/main\n" in data[:pack_offset(bundle)]
    bundle.write_bytes(data.replace(b" refs/heads/main\n", b" " + bad_name + b"\n", 1))
    with pytest.raises(BundleFormatError) as error:
        scan_bundle(bundle)
    assert str(bundle) in str(error.value)
    with pytest.raises(BundleFormatError):
        read_header_file(bundle)
    assert not verify_path(bundle).ok
    fresh = damage.fresh_target()
    with pytest.raises(DevkitError):
        apply_store(damage.store, fresh)
    assert target_state(fresh) is None or target_state(fresh)[0] == ""


def test_bundles_written_by_git_are_accepted(damage):
    """The parser agrees with git: a v2 bundle with prerequisites, made by git itself."""
    bundle = damage.root / "git.bundle"
    git(damage.src, "bundle", "create", "-q", str(bundle), "main~1..main", "other")
    scan = scan_bundle(bundle)
    listed = git(damage.src, "bundle", "list-heads", str(bundle)).split()
    assert [item for oid, name in scan.header.refs for item in (oid, name)] == listed
    assert scan.header.version == 2
    assert scan.header.prerequisites == [git(damage.src, "rev-parse", "main~1").strip()]
    assert scan.size == bundle.stat().st_size


def make_sha256_bundle(tmp_path: Path) -> Path:
    src_path = tmp_path / "sha256"
    git(tmp_path, "init", "-q", "--object-format=sha256", "-b", "main", str(src_path))
    src = SourceRepo.__new__(SourceRepo)
    src.path, src.counter = src_path, 0
    src.commit("one")
    src.git("tag", "-a", "-m", "tagged", "v1")
    src.commit("two")
    bundle = tmp_path / "sha256.bundle"
    src.git("bundle", "create", "-q", str(bundle), "--all")
    return bundle


def test_v3_bundle_is_parsed(tmp_path):
    bundle = make_sha256_bundle(tmp_path)
    assert bundle.read_bytes().startswith(b"# v3 git bundle\n@object-format=sha256\n")
    scan = scan_bundle(bundle)
    assert scan.header.version == 3
    assert scan.header.object_format == "sha256"
    listed = git(tmp_path / "sha256", "bundle", "list-heads", str(bundle)).split()
    assert [item for oid, name in scan.header.refs for item in (oid, name)] == listed
    assert all(len(oid) == 64 for oid, _ in scan.header.refs)
    assert len(scan.pack_checksum) == 64
    assert bundle.read_bytes().endswith(bytes.fromhex(scan.pack_checksum))
    assert verify_path(bundle).ok


def test_v3_bundle_with_a_flipped_byte_fails(tmp_path):
    bundle = make_sha256_bundle(tmp_path)
    original = bundle.read_bytes()
    for position in range(len(original)):
        data = bytearray(original)
        data[position] ^= 0xFF
        bundle.write_bytes(bytes(data))
        with pytest.raises(BundleFormatError):
            scan_bundle(bundle)
