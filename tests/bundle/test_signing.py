"""Signed manifests: `--sign-key` on create/update/compact, `--allowed-signers` on verify/apply.

Everything runs the real ssh-keygen with ed25519 keys made in the test. A chain signed by
alice verifies and applies and names her; a store signed by a key not allowed, a manifest or
bundle altered after signing, a missing signature and a signature made for another namespace
are all refused before anything changes in a target. A kill at any crash point of a signed
create, update or compact leaves a store that verifies with its signatures, and the rerun
completes.
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from devkit.bundle.apply import apply_store
from devkit.bundle.compact import compact_store
from devkit.bundle.publish import publish_store
from devkit.bundle.signing import (
    NAMESPACE,
    ManifestSigner,
    SignatureError,
    SigningError,
    open_signer,
)
from devkit.bundle.snapshot import create_store, update_store
from devkit.bundle.store import BundleStore
from devkit.bundle.verify import LinkFileError, verify_path
from tests.bundle.gitrepos import SourceRepo, assert_same_repository, head_of, ref_listing
from tests.bundle.test_cli import assert_one_line_error, invoke, run
from tests.bundle.test_crash import leftovers, reset_to, store_files, sweep
from tests.conftest import require_tool

INSTALL = "apt-get install openssh-client (or run scripts/setup)"


def ssh_keygen(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    process = subprocess.run(["ssh-keygen", *args], input=input, capture_output=True,
                             stdin=None if input is not None else subprocess.DEVNULL,
                             check=False)
    assert process.returncode == 0, process.stderr.decode(errors="replace")
    return process


def make_key(path: Path, passphrase: str = "") -> Path:
    ssh_keygen("-q", "-t", "ed25519", "-N", passphrase, "-C", path.name, "-f", str(path))
    return path


def public_key(key: Path) -> str:
    """'ssh-ed25519 AAAA…' of a key made by `make_key`."""
    return " ".join(Path(f"{key}.pub").read_text().split()[:2])


@dataclass
class Keys:
    alice: Path
    mallory: Path
    allowed: Path  # alice@example.org, for the devkit-bundle namespace only

    def signer(self, key: Path | None = None) -> ManifestSigner:
        return open_signer(key or self.alice)


@pytest.fixture
def keys(tmp_path) -> Keys:
    require_tool("ssh-keygen", INSTALL)
    folder = tmp_path / "keys"
    folder.mkdir()
    alice, mallory = make_key(folder / "alice"), make_key(folder / "mallory")
    allowed = folder / "allowed_signers"
    allowed.write_text(f'alice@example.org namespaces="{NAMESPACE}" {public_key(alice)}\n')
    return Keys(alice, mallory, allowed)


def change(repo: SourceRepo, step: int) -> None:
    """Change the source in the `step`-th way (new commits, refs old and new, deletions)."""
    [
        lambda: repo.commit(),
        lambda: repo.git("tag", "-a", "-m", "release", "v1"),
        lambda: repo.git("branch", "topic", "HEAD~1"),
        lambda: repo.git("tag", "-d", "v1"),
    ][step % 4]()
    repo.commit()


def grow(repo: SourceRepo, store: Path, steps: range, signer: ManifestSigner | None) -> None:
    for step in steps:
        change(repo, step)
        assert update_store(repo.path, store, signer=signer).link is not None


@pytest.fixture
def chain(tmp_path, keys):
    """A source and a store of 4 links, all signed by alice."""
    repo = SourceRepo(tmp_path / "src")
    repo.commit()
    repo.commit()
    store = tmp_path / "store"
    create_store(repo.path, store, signer=keys.signer())
    grow(repo, store, range(3), keys.signer())
    return repo, store


def sig(store: Path, manifest: str) -> Path:
    return store / f"{manifest}.sig"


def target_snapshot(target: Path) -> tuple:
    """Everything `apply` could change in a target: refs, HEAD, record, object files."""
    objects = sorted(str(path.relative_to(target)) for path in (target / "objects").rglob("*"))
    return ref_listing(target), head_of(target), (target / "config").read_text(), objects


def problems(report) -> list[tuple[str, str]]:
    return [(Path(problem.path).name, problem.message) for problem in report.problems]


# ---------------------------------------------------------------------------------------------
# Signing and checking


def test_a_signed_chain_verifies_names_its_signer_and_applies(chain, keys, tmp_path):
    repo, store = chain
    signed = BundleStore(store).links()
    assert len(signed) == 4
    for link in signed:
        manifest = store / link.manifest_file
        # A standard SSH signature of the manifest's exact bytes: ssh-keygen alone accepts it.
        out = ssh_keygen("-Y", "verify", "-f", str(keys.allowed), "-I", "alice@example.org",
                         "-n", NAMESPACE, "-s", str(sig(store, link.manifest_file)),
                         input=manifest.read_bytes())
        assert b"Good" in out.stdout

    report = verify_path(store, allowed_signers=keys.allowed)
    assert report.ok, report.problems
    assert report.signers == {str(store / link.manifest_file): "alice@example.org"
                              for link in signed}

    target = tmp_path / "target.git"
    plan = apply_store(store, target, allowed_signers=keys.allowed)
    assert [link.sequence for link in plan.links] == [1, 2, 3, 4]
    assert_same_repository(repo.path, target)

    # The chain goes on, compacted, and an existing target follows it with signatures checked.
    grow(repo, store, range(3, 6), keys.signer())
    result = compact_store(store, keep=2, signer=keys.signer())
    assert result.base.sequence == 6
    assert sorted(path.name for path in store.glob("link-*")) == [
        "link-0006-base.bundle", "link-0006-base.json", "link-0006-base.json.sig",
        "link-0007.bundle", "link-0007.json", "link-0007.json.sig"]  # no superseded .sig
    assert verify_path(store, allowed_signers=keys.allowed).ok
    assert [link.sequence for link in
            apply_store(store, target, allowed_signers=keys.allowed).links] == [6, 7]
    assert_same_repository(repo.path, target)
    fresh = tmp_path / "fresh.git"
    apply_store(store, fresh, allowed_signers=keys.allowed)
    assert_same_repository(repo.path, fresh)


def test_verify_cli_names_the_signer(chain, keys):
    _, store = chain
    text = invoke("bundle", "verify", str(store), "--allowed-signers", str(keys.allowed)).stdout
    assert "4 manifest(s) signed by alice@example.org" in text
    data = json.loads(invoke("bundle", "verify", str(store), "--allowed-signers",
                             str(keys.allowed), "--json").stdout)
    assert data["ok"] is True
    assert data["signed_by"] == {str(store / f"link-{n:04d}.json"): "alice@example.org"
                                 for n in range(1, 5)}
    assert json.loads(invoke("bundle", "verify", str(store), "--json").stdout)[
        "signed_by"] is None  # not asked: not checked
    bundle = store / "link-0002.bundle"
    assert "signed by alice@example.org" in invoke(
        "bundle", "verify", str(bundle), "--allowed-signers", str(keys.allowed)).stdout


@pytest.mark.parametrize("line", [
    "alice@example.org {key}",                                     # no options
    'bob@example.org namespaces="git" {other}\nalice@example.org {key}',  # a second person
    "carol@example.org,alice@example.org {key}",                   # a list of principals
])
def test_allowed_signers_lines(chain, keys, line):
    _, store = chain
    keys.allowed.write_text(line.format(key=public_key(keys.alice),
                                        other=public_key(keys.mallory)) + "\n")
    report = verify_path(store, allowed_signers=keys.allowed)
    assert report.ok, report.problems
    assert len(set(report.signers.values())) == 1


def test_a_key_allowed_only_for_another_namespace_is_refused(chain, keys):
    _, store = chain
    keys.allowed.write_text(f'alice@example.org namespaces="git" {public_key(keys.alice)}\n')
    report = verify_path(store, allowed_signers=keys.allowed)
    assert len(report.problems) == 4
    assert f"does not allow the key of alice@example.org for {NAMESPACE}" in \
        report.problems[0].message


def test_a_single_bundle_outside_a_store_has_no_signature_to_check(chain, keys, tmp_path):
    _, store = chain
    loose = tmp_path / "loose.bundle"
    shutil.copy(store / "link-0001.bundle", loose)
    assert verify_path(loose).ok
    report = verify_path(loose, allowed_signers=keys.allowed)
    assert problems(report) == [("loose.bundle", "no manifest of a store describes it, so no "
                                                 "signature covers it")]


# ---------------------------------------------------------------------------------------------
# What is refused


def test_a_store_signed_by_a_key_not_allowed_is_refused_and_the_target_untouched(
        tmp_path, keys):
    repo = SourceRepo(tmp_path / "src")
    repo.commit()
    store = tmp_path / "store"
    create_store(repo.path, store, signer=keys.signer())
    target = tmp_path / "target.git"
    apply_store(store, target, allowed_signers=keys.allowed)
    grow(repo, store, range(2), keys.signer(keys.mallory))  # links 2 and 3 by mallory

    report = verify_path(store, allowed_signers=keys.allowed)
    fingerprint = ssh_keygen("-l", "-f", str(keys.mallory)).stdout.decode().split()[1]
    assert problems(report) == [
        (f"link-000{n}.json", f"signed by a key not in {keys.allowed} (ED25519 key "
                              f"{fingerprint})") for n in (2, 3)]

    before = target_snapshot(target)
    with pytest.raises(SignatureError, match=r"link-0003\.json: signed by a key not in"):
        apply_store(store, target, allowed_signers=keys.allowed)
    with pytest.raises(SignatureError):
        apply_store(store, target, allowed_signers=keys.allowed, force=True)  # no override
    assert target_snapshot(target) == before
    fresh = tmp_path / "fresh.git"
    with pytest.raises(SignatureError):
        apply_store(store, fresh, allowed_signers=keys.allowed)
    assert not fresh.exists()

    assert_one_line_error(run("bundle", "apply", str(store), "--repo", str(target),
                              "--allowed-signers", str(keys.allowed)),
                          "link-0003.json", "signed by a key not in", fingerprint)
    assert target_snapshot(target) == before
    # Without --allowed-signers nothing is checked: the store is a valid store.
    apply_store(store, target)
    assert_same_repository(repo.path, target)


@pytest.mark.parametrize("edit", ["field", "reserialised"])
def test_a_manifest_altered_after_signing_is_refused(chain, keys, tmp_path, edit):
    repo, store = chain
    target = tmp_path / "target.git"
    apply_store(store, target)
    change(repo, 0)
    update_store(repo.path, store, signer=keys.signer())  # link 5, which the edit alters
    manifest = store / "link-0005.json"
    if edit == "field":
        data = manifest.read_bytes().replace(b'"created": "', b'"created": "1', 1)
    else:  # the same JSON, written differently
        data = json.dumps(json.loads(manifest.read_bytes())).encode()
    assert data != manifest.read_bytes()
    manifest.write_bytes(data)
    assert verify_path(store).ok  # still a well-formed store: only the signature tells

    report = verify_path(store, allowed_signers=keys.allowed)
    assert [name for name, _ in problems(report)] == ["link-0005.json"]
    assert "does not match link-0005.json.sig: the manifest was altered after signing" in \
        report.problems[0].message
    before = target_snapshot(target)
    with pytest.raises(SignatureError, match="altered after signing"):
        apply_store(store, target, allowed_signers=keys.allowed)
    assert target_snapshot(target) == before
    with pytest.raises(SignatureError, match="altered after signing"):
        apply_store(store, tmp_path / "fresh.git", allowed_signers=keys.allowed)
    assert not (tmp_path / "fresh.git").exists()


def rewrite_pack_byte(bundle: Path) -> None:
    """Change one byte inside the pack and fix its trailing checksum: a bundle that is sound on
    its own, and differs from the one its manifest describes."""
    data = bytearray(bundle.read_bytes())
    start = data.index(b"\n\nPACK") + 2
    data[(start + len(data)) // 2] ^= 0x01
    data[-20:] = hashlib.sha1(data[start:-20]).digest()
    bundle.write_bytes(bytes(data))


def test_a_bundle_altered_after_signing_is_refused(chain, keys, tmp_path):
    _, store = chain
    target = tmp_path / "target.git"
    apply_store(store, target)
    for name, alter in [("link-0001.bundle", rewrite_pack_byte),
                        ("link-0004.bundle", rewrite_pack_byte)]:
        bundle = store / name
        original = bundle.read_bytes()
        alter(bundle)
        report = verify_path(store, allowed_signers=keys.allowed)
        assert [(file, message.split(" (")[0]) for file, message in problems(report)] == [
            (name, "SHA-256 does not match its manifest")]
        with pytest.raises(LinkFileError, match=f"{name}: SHA-256 does not match its manifest"):
            apply_store(store, tmp_path / "fresh.git", allowed_signers=keys.allowed)
        assert not (tmp_path / "fresh.git").exists()
        bundle.write_bytes(original)
    assert verify_path(store, allowed_signers=keys.allowed).ok


def test_a_missing_signature_is_refused(chain, keys, tmp_path):
    _, store = chain
    target = tmp_path / "target.git"
    apply_store(store, target, allowed_signers=keys.allowed)
    sig(store, "link-0004.json").unlink()
    report = verify_path(store, allowed_signers=keys.allowed)
    assert problems(report) == [("link-0004.json", "not signed (no link-0004.json.sig beside it)")]
    # Even an apply that has nothing to do relies on the newest manifest.
    with pytest.raises(SignatureError, match=r"link-0004\.json: not signed"):
        apply_store(store, target, allowed_signers=keys.allowed)
    assert apply_store(store, target).up_to_date


def test_a_signature_made_for_another_namespace_is_refused(chain, keys, tmp_path):
    _, store = chain
    manifest = store / "link-0003.json"
    other = ssh_keygen("-Y", "sign", "-f", str(keys.alice), "-n", "other",
                       input=manifest.read_bytes()).stdout
    sig(store, manifest.name).write_bytes(other)
    report = verify_path(store, allowed_signers=keys.allowed)
    assert problems(report) == [
        ("link-0003.json", f"link-0003.json.sig was made for another purpose than {NAMESPACE} "
                           f"(its namespace differs)")]
    with pytest.raises(SignatureError, match="another purpose"):
        apply_store(store, tmp_path / "fresh.git", allowed_signers=keys.allowed)
    assert not (tmp_path / "fresh.git").exists()


def test_a_garbage_signature_is_refused(chain, keys):
    _, store = chain
    sig(store, "link-0002.json").write_text("not a signature\n")
    report = verify_path(store, allowed_signers=keys.allowed)
    assert [name for name, _ in problems(report)] == ["link-0002.json"]
    assert "link-0002.json.sig is not a readable signature" in report.problems[0].message


# ---------------------------------------------------------------------------------------------
# Keeping a chain signed


def test_an_unsigned_update_or_compact_of_a_signed_store_is_refused(chain, keys):
    repo, store = chain
    change(repo, 0)
    before = store_files(store)
    with pytest.raises(SigningError, match=r"link 4 of .* is signed \(link-0004.json.sig\); "
                                           r"pass --sign-key KEY"):
        update_store(repo.path, store)
    with pytest.raises(SigningError, match="--sign-key"):
        compact_store(store, keep=2)
    assert store_files(store) == before  # not even a bundle written
    assert leftovers(store) == []
    assert compact_store(store, keep=4).base is None  # nothing to write, nothing to sign
    assert_one_line_error(run("bundle", "update", "--repo", str(repo.path), str(store)),
                          "is signed", "--sign-key")
    update_store(repo.path, store, signer=keys.signer())
    assert verify_path(store, allowed_signers=keys.allowed).ok


def test_an_unsigned_store_is_signed_from_some_link_on(tmp_path, keys):
    repo = SourceRepo(tmp_path / "src")
    repo.commit()
    store = tmp_path / "store"
    create_store(repo.path, store)
    grow(repo, store, range(2), None)
    grow(repo, store, range(2, 4), keys.signer())  # links 4 and 5 signed
    report = verify_path(store, allowed_signers=keys.allowed)
    assert [name for name, _ in problems(report)] == ["link-0001.json", "link-0002.json",
                                                      "link-0003.json"]
    # A signed compaction folds the unsigned links into a signed base.
    compact_store(store, keep=2, signer=keys.signer())
    report = verify_path(store, allowed_signers=keys.allowed)
    assert report.ok, report.problems
    assert sorted(Path(path).name for path in report.signers) == ["link-0004-base.json",
                                                                  "link-0005.json"]
    apply_store(store, tmp_path / "fresh.git", allowed_signers=keys.allowed)
    assert_same_repository(repo.path, tmp_path / "fresh.git")


def test_a_signature_left_by_an_interrupted_create_is_replaced(tmp_path, keys):
    repo = SourceRepo(tmp_path / "src")
    repo.commit()
    store = tmp_path / "store"
    store.mkdir()
    (store / "link-0001.json.sig").write_text("left by a killed signed create\n")
    create_store(repo.path, store)  # unsigned this time: the stale signature goes
    assert sorted(path.name for path in store.glob("link-*")) == ["link-0001.bundle",
                                                                  "link-0001.json"]
    shutil.rmtree(store)
    store.mkdir()
    (store / "link-0001.json.sig").write_text("left by a killed signed create\n")
    create_store(repo.path, store, signer=keys.signer())
    assert verify_path(store, allowed_signers=keys.allowed).ok


def test_a_published_copy_of_a_signed_store_verifies(chain, keys, tmp_path):
    _, store = chain
    out = tmp_path / "www"
    publish_store(store, "https://example.org/project", out)
    report = verify_path(out, allowed_signers=keys.allowed)
    assert report.ok, report.problems
    assert len(report.signers) == 4


# ---------------------------------------------------------------------------------------------
# Keys: bad ones, passphrases and ssh-agent


def test_cli_errors_are_one_line(tmp_path, keys):
    repo = SourceRepo(tmp_path / "src")
    repo.commit()
    store = tmp_path / "store"
    missing_key = tmp_path / "no-such-key"
    assert_one_line_error(run("bundle", "create", "--repo", str(repo.path), str(store),
                              "--sign-key", str(missing_key)),
                          f"signing key {missing_key} does not exist")
    assert not store.exists()
    not_a_key = tmp_path / "not-a-key"
    not_a_key.write_text("hello\n")
    assert_one_line_error(run("bundle", "create", "--repo", str(repo.path), str(store),
                              "--sign-key", str(not_a_key)), f"{not_a_key} is not an SSH key")
    assert not store.exists()

    invoke("bundle", "create", "--repo", str(repo.path), str(store), "-q",
           "--sign-key", str(keys.alice))
    assert sig(store, "link-0001.json").exists()
    repo.commit()
    assert_one_line_error(run("bundle", "update", "--repo", str(repo.path), str(store),
                              "--sign-key", str(missing_key)), "does not exist")
    assert_one_line_error(run("bundle", "compact", str(store), "--keep", "1",
                              "--sign-key", str(missing_key)), "does not exist")
    assert not (store / "link-0002.json").exists()
    invoke("bundle", "update", "--repo", str(repo.path), str(store), "-q",
           "--sign-key", str(keys.alice))

    missing_allowed = tmp_path / "no-allowed-signers"
    target = tmp_path / "target.git"
    for args in (("verify", str(store)), ("apply", str(store), "--repo", str(target))):
        assert_one_line_error(run("bundle", *args, "--allowed-signers", str(missing_allowed)),
                              str(missing_allowed), "allowed-signers file does not exist")
    assert not target.exists()
    assert "signed by alice@example.org" in invoke(
        "bundle", "verify", str(store), "--allowed-signers", str(keys.allowed)).stdout
    invoke("bundle", "apply", str(store), "--repo", str(target), "-q",
           "--allowed-signers", str(keys.allowed))
    assert_same_repository(repo.path, target)


def test_a_public_key_alone_fails_before_anything_is_written(tmp_path, keys, monkeypatch):
    """`ssh-keygen -l` reads a .pub alone: the key must sign once before create or compact."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)  # no agent holds the private key
    only = tmp_path / "only.pub"
    shutil.copy(f"{keys.alice}.pub", only)
    repo = SourceRepo(tmp_path / "src")
    repo.commit()
    store = tmp_path / "store"
    assert_one_line_error(run("bundle", "create", "--repo", str(repo.path), str(store),
                              "--sign-key", str(only)), f"cannot sign with {only}")
    assert not store.exists()

    create_store(repo.path, store)
    grow(repo, store, range(2), None)
    before = store_files(store)
    assert_one_line_error(run("bundle", "compact", str(store), "--keep", "1",
                              "--sign-key", str(only)), f"cannot sign with {only}")
    assert store_files(store) == before and leftovers(store) == []


