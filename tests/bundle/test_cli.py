"""`devkit bundle …` from the outside: help, JSON output, quiet mode, and clean errors.

Happy paths run in-process with click's CliRunner; errors and locks run `python -m devkit` in a
subprocess, the way a user meets them: exit status 1, one line on stderr, no traceback.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from devkit.bundle.store import BundleStore
from devkit.bundle.target import LOCK_FILE
from devkit.cli import cli
from devkit.filesafety import exclusive_lock
from tests.bundle.gitrepos import SourceRepo, assert_same_repository, git, head_of, ref_listing

PROJECT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    """`python -m devkit ARGS` in a subprocess, with this checkout on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "devkit", *args], capture_output=True,
                          text=True, env=env, timeout=60, check=False)


def invoke(*args: str, ok: bool = True):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def assert_one_line_error(process: subprocess.CompletedProcess, *fragments: str) -> str:
    assert process.returncode == 1, (process.returncode, process.stderr)
    assert "Traceback" not in process.stderr, process.stderr
    lines = process.stderr.splitlines()
    assert len(lines) == 1, process.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def refs(repo: Path) -> dict[str, str]:
    return {name: oid for oid, _, name in
            (line.split() for line in ref_listing(repo).splitlines())}


@pytest.fixture
def src(tmp_path) -> SourceRepo:
    repo = SourceRepo(tmp_path / "src")
    c1 = repo.commit("one", files={"a.txt": "alpha\n"})
    repo.commit("two", files={"b.txt": "beta\n"})
    repo.git("branch", "other", c1)
    repo.git("tag", "-a", "-m", "first", "v1", c1)
    return repo


# ---------------------------------------------------------------------------------------------
# Help

PURPOSES = {
    "create": "new store",
    "update": "next link",
    "verify": "offline",
    "apply": "newest state",
    "list": "chain",
    "heads": "refs in one bundle",
    "compact": "self-contained base",
}


@pytest.mark.parametrize("command", list(PURPOSES))
def test_help_of_every_subcommand(command):
    result = invoke("bundle", command, "--help")
    text = " ".join(result.stdout.split())
    assert f"bundle {command}" in text
    assert PURPOSES[command] in text
    assert "--json" in text


def test_help_of_the_groups():
    assert "bundle" in invoke("--help").stdout
    text = invoke("bundle", "--help").stdout
    for command in PURPOSES:
        assert command in text


# ---------------------------------------------------------------------------------------------
# Happy path with --json


