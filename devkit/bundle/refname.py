"""Git's ref-name rules, as `git check-ref-format <refname>` (git 2.39, no options) applies them.

Ref names read from a bundle or a repository are untrusted: a name like `refs/heads/../../x` or
one with a control character must never reach a path or a command line. See
`git help check-ref-format` for the rules and git's `refs.c` for the code this mirrors.
"""

import re

from devkit.errors import DevkitError

# Any match makes the name invalid; each alternative is one of git's rules.
_FORBIDDEN = re.compile(
    r"""
      [\x00-\x20\x7f~^:?*\[\\]  # control character, space, ~ ^ : ? * [ or backslash
    | \.\.                      # two consecutive dots
    | @\{                       # the reflog sequence @{
    | \A/ | /\Z | //            # empty component: leading, trailing or doubled slash
    | (?:\A|/)\.                # component starting with a dot
    | \.lock(?:/|\Z)            # component ending with .lock
    | \.\Z                      # the whole name ends with a dot
    """,
    re.VERBOSE,
)


def is_valid_refname(name: str) -> bool:
    """True when git would accept `name` as a ref name (`git check-ref-format`).

    >>> is_valid_refname("refs/heads/main"), is_valid_refname("refs/heads/a..b")
    (True, False)
    """
    # A name needs a slash: one-level names (so "" and the lone "@" too) are rejected.
    return "/" in name and _FORBIDDEN.search(name) is None


class InvalidRefName(DevkitError):
    """A ref name git would refuse, found in a file devkit was asked to read."""


def check_refname(name: str, where: str) -> str:
    """Return `name` if it is a valid ref name, else raise `InvalidRefName` naming `where`."""
    if not is_valid_refname(name):
        raise InvalidRefName(
            f"invalid ref name {name!r} in {where}: "
            "the file may be corrupt or hostile; refusing to use it"
        )
    return name
