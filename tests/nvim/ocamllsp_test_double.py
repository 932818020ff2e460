"""TEST DOUBLE for ocaml-lsp-server (`ocamllsp`) — not an OCaml language server.

ocaml-lsp-server cannot be installed on the machines devkit is tested on (Debian has no package,
opam cannot reach its repository), so the plugin's LSP path is tested with Neovim's real LSP
client talking to this small stand-in. It speaks LSP over stdio (``Content-Length`` framing,
JSON-RPC 2.0) and answers the requests the plugin sends with exactly the shapes documented in
ocaml-lsp-server's docs/ocamllsp/*-spec.md, but its *answers* are derived from the text of the
open documents by the simple rules below, never from OCaml's type checker:

- ``initialize``: capabilities with full text sync, ``definitionProvider``, UTF-16 positions,
  and ``experimental.ocamllsp`` flags (``handleTypeEnclosing``, ``handleSwitchImplIntf``,
  ``handleInferIntf``, ``handleTypedHoles``, ``handleJumpToTypedHole``, ``handleConstruct``)
  minus those named, comma-separated, in ``OCAMLLSP_TEST_DOUBLE_WITHOUT``;
  ``serverInfo.name`` is ``ocamllsp-test-double``.
- typed holes: every ``_`` that stands alone (no identifier character on either side), in
  document order.
- ``ocamllsp/typeEnclosing``: the enclosings are (1) the identifier under the cursor, when there
  is one, (2) the cursor's line without its indentation, (3) the whole document; their types
  are ``ident <identifier>``, ``line <1-based line number>`` and the three lines
  ``sig``/``  (test double)``/``end``. An index past the end gives ocaml-lsp's own
  ``{"type": "<no information>", "enclosings": [], "index": i}``.
- ``textDocument/definition``: the identifier under the cursor, looked up as ``let [rec] NAME``,
  ``and NAME`` or ``val NAME`` in that document, then in the other open ones, then in the
  ``.ml`` files under the root folder (``_build`` and dot folders skipped): ``Location[]``,
  or ``null``.
- ``ocamllsp/switchImplIntf`` (params ``[uri]`` as ocaml-lsp's sources read them, or
  ``{"uri": uri}`` as its docs show): the counterparts that exist on disk (``a.ml`` ↔ ``a.mli``),
  else the one to create.
- ``ocamllsp/inferIntf`` (params ``[uri]``; the document must be open, as the spec requires):
  one ``val NAME : 'a`` line per top-level ``let NAME`` (``let ()`` skipped).
- ``ocamllsp/jumpToTypedHole``: ocaml-lsp's rule (typed_hole.ml): next = first hole starting
  after the position, else the first; prev = last hole ending before it, else the last; only
  holes inside ``range`` when given; ``null`` without holes.
- ``ocamllsp/construct``: when the position is on a hole, ``{"position": <its range>,
  "result": candidates}`` where candidates are those listed in a comment ``(* construct: A | B *)``
  on the hole's line, else ``["Some _", "None"]``; ``null`` off a hole.

Requests whose method is named, comma-separated, in ``OCAMLLSP_TEST_DOUBLE_SILENT`` get no
answer at all (a server that hangs).

Every message received is appended as one JSON line ``{"method": …, "params": …}`` to the file
named by ``OCAMLLSP_TEST_DOUBLE_LOG`` (when set), so tests can check what the plugin sent.
``ocamllsp --version`` prints ``ocamllsp-test-double 0.0``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

NAME = "ocamllsp-test-double"
VERSION = "0.0"
FLAGS = ("handleTypeEnclosing", "handleSwitchImplIntf", "handleInferIntf", "handleTypedHoles",
         "handleJumpToTypedHole", "handleConstruct")
HOLE = re.compile(r"(?<![A-Za-z0-9_'])_(?![A-Za-z0-9_'])")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_']*")
CANDIDATES = re.compile(r"\(\*\s*construct:(.*?)\*\)")
DOCUMENT_TYPE = "sig\n  (test double)\nend"

documents: dict[str, str] = {}
root: Path | None = None


# -- positions: LSP characters are UTF-16 code units ------------------------------------------

def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def char_index(line: str, character: int) -> int:
    """The index in `line` (a Python str) of UTF-16 column `character`."""
    count = 0
    for index, char in enumerate(line):
        if count >= character:
            return index
        count += units(char)
    return len(line)


def position(line: int, index: int, text: str) -> dict:
    return {"line": line, "character": units(text[:index])}


def span(line: int, start: int, end: int, text: str) -> dict:
    return {"start": position(line, start, text), "end": position(line, end, text)}


def key(pos: dict) -> tuple[int, int]:
    return pos["line"], pos["character"]


# -- answers ---------------------------------------------------------------------------------

def lines_of(uri: str) -> list[str]:
    return documents.get(uri, "").split("\n")


def holes(uri: str) -> list[dict]:
    found = []
    for number, line in enumerate(lines_of(uri)):
        for match in HOLE.finditer(line):
            found.append(span(number, match.start(), match.end(), line))
    return found


def word_at(uri: str, pos: dict) -> tuple[str, dict] | None:
    lines = lines_of(uri)
    if pos["line"] >= len(lines):
        return None
    line = lines[pos["line"]]
    index = char_index(line, pos["character"])
    for match in IDENT.finditer(line):
        if match.start() <= index < match.end():
            return match.group(0), span(pos["line"], match.start(), match.end(), line)
    return None


def type_enclosing(params: dict) -> dict:
    uri = params["textDocument"]["uri"]
    pos = params["position"]
    index = params["index"]
    lines = lines_of(uri)
    enclosings: list[tuple[str, dict]] = []
    word = word_at(uri, pos)
    if word is not None:
        enclosings.append((f"ident {word[0]}", word[1]))
    if pos["line"] < len(lines):
        line = lines[pos["line"]]
        indent = len(line) - len(line.lstrip())
        if line.strip():
            enclosings.append((f"line {pos['line'] + 1}",
                               span(pos["line"], indent, len(line.rstrip()), line)))
    last = len(lines) - 1
    enclosings.append((DOCUMENT_TYPE, {"start": {"line": 0, "character": 0},
                                       "end": {"line": last, "character": units(lines[last])}}))
    if not 0 <= index < len(enclosings):
        return {"type": "<no information>", "enclosings": [], "index": index}
    return {"type": enclosings[index][0], "enclosings": [r for _, r in enclosings],
            "index": index}


def definition_in(uri: str, text: str, name: str) -> dict | None:
    pattern = re.compile(r"\b(?:let(?:\s+rec)?|and|val)\s+(" + re.escape(name) + r")\b")
    for number, line in enumerate(text.split("\n")):
        match = pattern.search(line)
        if match:
            return {"uri": uri, "range": span(number, match.start(1), match.end(1), line)}
    return None


def definition(params: dict) -> list[dict] | None:
    uri = params["textDocument"]["uri"]
    word = word_at(uri, params["position"])
    if word is None:
        return None
    name = word[0]
    candidates = [(uri, documents.get(uri, ""))]
    candidates += [(other, text) for other, text in documents.items() if other != uri]
    if root is not None:
        for folder, subfolders, files in os.walk(root):
            subfolders[:] = sorted(s for s in subfolders if not s.startswith((".", "_")))
            for file in sorted(files):
                if file.endswith(".ml"):
                    path = Path(folder, file)
                    other = path.as_uri()
                    if other not in documents:
                        candidates.append((other, path.read_text(encoding="utf-8")))
    for other, text in candidates:
        found = definition_in(other, text, name)
        if found is not None:
            return [found]
    return None


def uri_path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


def switch_impl_intf(params) -> list[str]:
    uri = params[0] if isinstance(params, list) else params["uri"]
    path = uri_path(uri)
    others = {".ml": [".mli"], ".mli": [".ml", ".mll", ".mly"], ".mll": [".mli"],
              ".mly": [".mli"]}.get(path.suffix, [])
    if not others:
        return [uri]
    existing = [path.with_suffix(s).as_uri() for s in others if path.with_suffix(s).exists()]
    return existing or [path.with_suffix(others[0]).as_uri()]


class RequestError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def infer_intf(params) -> str:
    uri = params[0] if isinstance(params, list) else params["uri"]
    if uri not in documents:
        raise RequestError(-32602, f"Document {uri} wasn't found in the document store")
    names = []
    for line in documents[uri].split("\n"):
        match = re.match(r"let(?:\s+rec)?\s+([a-z_][A-Za-z0-9_']*)", line)
        if match and match.group(1) != "_":
            names.append(match.group(1))
    return "".join(f"val {name} : 'a\n" for name in names)


def jump_to_typed_hole(params: dict) -> dict | None:
    found = holes(params["uri"])
    within = params.get("range")
    if within:
        found = [h for h in found if key(within["start"]) <= key(h["start"])
                 and key(h["end"]) <= key(within["end"])]
    if not found:
        return None
    at = key(params["position"])
    if params.get("direction") == "prev":
        before = [h for h in found if key(h["end"]) < at]
        return before[-1] if before else found[-1]
    after = [h for h in found if key(h["start"]) > at]
    return after[0] if after else found[0]


def construct(params: dict) -> dict | None:
    at = key(params["position"])
    for hole in holes(params["uri"]):
        if key(hole["start"]) <= at <= key(hole["end"]):
            line = lines_of(params["uri"])[hole["start"]["line"]]
            listed = CANDIDATES.search(line)
            candidates = ([c.strip() for c in listed.group(1).split("|") if c.strip()]
                          if listed else ["Some _", "None"])
            return {"position": hole, "result": candidates}
    return None


# -- the protocol ----------------------------------------------------------------------------

def capabilities() -> dict:
    without = set(filter(None, os.environ.get("OCAMLLSP_TEST_DOUBLE_WITHOUT", "").split(",")))
    return {
        "positionEncoding": "utf-16",
        "textDocumentSync": {"openClose": True, "change": 1},
        "definitionProvider": True,
        "experimental": {"ocamllsp": {flag: True for flag in FLAGS if flag not in without}},
    }


def initialize(params: dict) -> dict:
    global root
    uri = params.get("rootUri")
    if uri:
        root = uri_path(uri)
    return {"capabilities": capabilities(), "serverInfo": {"name": NAME, "version": VERSION}}


REQUESTS = {
    "initialize": initialize,
    "shutdown": lambda params: None,
    "textDocument/definition": definition,
    "ocamllsp/typeEnclosing": type_enclosing,
    "ocamllsp/switchImplIntf": switch_impl_intf,
    "ocamllsp/inferIntf": infer_intf,
    "ocamllsp/typedHoles": lambda params: holes(params["uri"]),
    "ocamllsp/jumpToTypedHole": jump_to_typed_hole,
    "ocamllsp/construct": construct,
}


def notification(method: str, params: dict) -> None:
    if method == "textDocument/didOpen":
        document = params["textDocument"]
        documents[document["uri"]] = document["text"]
    elif method == "textDocument/didChange":
        changes = params["contentChanges"]
        if changes:
            documents[params["textDocument"]["uri"]] = changes[-1]["text"]
    elif method == "textDocument/didClose":
        documents.pop(params["textDocument"]["uri"], None)
    elif method == "exit":
        sys.exit(0)


def read_message(stream) -> dict | None:
    length = None
    while True:
        header = stream.readline()
        if not header:
            return None
        header = header.strip()
        if not header:
            break
        name, _, value = header.decode("ascii").partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
    if length is None:
        return None
    return json.loads(stream.read(length).decode("utf-8"))


def write_message(stream, message: dict) -> None:
    body = json.dumps(message).encode("utf-8")
    stream.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    stream.flush()


def log(message: dict) -> None:
    where = os.environ.get("OCAMLLSP_TEST_DOUBLE_LOG")
    if where:
        with open(where, "a", encoding="utf-8") as out:
            out.write(json.dumps({"method": message.get("method"),
                                  "params": message.get("params")}) + "\n")


def main() -> int:
    if "--version" in sys.argv[1:]:
        print(f"{NAME} {VERSION}")
        return 0
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        message = read_message(stdin)
        if message is None:
            return 0
        method = message.get("method")
        if method is None:  # an answer to a request of ours: we send none
            continue
        log(message)
        params = message.get("params")
        if "id" not in message:
            notification(method, params or {})
            continue
        if method in os.environ.get("OCAMLLSP_TEST_DOUBLE_SILENT", "").split(","):
            continue
        answer: dict = {"jsonrpc": "2.0", "id": message["id"]}
        handler = REQUESTS.get(method)
        if handler is None:
            answer["error"] = {"code": -32601, "message": f"{method} is not handled by {NAME}"}
        else:
            try:
                answer["result"] = handler(params)
            except RequestError as error:
                answer["error"] = {"code": error.code, "message": str(error)}
            except (KeyError, TypeError, IndexError) as error:
                answer["error"] = {"code": -32602, "message": f"bad params for {method}: {error!r}"}
        write_message(stdout, answer)


if __name__ == "__main__":
    sys.exit(main())
