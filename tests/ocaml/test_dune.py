"""The dune runner against real dune, on projects written into temporary folders.

Slow steps are dune rules that sleep; every wait polls with a deadline instead of sleeping.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devkit.ocaml import dune
from devkit.ocaml.diagnostics import parse
from devkit.ocaml.dune import (
    BoundedOutput,
    DuneNotFound,
    WatchCycles,
    dune_command,
    find_watch,
    start,
    start_watch,
    watch_running,
)
from devkit.ocaml.project import OutsideProject, Project, find_project
from devkit.ocaml.promotion import (
    PromotionFormatError,
    pending_promotions,
    promote,
    promoted_paths,
    promotion_diff,
    read_to_promote,
)
from devkit.ocaml.toolchain import dune_major, parse_version
from tests.conftest import require_tool
from tests.ocaml.ocamlprojects import run, tool_environment, write_project

INSTALL = "apt-get install ocaml-nox ocaml-dune"
LANG = "(lang dune 2.9)\n"
OK_MAIN = 'let () = print_endline "ok"\n'
BAD_MAIN = "let () = print_endline (1)\n"


@pytest.fixture(autouse=True)
def real_dune():
    return require_tool("dune", INSTALL)


@pytest.fixture
def env():
    return tool_environment()


def dune_version() -> str:
    return parse_version(subprocess.check_output(["dune", "--version"], text=True))


def make_project(folder: Path, files: dict[str, str]) -> Project:
    return find_project(write_project(folder, {"dune-project": LANG, **files}))


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def live_session_members(session: int) -> list[str]:
    """Commands of live (not zombie) processes still in `session`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if fields[0] != b"Z" and int(fields[3]) == session:
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


# --- command line ---------------------------------------------------------------------------


def test_root_goes_right_after_the_subcommand():
    project = Project(Path("/w/proj"), "dune-project")
    assert dune_command("dune", ["build", "@runtest"], project) == [
        "dune", "build", "--root", "/w/proj", "@runtest"
    ]  # fmt: skip
    assert dune_command("dune", ["exec", "./main.exe", "--", "--root", "x"], project) == [
        "dune", "exec", "--root", "/w/proj", "./main.exe", "--", "--root", "x"
    ]  # fmt: skip
    assert dune_command("dune", ["build", "--root=/other"], project) == [
        "dune", "build", "--root=/other"
    ]  # fmt: skip
    assert dune_command("dune", ["--version"], project) == ["dune", "--version"]
    assert dune_command("dune", ["subst"], project) == ["dune", "subst"]


def test_dune_exec_gets_its_options_before_the_separator(tmp_path, env):
    project = make_project(
        tmp_path / "p",
        {"bin/dune": "(executable (name show))\n",
         "bin/show.ml": 'let () = print_string (String.concat "," (List.tl (Array.to_list '
                        'Sys.argv)))\n'},
    )  # fmt: skip
    result = start(["exec", "./bin/show.exe", "--", "--root", "a b"], project, env).wait(60)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "--root,a b"


def test_dune_missing(tmp_path):
    project = make_project(tmp_path / "p", {})
    with pytest.raises(DuneNotFound, match="apt-get install ocaml-nox ocaml-dune"):
        start(["build"], project, {"PATH": str(tmp_path)})


# --- running --------------------------------------------------------------------------------


