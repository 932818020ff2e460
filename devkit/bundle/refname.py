"""Git's ref-name rules, as `git check-ref-format <refname>` (git 2.39, no options) applies them.

Ref names read from a bundle or a manifest are untrusted: a name like `refs/heads/../../x`, one
with a control character, or one outside `refs/` must never reach a path or a command line. See
`git help check-ref-format` for the rules and git's `refs.c` for the code this mirrors.
"""

import re

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


def is_store_refname(name: str) -> bool:
    """True for a name a bundle store may carry: a valid ref name under `refs/`.

    git accepts names like `objects/info/alternates` too, and `git update-ref` would write them
    as files inside the repository's git folder; a store never carries anything but refs.

    >>> is_store_refname("refs/tags/v1"), is_store_refname("objects/info/alternates")
    (True, False)
    """
    return name.startswith("refs/") and is_valid_refname(name)
