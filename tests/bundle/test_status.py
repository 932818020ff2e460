"""`devkit bundle status`: how far a target is behind a store, changing nothing."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from devkit.cli import cli
from tests.bundle.gitrepos import SourceRepo, git, ref_listing


def invoke(*args: str, exit_code: int = 0):
    result = CliRunner().invoke(cli, ["bundle", *args])
    assert result.exit_code == exit_code, result.output
    return result


def snapshot(repo) -> tuple[str, str, list[str]]:
    """What must not change: the refs, the config (the applied record) and the files."""
    config = (repo / "config").read_text()
    return ref_listing(repo), config, sorted(p.name for p in repo.iterdir())


@pytest.fixture
def chain(tmp_path):
    """A store of two links and a mirror that applied the first: its paths and the commits."""
    src = SourceRepo(tmp_path / "src")
    first = src.commit("one")
    store, mirror = tmp_path / "store", tmp_path / "mirror.git"
    invoke("create", "--repo", str(src.path), str(store))
    invoke("apply", str(store), "--repo", str(mirror))
    second = src.commit("two")
    src.git("branch", "feature")
    invoke("update", "--repo", str(src.path), str(store))
    return SimpleNamespace(store=store, mirror=mirror, first=first, second=second, src=src)


def test_status_of_a_target_behind_says_what_apply_would_do_and_changes_nothing(chain):
    store, mirror, second = chain.store, chain.mirror, chain.second
    before = snapshot(mirror)
    result = invoke("status", str(store), "--repo", str(mirror))
    assert result.output.splitlines() == [
        f"{mirror} is at link 1 of 2: 1 link(s) behind",
        "would take in link(s) 2",
        f"would create refs/heads/feature {second}",
        f"would update refs/heads/main {second}",
    ]
    assert snapshot(mirror) == before  # the refs, the config and the files are as they were

    data = json.loads(invoke("status", str(store), "--repo", str(mirror), "--json").output)
    assert (data["applied"], data["newest"], data["behind"], data["refused"]) == (1, 2, 1, None)
    assert {u["ref"]: u["action"] for u in data["updates"]} == {
        "refs/heads/feature": "create", "refs/heads/main": "update"}

    invoke("apply", str(store), "--repo", str(mirror))
    assert invoke("status", str(store), "--repo", str(mirror)).output == (
        f"{mirror} is up to date (link 2)\n")


def test_status_reads_no_bundle(chain):
    """Only manifests and refs: a missing bundle file does not matter (apply would need it)."""
    store, mirror = chain.store, chain.mirror
    (store / "link-0002.bundle").unlink()
    assert "1 link(s) behind" in invoke("status", str(store), "--repo", str(mirror)).output
    invoke("apply", str(store), "--repo", str(mirror), "--dry-run", exit_code=1)


def test_status_of_a_missing_target_and_of_local_changes(chain, tmp_path):
    store, mirror, first = chain.store, chain.mirror, chain.first
    fresh = tmp_path / "fresh.git"
    lines = invoke("status", str(store), "--repo", str(fresh)).output.splitlines()
    assert lines[0] == f"{fresh} does not exist: apply would create it from links 1..2"
    assert lines[1] == f"would create bare repository {fresh}"
    assert not fresh.exists()

    git(mirror, "branch", "mine", first)  # a ref the store does not know
    before = snapshot(mirror)
    lines = invoke("status", str(store), "--repo", str(mirror)).output.splitlines()
    assert lines[1].startswith("apply would refuse: refs of")
    assert "refs/heads/mine" in lines[1]
    assert f"--force would delete refs/heads/mine {first}" in lines
    assert snapshot(mirror) == before


def test_status_of_an_empty_store_is_one_line(tmp_path):
    (tmp_path / "store").mkdir()
    result = invoke("status", str(tmp_path / "store"), "--repo", str(tmp_path / "t"),
                    exit_code=1)
    assert result.output.startswith("Error: ")
    assert len(result.output.splitlines()) == 1


def test_status_after_a_compaction(chain, tmp_path):
    """A new target starts at the base; a target whose link was folded away is still placed."""
    store, mirror, src = chain.store, chain.mirror, chain.src
    src.commit("three")
    invoke("update", "--repo", str(src.path), str(store))
    invoke("compact", str(store), "--keep", "2")
    fresh = tmp_path / "fresh.git"
    lines = invoke("status", str(store), "--repo", str(fresh)).output.splitlines()
    assert lines[0] == f"{fresh} does not exist: apply would create it from links 2..3"
    lines = invoke("status", str(store), "--repo", str(mirror)).output.splitlines()
    assert lines[:2] == [f"{mirror} is at link 1 of 3: 2 link(s) behind",
                         "would take in link(s) 2..3"]


def test_status_of_a_filtered_store_and_a_target_that_is_not_a_partial_clone(chain, tmp_path):
    """apply refuses such a target even with --force: status says so, and offers no plan."""
    src, plain = chain.src, tmp_path / "plain.git"
    filtered = tmp_path / "filtered"
    invoke("create", "--repo", str(src.path), str(filtered), "--filter", "blob:none")
    git(tmp_path, "init", "-q", "--bare", str(plain))
    lines = invoke("status", str(filtered), "--repo", str(plain)).output.splitlines()
    assert lines[0] == f"{plain} has applied none of this store's links (it has 1)"
    assert lines[1].startswith("apply would refuse: ")
    assert "not a partial clone" in lines[1]
    assert len(lines) == 2
    data = json.loads(invoke("status", str(filtered), "--repo", str(plain), "--json").output)
    assert "not a partial clone" in data["blocked"]


def test_status_of_a_working_tree_whose_checkout_would_move_reports_the_refusal(chain, tmp_path):
    """A refusal --force does not override either is reported (exit 0) with no plan."""
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", str(work))
    before = snapshot(work / ".git")
    lines = invoke("status", str(chain.store), "--repo", str(work)).output.splitlines()
    assert lines[0] == f"{work} has applied none of this store's links (it has 2)"
    assert lines[1].startswith("apply would refuse: ") and "working tree" in lines[1]
    assert len(lines) == 2
    data = json.loads(invoke("status", str(chain.store), "--repo", str(work), "--json").output)
    assert "working tree" in data["blocked"]
    assert (data["up_to_date"], data["updates"]) == (False, [])
    assert snapshot(work / ".git") == before


def test_status_of_a_target_ahead_of_an_older_copy_of_the_store_reports_the_refusal(chain):
    store, mirror = chain.store, chain.mirror
    invoke("apply", str(store), "--repo", str(mirror))
    for name in ("link-0002.json", "link-0002.bundle"):  # the store as it was before link 2
        (store / name).unlink()
    before = snapshot(mirror)
    lines = invoke("status", str(store), "--repo", str(mirror)).output.splitlines()
    assert lines[1].startswith("apply would refuse: ") and "older copy" in lines[1]
    assert len(lines) == 2
    assert snapshot(mirror) == before


def test_status_quiet_prints_nothing_but_errors(chain, tmp_path):
    store, mirror = chain.store, chain.mirror
    assert invoke("status", str(store), "--repo", str(mirror), "-q").output == ""  # behind
    git(mirror, "branch", "mine", chain.first)
    assert invoke("status", str(store), "--repo", str(mirror), "--quiet").output == ""
    failed = invoke("status", str(tmp_path / "nowhere"), "--repo", str(mirror), "-q",
                    exit_code=1)
    assert failed.output.startswith("Error: ")
