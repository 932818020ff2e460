"""Pending promotions (`dune promote`): which files dune would change, and promoting them.

dune 2.9.3 has no ``dune promote --dry-run`` or ``dune promotion list``; pending
promotions are in ``_build/.to-promote``: ``DUNE-TO-PROMOTEv2:`` followed by an OCaml
``Marshal`` value, a list of ``{src; staging; dst}`` records. `pending_promotions` reads it
(versions 2 and 3, and dune 3's version 4 with its ``File``/``Delete`` entries) with a small
Marshal reader; the file is absent when nothing is pending.
"""

from __future__ import annotations

import difflib
import os
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devkit.errors import DevkitError
from devkit.ocaml.dune import DuneResult, start
from devkit.ocaml.project import Project
from devkit.ocaml.sexp import parse_sexp


class PromotionFormatError(DevkitError):
    """``_build/.to-promote`` written in a form devkit cannot read."""


class _Block:
    __slots__ = ("fields", "tag")

    def __init__(self, tag: int, size: int) -> None:
        self.tag = tag
        self.fields: list[object] = [None] * size


_MARSHAL_SMALL = 0x8495A6BE
_MARSHAL_BIG = 0x8495A6BF


def unmarshal(data: bytes) -> object:
    """An OCaml ``Marshal`` value as Python data: ints, `bytes` for strings, floats, and
    `_Block` (tag and fields) for blocks; shared values are shared. Raises
    `PromotionFormatError` for anything else (closures, custom blocks, compressed data).

    Iterative, so a long list does not hit Python's recursion limit.
    """
    if len(data) < 20:
        raise PromotionFormatError("dune's promotion file is truncated")
    magic = struct.unpack_from(">I", data, 0)[0]
    if magic == _MARSHAL_SMALL:
        pos = 20
    elif magic == _MARSHAL_BIG:
        pos = 32
    else:
        raise PromotionFormatError(f"dune's promotion file has unknown Marshal magic {magic:#x}")
    objects: list[object] = []
    root = _Block(0, 1)
    stack: list[tuple[_Block, int]] = [(root, 0)]

    def take(count: int) -> bytes:
        nonlocal pos
        if pos + count > len(data):
            raise PromotionFormatError("dune's promotion file is truncated")
        chunk = data[pos : pos + count]
        pos += count
        return chunk

    def number(fmt: str) -> int:
        return struct.unpack(fmt, take(struct.calcsize(fmt)))[0]

    while stack:
        block, index = stack.pop()
        if index + 1 < len(block.fields):
            stack.append((block, index + 1))
        code = take(1)[0]
        value: object
        new_block: _Block | None = None
        if code >= 0x80:
            tag, size = code & 0xF, (code >> 4) & 0x7
            value = new_block = _Block(tag, size)
        elif code >= 0x40:
            value = code & 0x3F
        elif code >= 0x20:
            value = take(code & 0x1F)
            objects.append(value)
        elif code in (0x00, 0x01, 0x02, 0x03):
            value = number((">b", ">h", ">i", ">q")[code])
        elif code in (0x04, 0x05, 0x06, 0x14):
            offset = number({0x04: ">B", 0x05: ">H", 0x06: ">I", 0x14: ">Q"}[code])
            if not 0 < offset <= len(objects):
                raise PromotionFormatError("dune's promotion file has a bad shared reference")
            value = objects[len(objects) - offset]
        elif code in (0x08, 0x13):
            header = number(">I" if code == 0x08 else ">Q")
            value = new_block = _Block(header & 0xFF, header >> 10)
        elif code in (0x09, 0x0A, 0x15):
            value = take(number({0x09: ">B", 0x0A: ">I", 0x15: ">Q"}[code]))
            objects.append(value)
        elif code in (0x0B, 0x0C):
            value = struct.unpack(">d" if code == 0x0B else "<d", take(8))[0]
            objects.append(value)
        else:
            raise PromotionFormatError(f"dune's promotion file holds Marshal code {code:#x}")
        if new_block is not None and new_block.fields:
            objects.append(new_block)
            stack.append((new_block, 0))
        block.fields[index] = value
    return root.fields[0]


def _ocaml_list(value: object) -> list[object]:
    items = []
    while isinstance(value, _Block):
        if value.tag != 0 or len(value.fields) != 2:
            raise PromotionFormatError("dune's promotion file is not a list")
        items.append(value.fields[0])
        value = value.fields[1]
    if value != 0:
        raise PromotionFormatError("dune's promotion file is not a list")
    return items


def _record(record: object) -> tuple[bytes, bytes]:
    """``(dst, content)`` of a promotion ``{src; staging; dst}`` record: the file to change and
    the build file holding its new content (``staging`` when set, else ``src``), relative to
    ``_build``."""
    if (
        not isinstance(record, _Block)
        or len(record.fields) != 3
        or not isinstance(record.fields[0], bytes)
        or not isinstance(record.fields[2], bytes)
    ):
        raise PromotionFormatError("dune's promotion file has an unexpected entry")
    src, staging, dst = record.fields
    if isinstance(staging, _Block) and len(staging.fields) == 1:  # Some staging
        if not isinstance(staging.fields[0], bytes):
            raise PromotionFormatError("dune's promotion file has an unexpected entry")
        return dst, staging.fields[0]
    return dst, src


