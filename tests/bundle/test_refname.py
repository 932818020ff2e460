"""Parity of `devkit.bundle.refname` with the real `git check-ref-format`."""

import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devkit.bundle.refname import is_store_refname, is_valid_refname


def git_accepts(name: str) -> bool:
    """Ask `git check-ref-format` (exit 0 = valid, 1 = invalid) about `name`."""
    assert "\0" not in name and not name.startswith("-"), "git cannot take this name in argv"
    result = subprocess.run(
        [b"git", b"check-ref-format", name.encode("utf-8")],
        capture_output=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0


EDGE_CASES = [
    # Plain valid names, including non-ASCII and characters that are only bad in sequences.
    "refs/heads/main",
    "refs/heads/feature/x-1_2",
    "refs/tags/v1.2.3",
    "refs/heads/é",
    "refs/heads/日本語",
    "refs/heads/a{b}",
    "refs/heads/a@b",
    "refs/heads/a@",
    "refs/heads/@",
    "refs/@/x",
    "refs/heads/@@",
    "refs/heads/a.b",
    "refs/heads/a./b",  # only the whole name may not end with a dot
    "refs/heads/lock",
    "refs/heads/a.lockb",
    "refs/heads/a.lock.b",
    "refs/heads/-a",
    "a/b",
    # One-level names and the lone "@".
    "",
    "a",
    "HEAD",
    "@",
    "é",
    # Slashes.
    "/refs/heads/a",
    "refs/heads/a/",
    "refs//heads/a",
    "/",
    "//",
    # Dots.
    "refs/heads/.a",
    "refs/heads/.",
    "refs/heads/..",
    ".refs/heads",
    "refs/.heads/a",
    "refs/heads/a..b",
    "refs/heads/a.",
    "refs/heads/a/.",
    "refs/heads/a...b",
    # .lock
    "refs/heads/a.lock",
    "refs/heads/a.lock/b",
    "refs/heads/.lock",
    "refs.lock/heads",
    # @{
    "refs/heads/a@{b",
    "refs/heads/@{",
    "refs/heads/a@{1}",
    "@{/x",
    # Forbidden characters.
    "refs/heads/a b",
    "refs/heads/a~1",
    "refs/heads/a^",
    "refs/heads/a:b",
    "refs/heads/a?",
    "refs/heads/a*",
    "refs/heads/a[b",
    "refs/heads/a]b",
    "refs/heads/a\\b",
    "refs/heads/a\x01",
    "refs/heads/a\x1f",
    "refs/heads/a\tb",
    "refs/heads/a\nb",
    "refs/heads/a\x7f",
    "refs/heads/a\x80",
    "refs/heads/\u00a0",
]


@pytest.mark.parametrize("name", EDGE_CASES)
def test_edge_cases_match_git(name: str) -> None:
    assert is_valid_refname(name) == git_accepts(name)


# Rich in the characters the rules care about; most draws are invalid.
SPECIAL = "/.@{~^:?*[\\ \x7f\x01abélock"
# Mostly-legal components joined by slashes, so that many draws are valid or nearly so.
SOFT = "..@@{abélock"

names = st.one_of(
    st.text(alphabet=SPECIAL, max_size=12),
    st.lists(st.text(alphabet=SOFT, max_size=6), min_size=1, max_size=4).map("/".join),
    st.text(st.characters(codec="utf-8"), max_size=8).map("refs/".__add__),
).filter(lambda name: "\0" not in name and not name.startswith("-"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names)
def test_random_names_match_git(name: str) -> None:
    assert is_valid_refname(name) == git_accepts(name)


@pytest.mark.parametrize("name", ["objects/info/alternates", "info/exclude", "hooks/pre-commit",
                                  "logs/refs/heads/main", "HEAD", "refsx/heads/a", "refs"])
def test_store_refnames_stay_under_refs(name: str) -> None:
    """git accepts some of these, but update-ref would write them as files in the git folder."""
    assert not is_store_refname(name)


@pytest.mark.parametrize("name", ["refs/heads/main", "refs/tags/v1.0", "refs/notes/commits",
                                  "refs/custom/x/y"])
def test_store_refnames_accept_refs(name: str) -> None:
    assert is_store_refname(name)