def test_start_returns_at_once_and_streams_lines_before_the_end(tmp_path, env):
    project = make_project(
        tmp_path / "p",
        {"dune": "(rule (targets first.txt)\n"
                 " (action (progn (system \"echo first line\")\n"
                 "                (with-stdout-to first.txt (echo x)))))\n"
                 "(rule (alias slow) (deps first.txt)\n"
                 " (action (system \"sleep 1.5; echo last line\")))\n"},
    )  # fmt: skip
    arrivals: list[tuple[str, float, bool]] = []
    holder: dict[str, dune.DuneProcess] = {}
    started = threading.Event()
    exited: list[float] = []

    def on_line(line: str) -> None:
        started.wait(5)
        arrivals.append((line, time.monotonic(), holder["p"].done))

    before = time.monotonic()
    process = start(
        ["build", "@slow"], project, env, on_line=on_line,
        on_exit=lambda result: exited.append(time.monotonic()),
    )  # fmt: skip
    assert time.monotonic() - before < 0.5
    assert not process.done
    holder["p"] = process
    started.set()

    result = process.wait(60)
    wait_until(lambda: exited, 5, "on_exit")
    assert result.exit_code == 0, result.output
    first = next(a for a in arrivals if a[0] == "first line")
    assert first[2] is False  # dune was still running
    assert exited[0] - first[1] > 1.0
    assert [a[0] for a in arrivals if a[0].endswith("line")] == ["first line", "last line"]


def test_exit_codes_and_diagnostics(tmp_path, env):
    good = make_project(tmp_path / "good", {"dune": "(executable (name main))\n",
                                            "main.ml": OK_MAIN})  # fmt: skip
    bad = make_project(tmp_path / "bad", {"dune": "(executable (name main))\n",
                                          "main.ml": BAD_MAIN})  # fmt: skip
    failing_rule = make_project(
        tmp_path / "rule", {"dune": '(rule (alias fail) (action (system "exit 3")))\n'}
    )
    ok = start(["build"], good, env).wait(60)
    assert (ok.exit_code, ok.output, ok.cancelled, ok.truncated_bytes) == (0, "", False, 0)
    assert ok.cmd[1:4] == ["build", "--root", str(good.root)]
    assert ok.duration_ms > 0

    failed = start(["build"], bad, env).wait(60)
    assert failed.exit_code == 1
    [diagnostic] = parse(failed.output, bad.root)
    assert (diagnostic.path, diagnostic.line, diagnostic.severity) == ("main.ml", 1, "error")

    assert start(["build", "@fail"], failing_rule, env).wait(60).exit_code == 1
    usage = start(["build", "--no-such-option"], good, env).wait(60)
    assert usage.exit_code != 0 and "no-such-option" in usage.output


def test_root_is_right_when_started_from_a_subfolder(tmp_path, env):
    top = write_project(
        tmp_path / "ws",
        {"dune-project": LANG,
         "lib/dune-project": LANG,
         "lib/src/dune": "(library (name broken))\n",
         "lib/src/broken.ml": "let x : int = \"no\"\n"},
    )  # fmt: skip
    project = find_project(top / "lib" / "src" / "broken.ml")
    assert project.root == top.resolve()
    result = start(["build"], project, env).wait(60)
    assert result.exit_code == 1
    assert "Entering directory" not in result.output
    assert [d.path for d in parse(result.output, project.root)] == ["lib/src/broken.ml"]
    assert (top / "_build").is_dir() and not (top / "lib" / "_build").exists()


def test_cancel_stops_a_long_build_and_leaves_no_process(tmp_path, env):
    marker = tmp_path / "sleeping"
    project = make_project(
        tmp_path / "p",
        {"dune": f'(rule (alias slow) (action (system "touch {marker}; sleep 30")))\n'},
    )
    process = start(["build", "@slow"], project, env)
    wait_until(marker.exists, 30, "the 30 s rule to start")
    assert any("sleep 30" in c for c in live_session_members(process.pid))

    before = time.monotonic()
    process.cancel()
    result = process.wait(10)
    assert time.monotonic() - before < 5
    assert result.cancelled and result.exit_code != 0
    assert live_session_members(process.pid) == []
    # Reaped: the pid is no longer our child (no zombie left behind).
    with pytest.raises(ChildProcessError):
        os.waitpid(process.pid, os.WNOHANG)
    process.cancel()  # cancelling a finished process does nothing