def test_help_names_the_signing_options():
    for command, option in [("create", "--sign-key"), ("update", "--sign-key"),
                            ("compact", "--sign-key"), ("verify", "--allowed-signers"),
                            ("apply", "--allowed-signers")]:
        text = " ".join(invoke("bundle", command, "--help").stdout.split())
        assert option in text, command
    assert "ssh-agent" in " ".join(invoke("bundle", "update", "--help").stdout.split())


@pytest.fixture
def agent(tmp_path, monkeypatch):
    """A private ssh-agent for the test, stopped (by its pid) afterwards."""
    require_tool("ssh-agent", INSTALL)
    require_tool("ssh-add", INSTALL)
    socket = tmp_path / "agent.sock"
    process = subprocess.run(["ssh-agent", "-s", "-a", str(socket)], capture_output=True,
                             text=True, check=True)
    pid = int(process.stdout.split("SSH_AGENT_PID=")[1].split(";")[0])
    monkeypatch.setenv("SSH_AUTH_SOCK", str(socket))
    yield socket
    os.kill(pid, signal.SIGTERM)


def test_a_key_with_a_passphrase_needs_the_agent(tmp_path, keys, agent, monkeypatch):
    locked = make_key(tmp_path / "keys" / "locked", passphrase="correct horse")
    keys.allowed.write_text(f"alice@example.org {public_key(locked)}\n")
    repo = SourceRepo(tmp_path / "src")
    repo.commit()
    store = tmp_path / "store"
    with pytest.raises(SigningError, match=r"protected by a passphrase.*ssh-add"):
        create_store(repo.path, store, signer=open_signer(locked))
    assert not (store / "link-0001.json").exists()  # the bundle alone: a leftover

    askpass = tmp_path / "askpass"
    askpass.write_text("#!/bin/sh\necho 'correct horse'\n")
    askpass.chmod(0o755)
    subprocess.run(["ssh-add", str(locked)], env={**os.environ, "SSH_ASKPASS": str(askpass),
                                                  "SSH_ASKPASS_REQUIRE": "force"},
                   stdin=subprocess.DEVNULL, capture_output=True, check=True)
    create_store(repo.path, store, signer=open_signer(Path(f"{locked}.pub")))
    repo.commit()
    update_store(repo.path, store, signer=open_signer(locked))
    report = verify_path(store, allowed_signers=keys.allowed)
    assert report.ok, report.problems
    assert len(report.signers) == 2


