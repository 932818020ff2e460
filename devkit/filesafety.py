"""Writing files so that a crash never leaves half of one, and locks that name their holder.

`crash_point` is test-only fault injection: when the environment variable DEVKIT_TEST_CRASH_AT
is N, the process kills itself with SIGKILL at the N-th crash point it reaches. The crash tests
run a command with N = 1, 2, 3, ... until it completes, so every point is tried.
"""

import fcntl
import os
import shutil
import signal
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TypeVar

from devkit.errors import DevkitError

T = TypeVar("T")
TEMP_PREFIX = ".tmp-"
_crash_points_reached = 0


class Locked(DevkitError):
    """Another devkit process holds the lock."""


def crash_point(name: str) -> None:
    """Die here with SIGKILL if the crash test asked for this point (see the module docs)."""
    global _crash_points_reached
    target = os.environ.get("DEVKIT_TEST_CRASH_AT", "")
    if not target.isdigit():
        return
    _crash_points_reached += 1
    if _crash_points_reached == int(target):
        os.kill(os.getpid(), signal.SIGKILL)


def fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, write: Callable[[BinaryIO], T]) -> T:
    """Call `write` on a temporary file beside `path`, fsync it, and rename it to `path`.

    Either the whole new file is at `path` afterwards, or (on any failure or crash) the old one.
    The temporary file is made anew (O_EXCL, O_NOFOLLOW): in a shared folder, a file or symlink
    planted at its name is removed, never written through.
    """
    temporary = path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{path.name}")
    try:
        temporary.unlink(missing_ok=True)  # a leftover of a killed run with the same pid
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as stream:
            result = write(stream)
            stream.flush()
            crash_point(f"before fsync of {path.name}")
            os.fsync(stream.fileno())
        crash_point(f"before rename to {path.name}")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)
    crash_point(f"after rename to {path.name}")
    return result


def remove_stale_temporaries(folder: Path) -> None:
    """Remove what interrupted writes left behind (call with the folder's lock held)."""
    for leftover in folder.glob(f"{TEMP_PREFIX}*"):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)  # a scratch folder
        else:
            leftover.unlink(missing_ok=True)


@contextmanager
def exclusive_lock(path: Path, what: str, holder: str) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` for the duration of the block.

    The lock is an flock, so the kernel releases it when the holder dies, even by SIGKILL; the
    file keeps a line naming the holder, which a refused process shows. The file itself stays.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            current = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "another process"
            raise Locked(f"{what} is in use by {current}; wait for it to finish") from None
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
        line = f"{holder} (pid {os.getpid()} on {socket.gethostname()}, since {since})\n"
        os.ftruncate(fd, 0)
        os.pwrite(fd, line.encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)
