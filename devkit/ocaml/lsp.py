"""Params and results of ocaml-lsp-server's custom requests, as its documentation gives them.

The Neovim plugin sends these through Neovim's own LSP client; this module only builds the
params and reads the results, so it is testable without a server. Positions are LSP positions:
0-based lines, and `character` in the client's position encoding (UTF-16 code units unless the
client negotiated otherwise); `lsp_character`/`lsp_byte_column` convert from and to byte
columns in any of the encodings LSP knows, `utf16_column`/`byte_column` in UTF-16.

Shapes (ocaml-lsp-server's docs/ocamllsp/*-spec.md and its custom_requests/ sources):

- switchImplIntf: params `[uri]` (a bare array) → `uri[]`
- inferIntf: params `[uri]` (a bare array) → `string`
- typedHoles: `{uri}` → `Range[]`
- jumpToTypedHole: `{uri, position, direction, range?}` → `Range` or null
- construct: `{uri, position, depth?, withValues?}` → `{position: Range, result: string[]}` or null
- typeEnclosing: `{textDocument, position, index, verbosity?, rangeEnd?}`
  → `{enclosings: Range[], index, type}`
- getDocumentation: `{textDocument, position, identifier?, contentFormat?}`
  → `{doc: MarkupContent}` or null

A server announces each request under `capabilities.experimental.ocamllsp` (see `CAPABILITIES`).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

from devkit.errors import DevkitError

SWITCH_IMPL_INTF = "ocamllsp/switchImplIntf"
INFER_INTF = "ocamllsp/inferIntf"
TYPED_HOLES = "ocamllsp/typedHoles"
JUMP_TO_TYPED_HOLE = "ocamllsp/jumpToTypedHole"
CONSTRUCT = "ocamllsp/construct"
TYPE_ENCLOSING = "ocamllsp/typeEnclosing"
GET_DOCUMENTATION = "ocamllsp/getDocumentation"

CAPABILITIES = {
    SWITCH_IMPL_INTF: "handleSwitchImplIntf",
    INFER_INTF: "handleInferIntf",
    TYPED_HOLES: "handleTypedHoles",
    JUMP_TO_TYPED_HOLE: "handleJumpToTypedHole",
    CONSTRUCT: "handleConstruct",
    TYPE_ENCLOSING: "handleTypeEnclosing",
    GET_DOCUMENTATION: "handleGetDocumentation",
}


class LspResultError(DevkitError):
    """A server answered with something that is not what the request's documentation says."""


@dataclass(frozen=True)
class Position:
    line: int
    character: int

    def to_json(self) -> dict:
        return {"line": self.line, "character": self.character}


@dataclass(frozen=True)
class Range:
    start: Position
    end: Position

    def to_json(self) -> dict:
        return {"start": self.start.to_json(), "end": self.end.to_json()}


@dataclass(frozen=True)
class TypeEnclosing:
    """The type of `enclosings[index]`; `enclosings` go from the innermost outwards."""

    type: str
    index: int
    enclosings: list[Range]


@dataclass(frozen=True)
class Construction:
    """What `construct` offers for the hole at `range`."""

    range: Range
    candidates: list[str]


def supports(server_capabilities: dict | None, method: str) -> bool:
    """Whether a server's capabilities announce `method` (one of the constants above)."""
    experimental = (server_capabilities or {}).get("experimental") or {}
    announced = experimental.get("ocamllsp") or {}
    return bool(announced.get(CAPABILITIES[method]))


def file_uri(path: Path) -> str:
    """The `file://` URI of a path (made absolute)."""
    return Path(path).absolute().as_uri()


