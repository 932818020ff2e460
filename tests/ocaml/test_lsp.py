"""ocamllsp custom-request helpers: params exactly as ocaml-lsp-server's docs give them.

The expected JSON below is written from the request specs in ocaml-lsp-server's
docs/ocamllsp/*-spec.md and its custom_requests/*.ml sources (switchImplIntf and inferIntf
take a bare one-element array; the hole requests put `uri` at the top level; typeEnclosing and
getDocumentation take TextDocumentPositionParams).
"""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devkit.ocaml import lsp
from devkit.ocaml.lsp import LspResultError, Position, Range

FILE = Path("/project/src/a b.ml")
URI = "file:///project/src/a%20b.ml"
AT = Position(3, 7)
RANGE_JSON = {"start": {"line": 1, "character": 2}, "end": {"line": 1, "character": 5}}
RANGE = Range(Position(1, 2), Position(1, 5))


def test_uris_are_file_uris_and_round_trip():
    assert lsp.file_uri(FILE) == URI
    assert lsp.uri_path(URI) == FILE
    with pytest.raises(LspResultError):
        lsp.uri_path("untitled:Untitled-1")


def test_switch_impl_intf_and_infer_intf_take_a_bare_array():
    assert lsp.switch_impl_intf_params(FILE) == [URI]
    assert lsp.infer_intf_params(FILE) == [URI]
    assert lsp.read_switch_impl_intf([URI, "file:///project/src/a%20b.mli"]) == [
        FILE, Path("/project/src/a b.mli")]
    assert lsp.read_infer_intf("val x : int\n") == "val x : int\n"
    for bad in (None, [], "file:///x", [1]):
        with pytest.raises(LspResultError):
            lsp.read_switch_impl_intf(bad)
    with pytest.raises(LspResultError):
        lsp.read_infer_intf(None)


def test_typed_hole_requests():
    assert lsp.typed_holes_params(FILE) == {"uri": URI}
    assert lsp.read_typed_holes([RANGE_JSON, RANGE_JSON]) == [RANGE, RANGE]
    assert lsp.read_typed_holes([]) == []
    assert lsp.jump_to_typed_hole_params(FILE, AT, "prev") == {
        "uri": URI, "position": {"line": 3, "character": 7}, "direction": "prev"}
    assert lsp.jump_to_typed_hole_params(FILE, AT, within=RANGE)["range"] == RANGE_JSON
    assert lsp.read_jump_to_typed_hole(RANGE_JSON) == RANGE
    assert lsp.read_jump_to_typed_hole(None) is None
    with pytest.raises(LspResultError):
        lsp.read_typed_holes([{"start": {"line": 1}}])


def test_construct():
    assert lsp.construct_params(FILE, AT) == {"uri": URI, "position": {"line": 3, "character": 7}}
    assert lsp.construct_params(FILE, AT, depth=2, with_values="local") == {
        "uri": URI, "position": {"line": 3, "character": 7}, "depth": 2, "withValues": "local"}
    result = lsp.read_construct({"position": RANGE_JSON, "result": ["Some _", "None"]})
    assert result == lsp.Construction(RANGE, ["Some _", "None"])
    assert lsp.read_construct(None) is None
    with pytest.raises(LspResultError):
        lsp.read_construct({"position": RANGE_JSON, "result": "Some _"})


def test_type_enclosing():
    assert lsp.type_enclosing_params(FILE, AT, index=2, verbosity=1) == {
        "textDocument": {"uri": URI}, "position": {"line": 3, "character": 7},
        "index": 2, "verbosity": 1}
    assert lsp.type_enclosing_params(FILE, AT, range_end=Position(3, 9))["rangeEnd"] == {
        "line": 3, "character": 9}
    answer = lsp.read_type_enclosing({"enclosings": [RANGE_JSON], "index": 0, "type": "int"})
    assert answer == lsp.TypeEnclosing("int", 0, [RANGE])
    with pytest.raises(LspResultError):
        lsp.read_type_enclosing({"enclosings": [], "type": "int"})


def test_get_documentation():
    assert lsp.get_documentation_params(FILE, AT, identifier="List.map",
                                        content_format="markdown") == {
        "textDocument": {"uri": URI}, "position": {"line": 3, "character": 7},
        "identifier": "List.map", "contentFormat": "markdown"}
    assert lsp.read_get_documentation(
        {"doc": {"kind": "plaintext", "value": "Apply f."}}) == "Apply f."
    assert lsp.read_get_documentation(None) is None
    with pytest.raises(LspResultError):
        lsp.read_get_documentation({"doc": "Apply f."})


def test_capabilities_are_read_from_experimental_ocamllsp():
    capabilities = {"experimental": {"ocamllsp": {"handleTypeEnclosing": True,
                                                  "handleSwitchImplIntf": False}}}
    assert lsp.supports(capabilities, lsp.TYPE_ENCLOSING)
    assert not lsp.supports(capabilities, lsp.SWITCH_IMPL_INTF)
    assert not lsp.supports(capabilities, lsp.CONSTRUCT)
    assert not lsp.supports(None, lsp.TYPE_ENCLOSING)


@given(st.text(), st.data())
def test_utf16_and_byte_columns_convert_at_every_character_boundary(line, data):
    boundary = data.draw(st.integers(0, len(line)))
    prefix = line[:boundary]
    byte_col = len(prefix.encode("utf-8"))
    utf16_col = len(prefix.encode("utf-16-le")) // 2
    assert lsp.utf16_column(line, byte_col) == utf16_col
    assert lsp.byte_column(line, utf16_col) == byte_col


@given(st.text(), st.data(), st.sampled_from(lsp.ENCODINGS))
def test_lsp_characters_and_byte_columns_convert_in_every_encoding(line, data, encoding):
    boundary = data.draw(st.integers(0, len(line)))
    prefix = line[:boundary]
    byte_col = len(prefix.encode("utf-8"))
    character = {"utf-8": byte_col, "utf-16": len(prefix.encode("utf-16-le")) // 2,
                 "utf-32": len(prefix)}[encoding]
    assert lsp.lsp_character(line, byte_col, encoding) == character
    assert lsp.lsp_byte_column(line, character, encoding) == byte_col
    past_the_end = 4 * len(line) + 1  # more than the line's length in any encoding
    assert lsp.lsp_byte_column(line, past_the_end, encoding) == len(line.encode("utf-8"))
