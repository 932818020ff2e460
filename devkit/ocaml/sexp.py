"""dune's s-expressions (the output of ``dune rules``, quoted paths in its messages), read
into nested lists of atoms: an atom is a string, quoted atoms with OCaml's escapes undone."""

from __future__ import annotations

from devkit.errors import DevkitError

_SEXP_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "\\": "\\", '"': '"'}


def parse_sexp(text: str) -> list:
    """Parse dune's s-expressions into nested lists of atoms (strings).

    >>> parse_sexp('(run ocamlc -ppx "cp -f" (x))')
    [['run', 'ocamlc', '-ppx', 'cp -f', ['x']]]
    """
    stack: list[list] = [[]]
    index, size = 0, len(text)
    while index < size:
        char = text[index]
        if char in " \t\r\n":
            index += 1
        elif char == "(":
            stack.append([])
            index += 1
        elif char == ")":
            if len(stack) == 1:
                raise DevkitError("unbalanced ')' in dune's output")
            done = stack.pop()
            stack[-1].append(done)
            index += 1
        elif char == ";":
            newline = text.find("\n", index)
            index = size if newline < 0 else newline + 1
        elif char == '"':
            atom, index = _quoted_atom(text, index + 1)
            stack[-1].append(atom)
        else:
            end = index
            while end < size and text[end] not in ' \t\r\n()";':
                end += 1
            stack[-1].append(text[index:end])
            index = end
    if len(stack) != 1:
        raise DevkitError("unbalanced '(' in dune's output")
    return stack[0]


def _quoted_atom(text: str, index: int) -> tuple[str, int]:
    parts = []
    while index < len(text):
        char = text[index]
        if char == '"':
            return "".join(parts), index + 1
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            if following.isdigit() and text[index + 1:index + 4].isdigit():
                parts.append(chr(int(text[index + 1:index + 4])))
                index += 4
                continue
            if following == "\n":  # a line continuation: skip the indentation after it
                index += 2
                while index < len(text) and text[index] in " \t":
                    index += 1
                continue
            parts.append(_SEXP_ESCAPES.get(following, "\\" + following))
            index += 2
            continue
        parts.append(char)
        index += 1
    raise DevkitError("unterminated string in dune's output")