def test_create_update_list_heads_verify_apply_json(src, tmp_path):
    store = tmp_path / "store"
    first_refs = refs(src.path)

    created = json.loads(invoke("bundle", "create", "--repo", str(src.path), str(store),
                                "--json").stdout)
    assert created["written"] is True
    bundle1 = Path(created["link"]["file"])
    assert bundle1 == store / "link-0001.bundle"
    assert created["link"]["sequence"] == 1
    assert created["link"]["size"] == bundle1.stat().st_size
    assert created["link"]["sha256"] == hashlib.sha256(bundle1.read_bytes()).hexdigest()
    assert created["changes"]["added"] == first_refs
    assert created["changes"]["moved"] == {} and created["changes"]["removed"] == {}

    # Change the source: main moves, `other` goes, `late` is new on an old commit.
    old_main = src.rev("main")
    new_main = src.commit("three", files={"c.txt": "gamma\n"})
    src.git("branch", "-D", "other")
    src.git("branch", "late", src.rev("v1^{commit}"))
    updated = json.loads(invoke("bundle", "update", "--repo", str(src.path), str(store),
                                "--json").stdout)
    assert updated["written"] is True and updated["link"]["sequence"] == 2
    assert updated["changes"]["added"] == {"refs/heads/late": src.rev("late")}
    assert updated["changes"]["moved"] == {"refs/heads/main": {"from": old_main, "to": new_main}}
    assert list(updated["changes"]["removed"]) == ["refs/heads/other"]
    assert updated["changes"]["head_changed"] is False

    again = json.loads(invoke("bundle", "update", "--repo", str(src.path), str(store),
                              "--json").stdout)
    assert again["written"] is False and again["link"] is None
    assert "up to date" in invoke("bundle", "update", "--repo", str(src.path), str(store)).stdout
    assert sorted(p.name for p in store.glob("link-*")) == [
        "link-0001.bundle", "link-0001.json", "link-0002.bundle", "link-0002.json"]

    listed = json.loads(invoke("bundle", "list", str(store), "--json").stdout)
    assert [entry["sequence"] for entry in listed] == [1, 2]
    assert sorted(listed[0]["changes"]["added"]) == sorted(first_refs)
    assert sorted(listed[1]["changes"]["added"]) == ["refs/heads/late"]
    assert sorted(listed[1]["changes"]["moved"]) == ["refs/heads/main"]
    assert sorted(listed[1]["changes"]["removed"]) == ["refs/heads/other"]
    table = invoke("bundle", "list", str(store)).stdout
    assert "link-0002.bundle" in table and "+1 ~1 -1" in table

    bundle2 = store / "link-0002.bundle"
    git_heads = git(src.path, "bundle", "list-heads", str(bundle2))
    assert invoke("bundle", "heads", str(bundle2)).stdout == git_heads
    heads = json.loads(invoke("bundle", "heads", str(bundle2), "--json").stdout)
    assert [f"{ref['oid']} {ref['name']}" for ref in heads["refs"]] == git_heads.splitlines()
    assert heads["version"] == 2 and heads["object_format"] == "sha1"
    assert heads["prerequisites"] == sorted({src.rev("v1^{commit}"), old_main})

    verified = json.loads(invoke("bundle", "verify", str(store), "--json").stdout)
    assert verified["ok"] is True and verified["problems"] == []
    assert sorted(verified["checked"]) == [str(bundle1), str(bundle2)]
    assert verified["bytes"] == bundle1.stat().st_size + bundle2.stat().st_size
    assert "ok" in invoke("bundle", "verify", str(store)).stdout

    target = tmp_path / "target.git"
    dry = json.loads(invoke("bundle", "apply", str(store), "--repo", str(target), "--dry-run",
                            "--json").stdout)
    assert not target.exists()
    assert dry["dry_run"] is True and dry["create_target"] is True and dry["links"] == [1, 2]
    applied = json.loads(invoke("bundle", "apply", str(store), "--repo", str(target),
                                "--json").stdout)
    assert applied["up_to_date"] is False and applied["sequence"] == 2
    assert {u["ref"]: (u["action"], u["new"]) for u in applied["updates"]} == {
        name: ("create", oid) for name, oid in refs(src.path).items()}
    assert applied["updates"] == dry["updates"]
    assert applied["head"]["after"] == "refs/heads/main"
    assert_same_repository(src.path, target)
    twice = json.loads(invoke("bundle", "apply", str(store), "--repo", str(target),
                              "--json").stdout)
    assert twice["up_to_date"] is True and twice["updates"] == [] and twice["links"] == []
    assert "up to date" in invoke("bundle", "apply", str(store), "--repo", str(target)).stdout


def test_apply_text_names_the_changes(src, tmp_path):
    store = tmp_path / "store"
    invoke("bundle", "create", "--repo", str(src.path), str(store), "-q")
    target = tmp_path / "target.git"
    invoke("bundle", "apply", str(store), "--repo", str(target), "-q")
    src.git("branch", "-D", "other")
    src.git("checkout", "-q", "-b", "topic")
    invoke("bundle", "update", "--repo", str(src.path), str(store), "-q")
    text = invoke("bundle", "apply", str(store), "--repo", str(target), "--dry-run").stdout
    assert "would delete refs/heads/other" in text
    assert "would create refs/heads/topic" in text
    assert "would set HEAD to refs/heads/topic" in text
    assert "refs/heads/other" in refs(target)  # the dry run changed nothing
    text = invoke("bundle", "apply", str(store), "--repo", str(target)).stdout
    assert "delete refs/heads/other" in text and "would" not in text
    assert_same_repository(src.path, target)


