"""`devkit algo …` through click's runner: exit status and the lines a user reads.

Expected outputs are worked out by hand (or by itertools) here, not copied from a run."""

from __future__ import annotations

import itertools

from click.testing import CliRunner

from devkit.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, ["algo", *args])


def test_perm_next_and_prev_step_like_cpp():
    assert run("perm", "next", "1", "2", "3").output == "1 3 2\n"
    assert run("perm", "prev", "--chars", "bca").output == "bac\n"
    # Integers compare as integers: 9 < 10.
    assert run("perm", "next", "-n", "3", "9", "10", "1").stdout == "10 1 9\n10 9 1\n1 9 10\n"


def test_perm_next_wraps_around_and_says_so():
    result = run("perm", "next", "--chars", "cba")
    assert result.exit_code == 0
    assert result.stdout == "abc\n"
    assert "wrapped around: that was the last permutation" in result.stderr


def test_perm_rank_and_nth_agree_with_a_list_of_all_arrangements():
    arrangements = sorted({"".join(p) for p in itertools.permutations("banana")})
    assert run("perm", "rank", "--chars", "banana").output == f"{arrangements.index('banana')}\n"
    assert run("perm", "nth", "5", "--chars", "banana").output == f"{arrangements[5]}\n"
    assert run("perm", "nth", "-1", "--chars", "banana").output == f"{arrangements[-1]}\n"


def test_perm_bad_input_is_one_line_and_exit_1():
    result = run("perm", "nth", "9", "--chars", "aabb")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: permutation index 9 is out of range for 6 distinct permutations (use -6 to 5)\n")
    assert run("perm", "next", "--chars", "ab", "cd").exit_code == 2  # a usage error