# ---------------------------------------------------------------------------------------------
# Crash safety


@pytest.mark.slow
@pytest.mark.parametrize("command", ["create", "update", "compact"])
def test_a_signed_write_killed_at_any_point_leaves_a_signed_store(tmp_path, keys, command):
    """The signature is written before the manifest: every visible link is signed."""
    repo = SourceRepo(tmp_path / "src")
    repo.commit()
    repo.commit()
    start, store = tmp_path / "start", tmp_path / "store"
    if command != "create":
        create_store(repo.path, start, signer=keys.signer())
        grow(repo, start, range(2 if command == "compact" else 1), keys.signer())
    if command == "update":
        change(repo, 2)  # for it to write link 3
    args = {"create": ("create", "--repo", str(repo.path), str(store)),
            "update": ("update", "--repo", str(repo.path), str(store)),
            "compact": ("compact", str(store), "--keep", "1")}[command]
    links = {"create": 1, "update": 3, "compact": 1}[command]

    signature_only = []  # kills that left a signature without its manifest

    def after_kill(n: int) -> None:
        if BundleStore(store).manifest_paths():
            report = verify_path(store, allowed_signers=keys.allowed)
            assert report.ok, (n, report.problems)
        if any(not path.with_suffix("").exists() for path in store.glob("*.sig")):
            signature_only.append(n)

    def completed() -> None:
        report = verify_path(store, allowed_signers=keys.allowed)
        assert report.ok, report.problems
        assert len(BundleStore(store).links()) == links
        assert leftovers(store) == []
        assert sorted(path.name for path in store.glob("*.sig")) == sorted(
            f"{Path(path).name}.sig" for path in report.signers)  # no signature left over

    points = sweep((*args, "--sign-key", str(keys.alice)), reset_to(start, store), after_kill,
                   completed)
    assert points >= 9  # the bundle's, the signature's and the manifest's atomic writes
    assert len(signature_only) >= 1  # after the signature's rename, before the manifest's
    apply_store(store, tmp_path / "fresh.git", allowed_signers=keys.allowed)
    assert_same_repository(repo.path, tmp_path / "fresh.git")