def test_quiet_prints_nothing(src, tmp_path):
    store = tmp_path / "store"
    target = tmp_path / "target.git"
    steps = [
        ("bundle", "create", "--repo", str(src.path), str(store), "--quiet"),
        ("bundle", "update", "--repo", str(src.path), str(store), "-q"),  # up to date
        ("bundle", "verify", str(store), "-q"),
        ("bundle", "apply", str(store), "--repo", str(target), "-q"),
        ("bundle", "apply", str(store), "--repo", str(target), "-q"),  # up to date
        ("bundle", "list", str(store), "-q"),
        ("bundle", "heads", str(store / "link-0001.bundle"), "-q"),
    ]
    for args in steps:
        result = invoke(*args)
        assert result.stdout == "", args
        assert result.stderr == "", args
    assert_same_repository(src.path, target)


def test_quiet_hides_warnings_but_not_errors(tmp_path):
    repo = SourceRepo(tmp_path / "sub")
    repo.commit("submodule", files={".gitmodules": '[submodule "x"]\n\tpath = x\n\turl = ../x\n'})
    loud = invoke("bundle", "create", "--repo", str(repo.path), str(tmp_path / "s1"))
    assert "warning:" in loud.stderr and "submodule" in loud.stderr
    quiet = invoke("bundle", "create", "--repo", str(repo.path), str(tmp_path / "s2"), "-q")
    assert quiet.stdout == "" and quiet.stderr == ""
    failed = invoke("bundle", "verify", str(tmp_path / "missing"), "-q", ok=False)
    assert failed.exit_code == 1 and "missing" in failed.stderr


# ---------------------------------------------------------------------------------------------
# Errors: one line, status 1, no traceback


