"""The git bundle file format, read and written as bytes.

A bundle is a header followed by a pack (see git's gitformat-bundle documentation):

    # v2 git bundle\n            or  "# v3 git bundle\n" followed by "@key=value\n" capabilities
    -<oid> <comment>\n           prerequisites: commits the receiver must already have
    <oid> <refname>\n            the refs the bundle carries
    \n                           the end of the header
    PACK <version> <count> ...   the packfile, ending with a checksum of everything before it

`scan_bundle` checks a whole file offline in one pass: header grammar, pack magic and version,
object count, the pack's trailing checksum, and the SHA-256 of the file.
"""

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from devkit.bundle.refname import is_store_refname
from devkit.errors import DevkitError

SIGNATURES = {b"# v2 git bundle\n": 2, b"# v3 git bundle\n": 3}
HASH_LENGTHS = {"sha1": 20, "sha256": 32}
# The v3 capabilities git knows (gitformat-bundle); git refuses a bundle with any other.
CAPABILITIES = ("object-format", "filter")
# A filter-spec as git writes it in `@filter=` (normalised: `blob:limit=1k` becomes 1024).
FILTER_SPEC = re.compile(r"blob:none|blob:limit=\d+|tree:\d+|object:type=(tag|commit|tree|blob)"
                         r"|sparse:oid=[!-~]+|combine:[!-~]+")
PACK_HEADER_LENGTH = 12
_CHUNK = 4 << 20
_MAX_HEADER_LINE = 64 << 10


class BundleFormatError(DevkitError):
    """A file is not a well-formed git bundle; the message names the check that failed."""


@dataclass(frozen=True)
class BundleHeader:
    """What a bundle's header says; `pack_offset` is where its pack starts."""

    version: int
    capabilities: dict[str, str]
    prerequisites: list[str]
    refs: list[tuple[str, str]]  # (oid, refname), in file order
    pack_offset: int

    @property
    def object_format(self) -> str:
        return self.capabilities.get("object-format", "sha1")

    @property
    def filter(self) -> str | None:
        """The filter-spec the pack was written with (`@filter=`), None for a complete pack."""
        return self.capabilities.get("filter")


@dataclass(frozen=True)
class BundleScan:
    """The result of checking a whole bundle file."""

    header: BundleHeader
    size: int
    sha256: str
    pack_version: int
    object_count: int
    pack_checksum: str
    warnings: list[str] = field(default_factory=list)


def _oid_pattern(object_format: str) -> re.Pattern[bytes]:
    return re.compile(rb"[0-9a-f]{%d}" % (2 * HASH_LENGTHS[object_format]))


def read_header(stream: BinaryIO, where: str) -> BundleHeader:
    """Parse the header at the start of `stream`, leaving it positioned at the pack."""
    signature = stream.readline(_MAX_HEADER_LINE)
    if signature not in SIGNATURES:
        raise BundleFormatError(f"{where}: not a git bundle (no v2/v3 signature line)")
    version = SIGNATURES[signature]
    offset = len(signature)
    capabilities: dict[str, str] = {}
    prerequisites: list[str] = []
    refs: list[tuple[str, str]] = []
    oid = _oid_pattern("sha1")
    while True:
        line = stream.readline(_MAX_HEADER_LINE)
        offset += len(line)
        if not line.endswith(b"\n"):
            raise BundleFormatError(f"{where}: header is truncated or has an over-long line")
        line = line[:-1]
        if line == b"":
            break
        if line.startswith(b"@"):
            if version < 3 or prerequisites or refs:
                raise BundleFormatError(f"{where}: misplaced capability line in header")
            key, _, value = line[1:].decode(errors="replace").partition("=")
            if key not in CAPABILITIES:
                raise BundleFormatError(f"{where}: unknown capability {key!r} in header (git "
                                        f"bundles have {' and '.join(CAPABILITIES)})")
            if key in capabilities:
                raise BundleFormatError(f"{where}: capability {key!r} given twice in header")
            capabilities[key] = value
            if key == "filter" and not FILTER_SPEC.fullmatch(value):
                raise BundleFormatError(f"{where}: malformed filter {value!r} in header")
            if key == "object-format":
                if value not in HASH_LENGTHS:
                    raise BundleFormatError(f"{where}: unknown object format {value!r}")
                oid = _oid_pattern(value)
            continue
        if line.startswith(b"-"):
            match = oid.match(line, 1)
            if not match or (len(line) > match.end() and line[match.end()] != 0x20):
                raise BundleFormatError(f"{where}: malformed prerequisite line in header")
            prerequisites.append(match.group().decode())
            continue
        match = oid.match(line)
        if not match or len(line) <= match.end() + 1 or line[match.end()] != 0x20:
            raise BundleFormatError(f"{where}: malformed ref line in header")
        try:
            name = line[match.end() + 1:].decode("utf-8")
        except UnicodeDecodeError:
            raise BundleFormatError(f"{where}: ref name in header is not UTF-8") from None
        if name != "HEAD" and not is_store_refname(name):
            raise BundleFormatError(f"{where}: invalid ref name {name!r} in header")
        refs.append((match.group().decode(), name))
    return BundleHeader(version, capabilities, prerequisites, refs, offset)