def test_fifty_megabytes_of_output_stay_bounded(tmp_path, env):
    line = "0123456789abcdefghijklmnopqrstuvwxyz" * 2 + "0123456789abcdefghijklmnopqrstuvw\n"
    assert len(line) == 106
    total = 50 << 20
    project = make_project(
        tmp_path / "p",
        {"dune": f'(rule (alias big) (action (system "yes {line[:-1]} | head -c {total}")))\n'},
    )
    streamed = [0, 0]

    def count(text: str) -> None:
        streamed[0] += 1
        streamed[1] += len(text) + 1

    limit = 1 << 20
    result = start(["build", "@big"], project, env, on_line=count, max_output_bytes=limit).wait(120)

    assert result.exit_code == 0
    head, marker, tail = result.output.partition(
        f"[devkit: {result.truncated_bytes} bytes of dune output dropped here]\n"
    )
    assert marker, "the dropped part is marked"
    kept = len(head.encode()) + len(tail.encode())
    assert limit - 2 * len(line) <= kept <= limit
    # Everything dune printed = what was kept + what was dropped: its own line first, then the
    # action's output, to which dune adds the missing final newline.
    prefix = head[: head.index(line)]
    printed = len(prefix.encode()) + total + 1
    assert printed == kept + result.truncated_bytes
    body = (head[len(prefix) :] + tail).splitlines(keepends=True)
    full, last = divmod(total, len(line))
    assert tail.endswith(line[:last] + "\n")  # the very end of the output is kept
    assert all(chunk == line for chunk in body[:-1])
    # Every line was still streamed, whole.
    assert streamed == [prefix.count("\n") + full + 1, printed]


# --- bounded output and line splitting (pure) -----------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    chunks=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\0", b"\n")), max_size=30),
    limit=st.integers(2, 120),
)
def test_bounded_output_keeps_head_and_tail(chunks, limit):
    data = b"".join(chunks)
    kept = BoundedOutput(limit)
    for chunk in chunks:
        kept.add(chunk)
    head, tail, dropped = kept.parts()
    assert len(head) + len(tail) <= limit
    assert len(head) + len(tail) + dropped == len(data)
    assert data.startswith(head) and data.endswith(tail)
    if dropped == 0:
        assert head + tail == data


def test_line_splitter_bounds_a_line_without_newline():
    splitter = dune._LineSplitter(split_cr=False)
    events = splitter.feed(b"x" * (dune.MAX_LINE_CHARS * 2 + 5))
    events += splitter.feed(b"", final=True)
    assert [len(text) for _, text in events] == [dune.MAX_LINE_CHARS] * 2 + [5]


def test_line_splitter_decodes_split_utf8_and_bad_bytes():
    splitter = dune._LineSplitter(split_cr=False)
    snowman = "☃".encode()
    events = splitter.feed(b"a" + snowman[:1]) + splitter.feed(snowman[1:] + b"\xff\n")
    assert events == [("line", "a☃\ufffd")]


# Verbatim: what `INSIDE_EMACS=1 dune build --watch --root .` (dune 2.9.3, output to a pipe)
# printed for a first build, an edit that broke main.ml, and an edit that fixed it.
WATCH_2_9_3 = (
    b"Scanned 0 directories\r                     \rDone: 0/0 (jobs: 0)\r"
    b"                   \rDone: 7/12 (jobs: 1)\r                    \rDone: 8/12 (jobs: 1)\r"
    b"                    \rDone: 9/12 (jobs: 1)\r                    \r"
    b"Success, waiting for filesystem changes...\r"
    b"                                          \r"
    b"Success, waiting for filesystem changes...\r"
    b"                                          \r\n"
    b"********** NEW BUILD **********\n"
    b"\n"
    b"Success, waiting for filesystem changes...\r"
    b"                                          \rScanned 0 directories\r"
    b"                     \rDone: 0/0 (jobs: 0)\r                   \rDone: 7/12 (jobs: 1)\r"
    b'                    \rFile "main.ml", line 1, characters 23-26:\n'
    b"1 | let () = print_endline (1)\n"
    b"                           ^^^\n"
    b"Error: This expression has type int but an expression was expected of type\n"
    b"         string\n"
    b"Done: 7/12 (jobs: 1)\r                    \r"
    b"Had errors, waiting for filesystem changes...\r"
    b"                                             \r"
    b"Had errors, waiting for filesystem changes...\r"
    b"                                             \r\n"
    b"********** NEW BUILD **********\n"
    b"\n"
    b"Had errors, waiting for filesystem changes...\r"
    b"                                             \rScanned 0 directories\r"
    b"                     \rDone: 0/0 (jobs: 0)\r                   \rDone: 7/12 (jobs: 1)\r"
    b"                    \rSuccess, waiting for filesystem changes...\r"
    b"                                          \r"
    b"Success, waiting for filesystem changes...\r"
    b"                                          \r"
)