def test_not_a_repository(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    assert_one_line_error(run("bundle", "create", "--repo", str(plain), str(tmp_path / "s")),
                          str(plain), "not a git repository")
    assert not (tmp_path / "s" / "link-0001.json").exists()
    assert_one_line_error(run("bundle", "create", "--repo", str(tmp_path / "nowhere"),
                              str(tmp_path / "s")), "does not exist")


def test_missing_store(src, tmp_path):
    missing = str(tmp_path / "no-store")
    for args in (("update", "--repo", str(src.path), missing),
                 ("apply", missing, "--repo", str(tmp_path / "t")),
                 ("list", missing),
                 ("verify", missing)):
        assert_one_line_error(run("bundle", *args), missing)
    assert not (tmp_path / "t").exists()


def test_corrupt_bundle_on_verify(src, tmp_path):
    store = tmp_path / "store"
    invoke("bundle", "create", "--repo", str(src.path), str(store), "-q")
    bundle = store / "link-0001.bundle"
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2 + 20] ^= 0x40  # inside the pack
    bundle.write_bytes(bytes(data))
    line = assert_one_line_error(run("bundle", "verify", str(store)), str(bundle), "checksum")
    assert line.startswith("FAILED")
    as_json = run("bundle", "verify", str(store), "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    assert [problem["path"] for problem in report["problems"]] == [str(bundle)]


def test_apply_refused(src, tmp_path):
    store = tmp_path / "store"
    target = tmp_path / "target.git"
    invoke("bundle", "create", "--repo", str(src.path), str(store), "-q")
    invoke("bundle", "apply", str(store), "--repo", str(target), "-q")
    git(target, "update-ref", "refs/heads/main", src.rev("main~1"))
    src.commit("three")
    invoke("bundle", "update", "--repo", str(src.path), str(store), "-q")
    before = ref_listing(target)
    assert_one_line_error(run("bundle", "apply", str(store), "--repo", str(target)),
                          "refs/heads/main", "--force")
    assert ref_listing(target) == before
    forced = run("bundle", "apply", str(store), "--repo", str(target), "--force")
    assert forced.returncode == 0, forced.stderr
    assert_same_repository(src.path, target)


def test_store_path_that_is_a_file(src, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n")
    assert_one_line_error(run("bundle", "create", "--repo", str(src.path), str(a_file)),
                          str(a_file))
    assert a_file.read_text() == "not a folder\n"


def test_target_below_a_file(src, tmp_path):
    store = tmp_path / "store"
    invoke("bundle", "create", "--repo", str(src.path), str(store), "-q")
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n")
    assert_one_line_error(run("bundle", "apply", str(store), "--repo", str(a_file / "target")),
                          str(a_file))


def test_heads_of_a_damaged_header(src, tmp_path):
    store = tmp_path / "store"
    invoke("bundle", "create", "--repo", str(src.path), str(store), "-q")
    bundle = store / "link-0001.bundle"
    bundle.write_bytes(bundle.read_bytes().replace(b" refs/heads/main\n", b" refs/heads/a..b\n"))
    assert_one_line_error(run("bundle", "heads", str(bundle)), str(bundle), "invalid ref name")


# ---------------------------------------------------------------------------------------------
# Locks


def test_update_refused_while_the_store_is_locked(src, tmp_path):
    store = tmp_path / "store"
    invoke("bundle", "create", "--repo", str(src.path), str(store), "-q")
    src.commit("three")
    with BundleStore(store).locked("test holder"):
        process = run("bundle", "update", "--repo", str(src.path), str(store))
    assert_one_line_error(process, "test holder", str(store))
    assert not (store / "link-0002.json").exists()
    # Released: the same command now works.
    assert run("bundle", "update", "--repo", str(src.path), str(store), "-q").returncode == 0
    assert (store / "link-0002.json").exists()


def test_apply_refused_while_the_target_is_locked(src, tmp_path):
    store = tmp_path / "store"
    target = tmp_path / "target.git"
    invoke("bundle", "create", "--repo", str(src.path), str(store), "-q")
    invoke("bundle", "apply", str(store), "--repo", str(target), "-q")
    src.commit("three")
    invoke("bundle", "update", "--repo", str(src.path), str(store), "-q")
    before = (ref_listing(target), head_of(target))
    with exclusive_lock(target / LOCK_FILE, f"target {target}", "test holder"):
        process = run("bundle", "apply", str(store), "--repo", str(target))
    assert_one_line_error(process, "test holder")
    assert (ref_listing(target), head_of(target)) == before
    assert run("bundle", "apply", str(store), "--repo", str(target), "-q").returncode == 0
    assert_same_repository(src.path, target)


# ---------------------------------------------------------------------------------------------
# Options


def test_verify_with_a_target(src, tmp_path):
    store = tmp_path / "store"
    target = tmp_path / "target.git"
    invoke("bundle", "create", "--repo", str(src.path), str(store), "-q")
    invoke("bundle", "apply", str(store), "--repo", str(target), "-q")
    src.commit("three")
    invoke("bundle", "update", "--repo", str(src.path), str(store), "-q")
    bundle2 = store / "link-0002.bundle"

    report = json.loads(invoke("bundle", "verify", str(store), "--repo", str(target),
                               "--json").stdout)
    assert report["ok"] is True
    assert json.loads(invoke("bundle", "verify", str(bundle2), "--repo", str(target),
                             "--json").stdout)["ok"] is True

    empty = tmp_path / "empty.git"
    git(tmp_path, "init", "-q", "--bare", str(empty))
    result = invoke("bundle", "verify", str(bundle2), "--repo", str(empty), "--json", ok=False)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [problem["path"] for problem in report["problems"]] == [str(bundle2)]
    assert "prerequisite" in report["problems"][0]["message"]


def test_update_can_add_remotes_to_the_selection(tmp_path):
    upstream = SourceRepo(tmp_path / "upstream")
    upstream.commit("upstream")
    git(tmp_path, "clone", "-q", str(upstream.path), "clone")
    clone = tmp_path / "clone"
    store = tmp_path / "store"
    created = json.loads(invoke("bundle", "create", "--repo", str(clone), str(store),
                                "--json").stdout)
    assert list(created["changes"]["added"]) == ["refs/heads/main"]
    updated = json.loads(invoke("bundle", "update", "--repo", str(clone), str(store),
                                "--include-remotes", "--json").stdout)
    assert sorted(updated["changes"]["added"]) == ["refs/remotes/origin/HEAD",
                                                   "refs/remotes/origin/main"]
    # The store keeps carrying them without the option being repeated.
    again = json.loads(invoke("bundle", "update", "--repo", str(clone), str(store),
                              "--json").stdout)
    assert again["written"] is False
    target = tmp_path / "target.git"
    invoke("bundle", "apply", str(store), "--repo", str(target), "-q")
    assert_same_repository(clone, target, exclude_remotes=False)