def read_header_file(path: Path) -> BundleHeader:
    with open(path, "rb") as stream:
        return read_header(stream, str(path))


def header_bytes(prerequisites: Iterable[str], refs: Iterable[tuple[str, str]],
                 object_format: str = "sha1", filter_spec: str | None = None) -> bytes:
    """The header of a bundle: v2 for a complete pack of a SHA-1 repository, otherwise v3 with
    its capabilities as git writes them (`@object-format=`, even sha1, then `@filter=`)."""
    if object_format == "sha1" and filter_spec is None:
        lines = [b"# v2 git bundle"]
    else:
        lines = [b"# v3 git bundle", b"@object-format=" + object_format.encode()]
        if filter_spec is not None:
            lines.append(b"@filter=" + filter_spec.encode())
    lines += [b"-" + oid.encode() for oid in prerequisites]
    lines += [oid.encode() + b" " + name.encode() for oid, name in refs]
    return b"\n".join(lines) + b"\n\n"


def scan_bundle(path: Path, progress: Callable[[int], None] | None = None) -> BundleScan:
    """Check one bundle file offline and return what it holds.

    Raises BundleFormatError naming the first check that fails. `progress` is called with the
    number of bytes read so far.
    """
    where = str(path)
    try:
        stream = open(path, "rb")  # noqa: SIM115 (closed by the with below)
    except OSError as error:
        raise BundleFormatError(f"{where}: cannot read: {error.strerror}") from None
    with stream:
        file_hash = hashlib.sha256()
        header = read_header(stream, where)
        stream.seek(0)
        file_hash.update(stream.read(header.pack_offset))
        pack_head = stream.read(PACK_HEADER_LENGTH)
        file_hash.update(pack_head)
        if len(pack_head) < PACK_HEADER_LENGTH or pack_head[:4] != b"PACK":
            raise BundleFormatError(f"{where}: pack is missing or has no PACK signature")
        pack_version = int.from_bytes(pack_head[4:8], "big")
        if pack_version not in (2, 3):
            raise BundleFormatError(f"{where}: unsupported pack version {pack_version}")
        object_count = int.from_bytes(pack_head[8:12], "big")
        checksum_length = HASH_LENGTHS[header.object_format]
        pack_hash = hashlib.new(header.object_format)
        pack_hash.update(pack_head)
        held_back = b""  # the last bytes read, which may be the trailing checksum
        size = header.pack_offset + PACK_HEADER_LENGTH
        buffer = bytearray(_CHUNK)  # reused: no new 4 MiB object for every read
        view = memoryview(buffer)
        while length := stream.readinto(buffer):
            chunk = view[:length]
            file_hash.update(chunk)
            size += length
            if length >= checksum_length:
                pack_hash.update(held_back)
                pack_hash.update(chunk[:-checksum_length])
                held_back = bytes(chunk[-checksum_length:])
            else:
                held_back += bytes(chunk)
                pack_hash.update(held_back[:-checksum_length])
                held_back = held_back[-checksum_length:]
            if progress:
                progress(size)
    pack_length = size - header.pack_offset
    # Every object takes at least 2 bytes (a type/size byte and some zlib data).
    if pack_length < PACK_HEADER_LENGTH + checksum_length + 2 * object_count:
        raise BundleFormatError(
            f"{where}: pack is truncated ({pack_length} bytes for {object_count} objects)")
    if pack_hash.digest() != held_back:
        raise BundleFormatError(f"{where}: pack checksum does not match (corrupt or truncated)")
    return BundleScan(header=header, size=size, sha256=file_hash.hexdigest(),
                      pack_version=pack_version, object_count=object_count,
                      pack_checksum=held_back.hex())