@pytest.mark.parametrize("chunk", [1, 7, len(WATCH_2_9_3)])
def test_watch_cycles_from_dune_2_9_3_output(chunk):
    cycles: list[str] = []
    succeeded: list[bool] = []

    def record(build):
        cycles.append(build.output)
        succeeded.append(build.succeeded)

    watch = WatchCycles(record)
    splitter = dune._LineSplitter(split_cr=True)
    for start_at in range(0, len(WATCH_2_9_3), chunk):
        for kind, text in splitter.feed(WATCH_2_9_3[start_at : start_at + chunk]):
            (watch.status if kind == "status" else watch.line)(text)
    assert len(cycles) == 3
    assert succeeded == [True, False, True]
    assert cycles[0] == "" and cycles[2] == ""
    assert cycles[1].startswith('File "main.ml", line 1, characters 23-26:')
    assert cycles[1].endswith("         string")


# --- watch mode -----------------------------------------------------------------------------


def test_watch_mode_builds_in_cycles(tmp_path, env):
    require_tool("inotifywait", "apt-get install inotify-tools")
    project = make_project(tmp_path / "p", {"dune": "(executable (name main))\n",
                                            "main.ml": OK_MAIN})  # fmt: skip
    cycles: list[str] = []

    def record(build):
        cycles.append(build.output)

    watch = start_watch(project, env, on_build=record)
    try:
        wait_until(lambda: len(cycles) >= 1, 30, "the first build")
        assert cycles == [""]
        assert find_watch(project) == watch.pid and watch_running(project)

        # A build next to the watch is not started: dune 2.x would race on _build.
        if dune_major(dune_version()) < 3:
            second = start(["build"], project, env)
            assert second.done
            blocked = second.wait(1)
            assert blocked.blocked_by_watch and blocked.exit_code == 1
            assert f"is running for {project.root}" in blocked.output
        again = start_watch(project, env, on_build=record).wait(1)
        assert again.blocked_by_watch

        (project.root / "main.ml").write_text(BAD_MAIN)
        wait_until(lambda: len(cycles) >= 2, 30, "the rebuild after breaking main.ml")
        [diagnostic] = parse(cycles[1], project.root)
        assert (diagnostic.path, diagnostic.line) == ("main.ml", 1)

        (project.root / "main.ml").write_text(OK_MAIN)
        wait_until(lambda: len(cycles) >= 3, 30, "the rebuild after fixing main.ml")
        assert cycles[2] == ""
    finally:
        watch.cancel()
        result = watch.wait(10)
    assert result.cancelled
    assert "********** NEW BUILD" in result.output and "\r" not in result.output
    assert live_session_members(watch.pid) == []  # inotifywait is gone too
    assert not watch_running(project)