def uri_path(uri: str) -> Path:
    """The path of a `file://` URI."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise LspResultError(f"expected a file:// URI from the server, got {uri!r}")
    return Path(unquote(parsed.path))


def utf16_column(line: str, byte_column: int) -> int:
    """The UTF-16 column of the character that starts at `byte_column` (UTF-8) of `line`.

    >>> utf16_column("é = 1", 3)
    2
    """
    prefix = line.encode("utf-8")[:byte_column].decode("utf-8", errors="ignore")
    return len(prefix.encode("utf-16-le")) // 2


def byte_column(line: str, utf16_col: int) -> int:
    """The UTF-8 byte column of the character at UTF-16 column `utf16_col` of `line`.

    >>> byte_column("é = 1", 2)
    3
    """
    prefix = line.encode("utf-16-le")[:2 * utf16_col].decode("utf-16-le", errors="ignore")
    return len(prefix.encode("utf-8"))


#: The position encodings of LSP 3.17 (``PositionEncodingKind``).
ENCODINGS = ("utf-8", "utf-16", "utf-32")


def lsp_character(line: str, byte_col: int, encoding: str) -> int:
    """The LSP `character` of the character that starts at byte column `byte_col` (UTF-8) of
    `line`, counted in `encoding` (one of `ENCODINGS`; UTF-16 code units unless the client and
    server agreed on another). A column inside a character counts from that character's start.

    >>> [lsp_character("é = 😀x", 9, encoding) for encoding in ENCODINGS]  # at `x`
    [9, 6, 5]
    >>> lsp_character("😀x", 2, "utf-16")  # inside 😀
    0
    """
    if encoding == "utf-8":
        return byte_col
    if encoding == "utf-32":
        return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))
    return utf16_column(line, byte_col)


def lsp_byte_column(line: str, character: int, encoding: str) -> int:
    """The byte column (UTF-8) of LSP `character` of `line` counted in `encoding` (one of
    `ENCODINGS`); a `character` past the end of the line gives the line's length in bytes.

    >>> [lsp_byte_column("é = 😀x", character, encoding)  # `x`, in each encoding
    ...  for character, encoding in ((9, "utf-8"), (6, "utf-16"), (5, "utf-32"))]
    [9, 9, 9]
    >>> lsp_byte_column("é", 7, "utf-8")
    2
    """
    if encoding == "utf-8":
        return min(character, len(line.encode("utf-8")))
    if encoding == "utf-32":
        return len(line[:character].encode("utf-8"))
    return byte_column(line, character)


def switch_impl_intf_params(path: Path) -> list[str]:
    return [file_uri(path)]


def read_switch_impl_intf(result: Any) -> list[Path]:
    if not isinstance(result, list) or not result or not all(isinstance(u, str) for u in result):
        raise LspResultError(f"{SWITCH_IMPL_INTF}: expected a non-empty list of URIs")
    return [uri_path(uri) for uri in result]


def infer_intf_params(path: Path) -> list[str]:
    return [file_uri(path)]


def read_infer_intf(result: Any) -> str:
    if not isinstance(result, str):
        raise LspResultError(f"{INFER_INTF}: expected the interface as a string")
    return result


def typed_holes_params(path: Path) -> dict:
    return {"uri": file_uri(path)}


def read_typed_holes(result: Any) -> list[Range]:
    if not isinstance(result, list):
        raise LspResultError(f"{TYPED_HOLES}: expected a list of ranges")
    return [_range(item, TYPED_HOLES) for item in result]


def jump_to_typed_hole_params(path: Path, position: Position,
                              direction: Literal["next", "prev"] = "next",
                              within: Range | None = None) -> dict:
    params = {"uri": file_uri(path), "position": position.to_json(), "direction": direction}
    if within is not None:
        params["range"] = within.to_json()
    return params


def read_jump_to_typed_hole(result: Any) -> Range | None:
    return None if result is None else _range(result, JUMP_TO_TYPED_HOLE)


def construct_params(path: Path, position: Position, depth: int | None = None,
                     with_values: Literal["local", "none"] | None = None) -> dict:
    params: dict = {"uri": file_uri(path), "position": position.to_json()}
    if depth is not None:
        params["depth"] = depth
    if with_values is not None:
        params["withValues"] = with_values
    return params


def read_construct(result: Any) -> Construction | None:
    if result is None:
        return None
    candidates = result.get("result") if isinstance(result, dict) else None
    if not isinstance(candidates, list) or not all(isinstance(c, str) for c in candidates):
        raise LspResultError(f"{CONSTRUCT}: expected {{position, result: string[]}}")
    return Construction(_range(result.get("position"), CONSTRUCT), candidates)


def type_enclosing_params(path: Path, position: Position, index: int = 0, verbosity: int = 0,
                          range_end: Position | None = None) -> dict:
    params = {"textDocument": {"uri": file_uri(path)}, "position": position.to_json(),
              "index": index, "verbosity": verbosity}
    if range_end is not None:
        params["rangeEnd"] = range_end.to_json()
    return params


def read_type_enclosing(result: Any) -> TypeEnclosing:
    if not (isinstance(result, dict) and isinstance(result.get("type"), str)
            and isinstance(result.get("index"), int)
            and isinstance(result.get("enclosings"), list)):
        raise LspResultError(f"{TYPE_ENCLOSING}: expected {{enclosings, index, type}}")
    return TypeEnclosing(result["type"], result["index"],
                         [_range(item, TYPE_ENCLOSING) for item in result["enclosings"]])


def get_documentation_params(path: Path, position: Position, identifier: str | None = None,
                             content_format: Literal["plaintext", "markdown"] | None = None
                             ) -> dict:
    params: dict = {"textDocument": {"uri": file_uri(path)}, "position": position.to_json()}
    if identifier is not None:
        params["identifier"] = identifier
    if content_format is not None:
        params["contentFormat"] = content_format
    return params


def read_get_documentation(result: Any) -> str | None:
    """The documentation text, or None when the identifier has none."""
    if result is None:
        return None
    doc = result.get("doc") if isinstance(result, dict) else None
    if not isinstance(doc, dict) or not isinstance(doc.get("value"), str):
        raise LspResultError(f"{GET_DOCUMENTATION}: expected {{doc: MarkupContent}}")
    return doc["value"]


def _position(value: Any, method: str) -> Position:
    if (isinstance(value, dict) and isinstance(value.get("line"), int)
            and isinstance(value.get("character"), int)):
        return Position(value["line"], value["character"])
    raise LspResultError(f"{method}: malformed position {value!r}")


def _range(value: Any, method: str) -> Range:
    if not isinstance(value, dict):
        raise LspResultError(f"{method}: malformed range {value!r}")
    return Range(_position(value.get("start"), method), _position(value.get("end"), method))
