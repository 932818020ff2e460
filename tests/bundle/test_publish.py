"""`devkit bundle publish`: a store served by a real nginx, cloned and fetched by real git with
`--bundle-uri` and `fetch.bundleURI`, and the bad inputs publish and verify must refuse."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from devkit.bundle.bundlelist import read_bundle_list
from devkit.bundle.store import LOCK_FILE, BundleStore
from devkit.bundle.verify import verify_path
from devkit.cli import cli
from devkit.filesafety import exclusive_lock
from tests.bundle.gitrepos import SourceRepo, git, head_of
from tests.bundle.test_crash import reset_to, sweep
from tests.conftest import require_tool


def invoke(*args: str, exit_code: int = 0):
    result = CliRunner().invoke(cli, ["bundle", *map(str, args)])
    assert result.exit_code == exit_code, result.output
    return result


def git_version() -> tuple[int, ...]:
    """The installed git's version, e.g. (2, 39, 5)."""
    out = subprocess.run(["git", "--version"], capture_output=True, text=True, check=True).stdout
    return tuple(int(part) for part in re.findall(r"\d+", out.split()[2])[:3])


class Nginx:
    """A real nginx serving `root` on a free loopback port, logging to files in `work`."""

    def __init__(self, binary: str, root: Path, work: Path) -> None:
        self.root, self.work = root, work
        self.access_log = work / "access.log"
        work.mkdir()
        for _ in range(3):  # another process may take the free port before nginx does
            self.port = _free_port()
            self.process = self._start(binary)
            if self._wait_listening():
                return
            self.stop()
        raise AssertionError(f"nginx did not start:\n{(work / 'error.log').read_text()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _start(self, binary: str) -> subprocess.Popen:
        temp = {name: self.work / name for name in
                ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
        config = self.work / "nginx.conf"
        # One process, in the foreground, writing nothing outside `work`: no master process
        # means no worker that drops privileges and could not read a root-only test folder.
        config.write_text(f"""
daemon off;
master_process off;
pid {self.work / 'nginx.pid'};
error_log {self.work / 'error.log'} info;
events {{ worker_connections 64; }}
http {{
    access_log {self.access_log};
    client_body_temp_path {temp['client_body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{self.port};
        root {self.root};
    }}
}}
""")
        return subprocess.Popen([binary, "-p", str(self.work), "-c", str(config),
                                 "-e", str(self.work / "error.log")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _wait_listening(self) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def requests(self) -> list[tuple[str, int]]:
        """(path, status) of every GET so far, in order, from the access log."""
        log = self.access_log.read_text() if self.access_log.exists() else ""
        return [(path, int(status)) for path, status in
                re.findall(r'"GET (\S+) HTTP/[\d.]+" (\d{3})', log)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def nginx(tmp_path):
    binary = (shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
              or require_tool("nginx", "apt-get install nginx (or run scripts/setup)"))
    (tmp_path / "www").mkdir()
    server = Nginx(binary, tmp_path / "www", tmp_path / "nginx")
    yield server
    server.stop()


@pytest.fixture
def origin(tmp_path):
    """A repository whose store has three links: link 1 with main, a release branch and an
    annotated tag; link 2 adds a feature branch and moves main; link 3 moves main again and
    adds a lightweight tag (release and feature stay where links 1 and 2 left them)."""
    src = SourceRepo(tmp_path / "origin")
    src.commit()
    src.commit()
    src.git("tag", "-a", "v1", "-m", "release 1")
    src.git("branch", "release")
    store = tmp_path / "store"
    invoke("create", "--repo", src.path, store)
    src.git("checkout", "-q", "-b", "feature")
    src.commit()
    src.git("checkout", "-q", "main")
    src.commit()
    invoke("update", "--repo", src.path, store)
    src.commit()
    src.commit()
    src.git("tag", "v2")
    invoke("update", "--repo", src.path, store)
    return SimpleNamespace(src=src, store=store)


def clone_environment(trace: Path) -> dict[str, str]:
    """The test's environment plus a trace2 event log, and no proxy for the loopback server."""
    return {**os.environ, "GIT_TRACE2_EVENT": str(trace), "NO_PROXY": "*", "no_proxy": "*"}


def run_git(*args: str, cwd: Path, trace: Path) -> None:
    process = subprocess.run(["git", *args], cwd=cwd, env=clone_environment(trace),
                             capture_output=True, text=True, check=False)
    assert process.returncode == 0, process.stderr
    assert "failed to download bundle" not in process.stderr, process.stderr


def objects_sent(trace: Path) -> int:
    """How many objects the origin's pack-objects wrote, from the trace2 events (the file://
    origin's upload-pack runs as a child and traces into the same file); 0 when git needed no
    fetch at all."""
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    return sum(int(event["value"]) for event in events
               if event.get("event") == "data" and event.get("key") == "write_pack_file/wrote")


def count_objects(repo: Path, *revisions: str) -> int:
    return len(git(repo, "rev-list", "--objects", *revisions).splitlines())


def tag_objects(repo: Path) -> int:
    """How many objects only the tags reach (annotated tag objects): what a clone asks the
    origin for even when the bundles held everything."""
    return count_objects(repo, "--all", "--not", "--branches")


def refs(repo: Path, prefix: str) -> dict[str, str]:
    """The refs under `prefix` (but its HEAD), by name without the prefix, and their values."""
    listing = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", prefix)
    return {name.removeprefix(prefix): oid for name, oid in
            (line.split() for line in listing.splitlines()) if name != f"{prefix}HEAD"}


def assert_clone_of(origin: Path, clone: Path) -> None:
    """The clone has the origin's branches (as origin/*), tags and HEAD branch, and is whole."""
    assert refs(clone, "refs/remotes/origin/") == refs(origin, "refs/heads/")
    assert refs(clone, "refs/tags/") == refs(origin, "refs/tags/")
    assert head_of(clone) == head_of(origin)
    git(clone, "fsck", "--strict", "--no-dangling")


def bundle_list_text(base: str, sequences: range) -> str:
    text = "[bundle]\n\tversion = 1\n\tmode = all\n\theuristic = creationToken\n"
    for n in sequences:
        text += f'[bundle "link-{n:04d}"]\n\turi = {base}/link-{n:04d}.bundle\n' \
                f"\tcreationToken = {n}\n"
    return text


# --- the list and the command ------------------------------------------------------------------

def test_publish_writes_gits_bundle_list_beside_the_bundles(origin):
    store = origin.store
    result = invoke("publish", store, "--base-url", "https://example.org/project/")
    assert (store / "bundle-list").read_text() == bundle_list_text(
        "https://example.org/project", range(1, 4))
    assert read_bundle_list(store / "bundle-list")["bundle.link-0003.creationtoken"] == "3"
    assert result.output.splitlines() == [
        f"{store / 'bundle-list'} written: links 1..3",
        f"serve {store} at https://example.org/project/, then clone with:",
        "  git clone --bundle-uri=https://example.org/project/bundle-list <origin URL>",
    ]
    invoke("verify", store)  # the list is checked too, and sound

    document = json.loads(invoke("publish", store, "--base-url", "https://example.org/project",
                                 "--json").output)
    assert document["written"] is False
    assert document["list_url"] == "https://example.org/project/bundle-list"
    assert [link["file"] for link in document["links"]] == [
        "link-0001.bundle", "link-0002.bundle", "link-0003.bundle"]
    assert invoke("publish", store, "--base-url", "https://example.org/project", "-q").output == ""


def test_republishing_after_an_update_grows_the_list_and_a_rerun_changes_nothing(origin):
    store, out = origin.store, origin.store.parent / "public"
    invoke("publish", store, "--base-url", "http://cdn.example/p", "--out", out)
    before = (out / "bundle-list").read_bytes()
    rerun = invoke("publish", store, "--base-url", "http://cdn.example/p", "--out", out)
    assert (out / "bundle-list").read_bytes() == before
    assert "up to date" in rerun.output and "0 file(s) copied" in rerun.output

    origin.src.commit()
    invoke("update", "--repo", origin.src.path, store)
    invoke("verify", out)
    invoke("publish", store, "--base-url", "http://cdn.example/p", "--out", out)
    assert (out / "bundle-list").read_text() == bundle_list_text("http://cdn.example/p",
                                                                 range(1, 5))
    # The output folder is a checkable copy of the chain: hard links on one file system.
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(
        ["bundle-list"] + [f"link-{n:04d}.{ext}" for n in range(1, 5) for ext in
                           ("bundle", "json")])
    assert os.path.samefile(out / "link-0004.bundle", store / "link-0004.bundle")
    invoke("verify", out)


def test_publish_into_a_folder_carries_manifest_signatures(origin):
    store, out = origin.store, origin.store.parent / "public"
    (store / "link-0002.json.sig").write_text("-----BEGIN SSH SIGNATURE-----\n")
    result = invoke("publish", store, "--base-url", "http://cdn.example/p", "--out", out,
                    "--json")
    copied = json.loads(result.output)["copied"]
    assert copied.index("link-0002.bundle") < copied.index("link-0002.json.sig") < \
        copied.index("link-0002.json")
    assert (out / "link-0002.json.sig").read_bytes() == (store / "link-0002.json.sig").read_bytes()


def test_publish_into_a_folder_removes_what_a_compaction_superseded(origin):
    store, out = origin.store, origin.store.parent / "public"
    invoke("publish", store, "--base-url", "http://cdn.example/p", "--out", out)
    invoke("compact", store, "--keep", "2")
    chain = BundleStore(store).links()
    assert chain[0].bundle_file == "link-0002-base.bundle"
    result = invoke("publish", store, "--base-url", "http://cdn.example/p", "--out", out,
                    "--json")
    assert sorted(json.loads(result.output)["removed"]) == [
        "link-0001.bundle", "link-0001.json", "link-0002.bundle", "link-0002.json"]
    assert (out / "bundle-list").read_text() == (
        "[bundle]\n\tversion = 1\n\tmode = all\n\theuristic = creationToken\n"
        '[bundle "link-0002"]\n\turi = http://cdn.example/p/link-0002-base.bundle\n'
        "\tcreationToken = 2\n"
        '[bundle "link-0003"]\n\turi = http://cdn.example/p/link-0003.bundle\n'
        "\tcreationToken = 3\n")
    invoke("verify", out)


def test_a_list_with_file_urls_serves_a_clone_from_the_file_system(tmp_path, origin):
    out = tmp_path / "published"
    invoke("publish", origin.store, "--base-url", out.as_uri(), "--out", out)
    run_git("clone", f"--bundle-uri={out.as_uri()}/bundle-list", origin.src.path.as_uri(),
            "clone", cwd=tmp_path, trace=tmp_path / "trace.json")
    assert refs(tmp_path / "clone", "refs/bundles/") == refs(origin.src.path, "refs/heads/")
    assert_clone_of(origin.src.path, tmp_path / "clone")


def test_a_filtered_store_is_published_with_its_filter_and_cloned_with_it(tmp_path):
    src = SourceRepo(tmp_path / "origin")
    src.commit()
    src.commit()
    store, out = tmp_path / "store", tmp_path / "published"
    invoke("create", "--repo", src.path, "--filter", "blob:none", store)
    result = invoke("publish", store, "--base-url", out.as_uri(), "--out", out)
    assert f"  git clone --filter=blob:none --bundle-uri={out.as_uri()}/bundle-list <origin URL>" \
        in result.output.splitlines()
    assert "warning: the store is filtered (blob:none): a clone without --filter=blob:none " \
        "would lack the objects the filter left out" in result.output
    assert read_bundle_list(out / "bundle-list")["bundle.link-0001.filter"] == "blob:none"
    invoke("verify", out)

    run_git("clone", "--filter=blob:none", f"--bundle-uri={out.as_uri()}/bundle-list",
            src.path.as_uri(), "clone", cwd=tmp_path, trace=tmp_path / "trace.json")
    assert refs(tmp_path / "clone", "refs/bundles/") == refs(src.path, "refs/heads/")
    assert_clone_of(src.path, tmp_path / "clone")

    (out / "bundle-list").write_text((out / "bundle-list").read_text().replace(
        "\tfilter = blob:none\n", ""))
    failed = invoke("verify", out, exit_code=1)
    assert "bundle.link-0001.filter is missing but the bundle's filter is blob:none" in \
        failed.output


# --- real git against real nginx ---------------------------------------------------------------

def test_a_clone_of_a_one_link_store_takes_every_object_from_the_bundle(tmp_path, nginx):
    src = SourceRepo(tmp_path / "single")
    src.commit()
    src.git("tag", "-a", "v1", "-m", "one")
    src.commit()
    store = nginx.root / "project"
    invoke("create", "--repo", src.path, store)
    invoke("publish", store, "--base-url", f"{nginx.url}/project")

    trace = tmp_path / "trace.json"
    run_git("clone", f"--bundle-uri={nginx.url}/project/bundle-list", src.path.as_uri(),
            "clone", cwd=tmp_path, trace=trace)
    assert nginx.requests() == [("/project/bundle-list", 200),
                                ("/project/link-0001.bundle", 200)]
    # The origin sent only the annotated tag's object: git keeps a bundle's branches (in
    # refs/bundles/*) but not its tags, so it asks for the tag objects again.
    assert objects_sent(trace) == tag_objects(src.path) == 1
    assert_clone_of(src.path, tmp_path / "clone")


def test_a_clone_applies_every_link_of_the_chain_from_the_static_host(tmp_path, origin, nginx):
    src, out = origin.src, nginx.root / "project"
    invoke("publish", origin.store, "--base-url", f"{nginx.url}/project/", "--out", out)

    trace = tmp_path / "trace.json"
    run_git("clone", f"--bundle-uri={nginx.url}/project/bundle-list", src.path.as_uri(),
            "clone", cwd=tmp_path, trace=trace)
    clone = tmp_path / "clone"
    requests = nginx.requests()
    assert requests[0] == ("/project/bundle-list", 200)
    assert sorted(requests[1:]) == [(f"/project/link-000{n}.bundle", 200) for n in (1, 2, 3)]
    # git wrote each bundle's branches to refs/bundles/*: the newest values come from link 3,
    # which git could unbundle only on top of links 1 and 2.
    assert refs(clone, "refs/bundles/") == refs(src.path, "refs/heads/")

    sent, total = objects_sent(trace), count_objects(src.path, "--all")
    if git_version() >= (2, 46):
        assert sent == tag_objects(src.path)
    else:
        # git before 2.46 does not see the pack of the bundle it unbundled last ("failed to
        # take full advantage of all bundles", fixed in 2.46), so the origin sends again what
        # only the refs that link 3 moved reach: never more than that.
        assert 0 < sent <= count_objects(src.path, "--all", "--not", "release", "feature")
        assert sent < total
    assert_clone_of(src.path, clone)


def test_an_incremental_fetch_downloads_only_the_new_link(tmp_path, origin, nginx):
    version = git_version()
    if version < (2, 40):
        pytest.skip(f"git {'.'.join(map(str, version))} is installed; fetch.bundleURI and the "
                    f"creationToken heuristic need git >= 2.40 (Debian 12 ships 2.39)")
    src, out = origin.src, nginx.root / "project"
    invoke("publish", origin.store, "--base-url", f"{nginx.url}/project", "--out", out)
    clone = tmp_path / "clone"
    run_git("clone", f"--bundle-uri={nginx.url}/project/bundle-list", src.path.as_uri(),
            "clone", cwd=tmp_path, trace=tmp_path / "clone-trace.json")
    assert git(clone, "config", "fetch.bundleCreationToken").strip() == "3"

    src.commit()
    invoke("update", "--repo", src.path, origin.store)
    invoke("publish", origin.store, "--base-url", f"{nginx.url}/project", "--out", out)
    seen = len(nginx.requests())
    trace = tmp_path / "fetch-trace.json"
    run_git("fetch", "origin", cwd=clone, trace=trace)
    assert nginx.requests()[seen:] == [("/project/bundle-list", 200),
                                       ("/project/link-0004.bundle", 200)]
    assert git(clone, "config", "fetch.bundleCreationToken").strip() == "4"
    if version >= (2, 46):
        assert objects_sent(trace) == 0  # no new tag: nothing at all from the origin
    git(clone, "merge", "-q", "--ff-only", "origin/main")
    assert_clone_of(src.path, clone)


# --- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["missing", "a folder", "truncated"])
def test_publish_refuses_a_store_with_a_bad_link_and_writes_nothing(origin, damage):
    store, out = origin.store, origin.store.parent / "public"
    invoke("publish", store, "--base-url", "https://example.org/p")
    listed = (store / "bundle-list").read_bytes()
    bundle = store / "link-0002.bundle"
    data = bundle.read_bytes()
    bundle.unlink()
    if damage == "a folder":
        bundle.mkdir()
    elif damage == "truncated":
        bundle.write_bytes(data[: len(data) // 2])

    for extra in ([], ["--out", out]):
        result = invoke("publish", store, "--base-url", "https://example.org/p", *extra,
                        exit_code=1)
        assert len(result.output.splitlines()) == 1
        assert result.output.startswith(f"Error: refusing to publish {store}: {bundle}: ")
    assert (store / "bundle-list").read_bytes() == listed
    assert not out.exists()

    verify = invoke("verify", store, "--json", exit_code=1)
    problems = [(Path(p["path"]).name, p["message"]) for p in
                json.loads(verify.output)["problems"]]
    assert "link-0002.bundle" in {name for name, _ in problems}
    if damage != "truncated":
        reason = "which is missing from" if damage == "missing" else "which cannot be read"
        assert any(name == "bundle-list" and "bundle.link-0002.uri" in message and
                   reason in message for name, message in problems), problems


@pytest.mark.parametrize("edit, message", [
    (lambda text: text.replace("creationToken = 3", "creationToken = 2"),
     "creation tokens do not increase along the chain: bundle.link-0003 has 2, after "
     "bundle.link-0002 with 2"),
    (lambda text: text.replace("creationToken = 1", "creationToken = 9"),
     "creation tokens do not increase along the chain: bundle.link-0002 has 2, after "
     "bundle.link-0001 with 9"),
    (lambda text: text.replace("creationToken = 2", "creationToken = two"),
     "bundle.link-0002.creationToken must be a positive integer (it is 'two')"),
    (lambda text: text.replace("mode = all", "mode = any"),
     "bundle.mode must be all (it is 'any')"),
    (lambda text: text.replace("\tversion = 1\n", ""), "bundle.version must be 1 (it is missing)"),
    (lambda text: text.replace("\theuristic = creationToken\n", ""),
     "bundle.heuristic must be creationToken (it is missing)"),
    (lambda text: text.replace("link-0003.bundle", "link-0007.bundle"),
     "bundle.link-0003.uri https://example.org/p/link-0007.bundle names link-0007.bundle, "
     "which is missing from"),
    (lambda text: text.replace("link-0003.bundle", "link-0003.json"),
     "bundle.link-0003.uri https://example.org/p/link-0003.json names link-0003.json, which is "
     "not a link of the chain"),
    (lambda text: text.replace("link-0003.bundle", "link-0002.bundle"),
     "bundle.link-0003.uri names link-0002.bundle, which bundle.link-0002 names too"),
    (lambda text: text.replace("[bundle]", "[bundle"),
     "not a bundle list git can read (fatal: bad config line 1 in file"),
])
def test_verify_reports_a_hand_edited_list(origin, edit, message):
    store = origin.store
    invoke("publish", store, "--base-url", "https://example.org/p")
    path = store / "bundle-list"
    path.write_text(edit(path.read_text()))
    result = invoke("verify", store, exit_code=1)
    assert result.output.startswith(f"FAILED {path}: {message}"), result.output


def test_update_and_compact_keep_a_list_in_the_store_current(origin, tmp_path):
    store = origin.store
    invoke("publish", store, "--base-url", "https://example.org/p")
    origin.src.commit()
    result = invoke("update", "--repo", origin.src.path, store)
    assert f"{store / 'bundle-list'} rewritten for the new chain" in result.output
    assert (store / "bundle-list").read_text() == bundle_list_text("https://example.org/p",
                                                                   range(1, 5))
    invoke("verify", store)

    result = invoke("compact", store, "--keep", "2", "--json")
    assert json.loads(result.output)["republished"] is True
    text = (store / "bundle-list").read_text()
    assert "link-0003-base.bundle" in text and "link-0001" not in text
    invoke("verify", store)  # every file the list names is there, in chain order


def test_verify_says_a_list_lags_behind_the_chain_until_publish_runs_again(origin, tmp_path):
    """Links that arrive by other means (copied in, as across an air gap) are not in the list
    published before them."""
    store, elsewhere = origin.store, tmp_path / "elsewhere"
    invoke("publish", store, "--base-url", "https://example.org/p")
    shutil.copytree(store, elsewhere)
    origin.src.commit()
    origin.src.commit()
    invoke("update", "--repo", origin.src.path, elsewhere)
    for name in ("link-0004.bundle", "link-0004.json"):
        shutil.copy(elsewhere / name, store / name)
    # The list still serves an older state of the chain: a note, not a failure.
    result = invoke("verify", store)
    assert result.stderr == (f"note: {store / 'bundle-list'}: link(s) 4 of the chain are not "
                             f"in the list (published before they were written?); run "
                             f"`devkit bundle publish` again\n")
    notes = json.loads(invoke("verify", store, "--json").output)["notes"]
    assert [note["path"] for note in notes] == [str(store / "bundle-list")]
    invoke("publish", store, "--base-url", "https://example.org/p")
    assert invoke("verify", store).stderr == ""


@pytest.mark.parametrize("url, reason", [
    ("ftp://example.org/p", "must be an http://, https:// or file:// URL"),
    ("example.org/p", "must be an http://, https:// or file:// URL"),
    ("https:///p", "must be an http://, https:// or file:// URL"),
    ("file:srv/p", "must be an http://, https:// or file:// URL"),
    ("http://[::1/p", "must be an http://, https:// or file:// URL"),
    ("https://example.org/p?x=1", "without ?query or #fragment"),
    ("https://example.org/p#top", "without ?query or #fragment"),
    ("https://example.org/my project", "contains ' ', which a bundle list cannot carry"),
    ("https://example.org/p;v=1", "contains ';', which a bundle list cannot carry"),
])
def test_publish_refuses_a_bad_base_url(origin, url, reason):
    out = origin.store.parent / "public"
    result = invoke("publish", origin.store, "--base-url", url, "--out", out, exit_code=1)
    assert len(result.output.splitlines()) == 1 and reason in result.output, result.output
    assert not (origin.store / "bundle-list").exists() and not out.exists()


def test_publish_refuses_an_output_folder_holding_something_else(origin, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "index.html").write_text("hello\n")
    result = invoke("publish", origin.store, "--base-url", "https://e.org/p", "--out", busy,
                    exit_code=1)
    assert f"--out {busy} is not empty and holds no earlier publish of" in result.output
    assert sorted(p.name for p in busy.iterdir()) == ["index.html"]

    other = SourceRepo(tmp_path / "other")
    other.commit()
    invoke("create", "--repo", other.path, tmp_path / "other-store")
    result = invoke("publish", origin.store, "--base-url", "https://e.org/p", "--out",
                    tmp_path / "other-store", exit_code=1)
    assert "holds the links of another repository's store" in result.output


def test_publish_out_is_refused_while_the_store_is_locked(origin, tmp_path):
    """An `update` or `compact` holds the store's lock: publish copies no chain in flux."""
    out = tmp_path / "public"
    with exclusive_lock(origin.store / LOCK_FILE, f"store {origin.store}", "test holder"):
        result = invoke("publish", origin.store, "--base-url", "https://e.org/p", "--out", out,
                        exit_code=1)
    assert len(result.output.splitlines()) == 1, result.output
    assert "in use by test holder" in result.output
    assert not out.exists()


@pytest.mark.slow
def test_an_update_killed_at_any_point_leaves_the_list_usable_and_the_rerun_current(origin,
                                                                                   tmp_path):
    """Killed after its link and before the list, an update leaves a list one link behind
    (a note, not a failure); the rerun, with nothing new to write, brings the list up."""
    store, copy = origin.store, tmp_path / "published"
    invoke("publish", store, "--base-url", "https://example.org/p")
    shutil.copytree(store, copy)
    origin.src.commit()

    def after_kill(n: int) -> None:
        report = verify_path(store)
        assert report.ok, (n, report.problems)

    def completed() -> None:
        report = verify_path(store)
        assert report.ok and report.notes == [], (report.problems, report.notes)
        assert (store / "bundle-list").read_text() == bundle_list_text("https://example.org/p",
                                                                       range(1, 5))

    points = sweep(("update", "--repo", str(origin.src.path), str(store)),
                   reset_to(copy, store), after_kill, completed)
    assert points >= 8