def test_dune_2_takes_no_build_lock_so_a_watch_is_found_by_its_process(tmp_path, env):
    """Evidence for the design: dune 2.9.3 writes no _build/.lock and lets a second build run
    next to a watch; `find_watch` sees a watch started from a subfolder without --root."""
    require_tool("inotifywait", "apt-get install inotify-tools")
    project = make_project(tmp_path / "p", {"sub/dune": "(executable (name main))\n",
                                            "sub/main.ml": OK_MAIN})  # fmt: skip
    watch = subprocess.Popen(
        ["dune", "build", "--watch"], cwd=project.root / "sub", env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until(lambda: (project.root / "_build" / "default" / "sub").is_dir(), 30,
                   "the watch's first build")  # fmt: skip
        assert find_watch(project) == watch.pid
        other = make_project(tmp_path / "other", {})
        assert find_watch(other) is None
        if dune_major(dune_version()) < 3:
            assert not (project.root / "_build" / ".lock").exists()
            second = run(["dune", "build", "--root", str(project.root)], cwd=project.root)
            assert second.returncode == 0, second.stderr
        else:
            assert (project.root / "_build" / ".lock").exists()
    finally:
        os.killpg(watch.pid, 15)
        watch.wait(10)
    assert find_watch(project) is None


HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, str(os.getpid()).encode())
print("locked", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("holder_is_watch", [True, False])
def test_dune_3_build_lock_is_recognised(tmp_path, holder_is_watch):
    """dune >= 3 holds an flock on _build/.lock holding its pid. The holder here is a small
    Python process (this machine's dune 2.9.3 takes no lock); its arguments say whether it
    stands for a watch."""
    project = make_project(tmp_path / "p", {})
    (project.root / "_build").mkdir()
    lock = project.root / "_build" / ".lock"
    argv = [sys.executable, "-c", HOLD_LOCK, str(lock), "build"]
    if holder_is_watch:
        argv.append("--watch")
    holder = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        assert dune.build_lock_holder(project) == holder.pid
        assert find_watch(project) == (holder.pid if holder_is_watch else None)
    finally:
        holder.kill()
        holder.wait()
    assert dune.build_lock_holder(project) is None


# --- promotion ------------------------------------------------------------------------------


def promotion_project(folder: Path) -> Project:
    return make_project(
        folder,
        {"dune": "(rule (with-stdout-to b.out (echo \"new b\\n\")))\n"
                 "(rule (alias check) (action (diff b.expected b.out)))\n"
                 "(rule (with-stdout-to c.out (echo \"new c\\n\")))\n"
                 "(rule (alias check) (action (diff c.expected c.out)))\n",
         "b.expected": "old b\n",
         "c.expected": "old c\n",
         "sub/dune": "(rule (with-stdout-to d.out (echo \"new d\\n\")))\n"
                     "(rule (alias check) (action (diff d.expected d.out)))\n",
         "sub/d.expected": "old d\n"},
    )  # fmt: skip


def test_promotion_of_diff_rules(tmp_path, env):
    project = promotion_project(tmp_path / "p")
    root = project.root
    assert pending_promotions(project) == []

    failed = start(["build", "@check"], project, env).wait(60)
    assert failed.exit_code == 1
    expected = {root / "b.expected", root / "c.expected", root / "sub" / "d.expected"}
    assert set(pending_promotions(project)) == expected
    assert (root / "_build" / ".to-promote").read_bytes().startswith(b"DUNE-TO-PROMOTEv")
    # What `dune promote` would change, as a unified diff (old content → corrected content).
    diff = promotion_diff(project, [root / "sub" / "d.expected"])
    assert diff == (
        "--- a/sub/d.expected\n+++ b/sub/d.expected\n@@ -1 +1 @@\n-old d\n+new d\n"
    )
    assert set(re.findall(r"^\+\+\+ b/(.*)$", promotion_diff(project), re.M)) == {
        "b.expected", "c.expected", "sub/d.expected"}
    assert (root / "b.expected").read_text() == "old b\n"  # showing the diff changes nothing

    one = promote(project, env, [root / "b.expected"])
    assert one.exit_code == 0, one.output
    assert "Promoting _build/default/b.out to b.expected." in one.output
    assert promoted_paths(one.output) == ["b.expected"]
    assert (root / "b.expected").read_text() == "new b\n"
    assert (root / "c.expected").read_text() == "old c\n"
    assert set(pending_promotions(project)) == expected - {root / "b.expected"}

    # A path in a subfolder, given absolute (dune 2.9.3 itself crashes on absolute paths).
    assert promote(project, env, [root / "sub" / "d.expected"]).exit_code == 0
    assert (root / "sub" / "d.expected").read_text() == "new d\n"
    assert pending_promotions(project) == [root / "c.expected"]

    nothing = promote(project, env, [root / "b.expected"])
    assert nothing.exit_code == 0 and "Nothing to promote" in nothing.output

    everything = promote(project, env)
    assert everything.exit_code == 0
    assert (root / "c.expected").read_text() == "new c\n"
    assert pending_promotions(project) == []
    assert start(["build", "@check"], project, env).wait(60).exit_code == 0

    with pytest.raises(OutsideProject):
        promote(project, env, [tmp_path / "elsewhere.expected"])


MARSHAL_DUNE_3 = r"""
(* The types dune 3's promotion.ml marshals into _build/.to-promote (version 4), where
   Path.Build.t and Path.Source.t are strings. *)
type file = { src : string; staging : string option; dst : string }
type op = File of file | Delete of [ `File | `Directory ] * string

let () =
  let db =
    [ File { src = "default/a.out"; staging = Some ".promotion-staging/a.ml"; dst = "a.ml" };
      Delete (`File, "stale.txt");
      File { src = "default/sub/b.out"; staging = None; dst = "sub/b.expected" } ]
  in
  print_string "DUNE-TO-PROMOTEv4:";
  print_string (Marshal.to_string db [])
"""

MARSHAL_LONG_V2 = r"""
type file = { src : string; staging : string option; dst : string }
let () =
  let db = List.init 5000 (fun i ->
    { src = Printf.sprintf "default/t%d.out" i; staging = None;
      dst = Printf.sprintf "t%d.expected" i }) in
  print_string "DUNE-TO-PROMOTEv2:";
  print_string (Marshal.to_string db [])
"""


def marshalled_by_ocaml(tmp_path: Path, program: str) -> bytes:
    ocaml = require_tool("ocaml", INSTALL)
    script = tmp_path / "marshal.ml"
    script.write_text(program)
    done = subprocess.run([ocaml, str(script)], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def test_reads_dune_3_promotion_entries(tmp_path):
    data = marshalled_by_ocaml(tmp_path, MARSHAL_DUNE_3)
    assert read_to_promote(data) == ["a.ml", "stale.txt", "sub/b.expected"]


def test_reads_a_long_promotion_list_without_recursion(tmp_path):
    data = marshalled_by_ocaml(tmp_path, MARSHAL_LONG_V2)
    paths = read_to_promote(data)
    assert len(paths) == 5000 and paths[4999] == "t4999.expected"


def test_unreadable_promotion_files_are_clear_errors(tmp_path):
    data = marshalled_by_ocaml(tmp_path, MARSHAL_DUNE_3)
    with pytest.raises(PromotionFormatError, match="version 9"):
        read_to_promote(data.replace(b"v4:", b"v9:", 1))
    with pytest.raises(PromotionFormatError, match="DUNE-TO-PROMOTEv"):
        read_to_promote(b"something else")
    for cut in (len(data) // 2, len(data) - 1, 25):
        with pytest.raises(PromotionFormatError):
            read_to_promote(data[:cut])
    project = make_project(tmp_path / "p", {})
    (project.root / "_build").mkdir()
    (project.root / "_build" / ".to-promote").write_bytes(data[:30])
    with pytest.raises(PromotionFormatError):
        pending_promotions(project)