_TO_PROMOTE = re.compile(rb"^DUNE-TO-PROMOTEv(\d+):")


@dataclass(frozen=True)
class Promotion:
    """One pending correction: `path` (relative to the root) gets the content of `corrected`
    (relative to ``_build``), or is deleted when `corrected` is None (dune 3's ``Delete``)."""

    path: str
    corrected: str | None


def read_promotions(data: bytes) -> list[Promotion]:
    """The pending corrections in the bytes of a ``_build/.to-promote`` file, in file order,
    one per path (the first).

    Version 2 (dune 2.x) and 3: a list of ``{src; staging; dst}``. Version 4 (dune 3.x): a list
    of ``File {src; staging; dst}`` and ``Delete (what, path)``.
    """
    match = _TO_PROMOTE.match(data)
    if not match:
        raise PromotionFormatError(
            "_build/.to-promote does not start with DUNE-TO-PROMOTEv; run `dune promote` directly"
        )
    version = int(match.group(1))
    items = _ocaml_list(unmarshal(data[match.end() :]))
    found: list[tuple[bytes, bytes | None]] = []
    if version in (2, 3):
        found = [_record(item) for item in items]
    elif version == 4:
        for item in items:
            if isinstance(item, _Block) and item.tag == 0 and len(item.fields) == 1:
                found.append(_record(item.fields[0]))
            elif isinstance(item, _Block) and item.tag == 1 and len(item.fields) == 2:
                if not isinstance(item.fields[1], bytes):
                    raise PromotionFormatError("dune's promotion file has an unexpected entry")
                found.append((item.fields[1], None))
            else:
                raise PromotionFormatError("dune's promotion file has an unexpected entry")
    else:
        raise PromotionFormatError(
            f"_build/.to-promote is version {version}, which devkit does not read (it reads "
            f"2 to 4); run `dune promote` directly"
        )
    seen: dict[str, Promotion] = {}
    for dst, corrected in found:
        path = os.fsdecode(dst)
        content = None if corrected is None else os.fsdecode(corrected)
        seen.setdefault(path, Promotion(path, content))
    return list(seen.values())


def read_to_promote(data: bytes) -> list[str]:
    """The paths (relative to the root) that `read_promotions` finds, in file order: a pending
    deletion is listed by its path too (``dune promote`` deletes it)."""
    return [promotion.path for promotion in read_promotions(data)]


def _pending(project: Project) -> list[Promotion]:
    try:
        data = (project.root / "_build" / ".to-promote").read_bytes()
    except FileNotFoundError:
        return []
    except OSError as error:
        raise PromotionFormatError(
            f"cannot read {project.root / '_build' / '.to-promote'}: {error.strerror}"
        ) from error
    return read_promotions(data)


def pending_promotions(project: Project) -> list[Path]:
    """Absolute paths of the source files ``dune promote`` would change, from the last build's
    ``_build/.to-promote`` (empty when the file is absent: nothing is pending)."""
    return [project.root / promotion.path for promotion in _pending(project)]


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines(keepends=True)
    except FileNotFoundError:
        return []


def promotion_diff(project: Project, files: list[Path] | None = None) -> str:
    """A unified diff of what ``dune promote [FILES]`` would change (every pending correction
    when `files` is None), ``a/``/``b/`` paths relative to the root; "" when nothing is
    pending for them."""
    wanted = None if files is None else {str(project.relative(path)) for path in files}
    chunks = []
    for promotion in _pending(project):
        if wanted is not None and promotion.path not in wanted:
            continue
        before = _lines(project.root / promotion.path)
        after = (
            [] if promotion.corrected is None
            else _lines(project.root / "_build" / promotion.corrected)
        )
        diff = difflib.unified_diff(
            before, after, f"a/{promotion.path}", f"b/{promotion.path}"
        )
        chunks.extend(line if line.endswith("\n") else line + "\n" for line in diff)
    return "".join(chunks)


def promote(
    project: Project,
    env: Mapping[str, str],
    files: list[Path] | None = None,
    timeout: float | None = 60.0,
) -> DuneResult:
    """Run ``dune promote [FILES]`` and wait for it (it copies files; it does not build). With
    `files` None every pending correction is promoted; files are passed relative to the root
    (`OutsideProject` for one outside it). dune warns "Nothing to promote for F" and exits 0
    for a file with nothing pending."""
    relative = [str(project.relative(path)) for path in files or []]
    return start(["promote", *relative], project, env).wait(timeout)


_PROMOTING = re.compile(r"^Promoting (.+)\.$", re.M)


def promoted_paths(output: str) -> list[str]:
    """The files (relative to the root) that dune's output says it promoted, in order: the
    ``Promoting SRC to DST.`` lines of ``dune promote``, ``dune fmt`` and ``--auto-promote``
    (dune quotes a path with spaces or special characters, as an s-expression atom).

    >>> promoted_paths('Promoting _build/default/b.out to b.expected.\\nDone.\\n'
    ...                'Promoting "_build/default/a b.out" to "a b.txt".\\n')
    ['b.expected', 'a b.txt']
    """
    paths = []
    for words in _PROMOTING.findall(output):
        try:
            atoms = parse_sexp(words)
        except DevkitError:  # not dune's sentence after all
            continue
        if len(atoms) == 3 and atoms[1] == "to" and isinstance(atoms[2], str):
            paths.append(atoms[2])
    return paths
