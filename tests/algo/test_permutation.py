"""devkit.algo.permutation against C++'s std::next_permutation / std::prev_permutation (compiled
with g++ in the test), more_itertools and itertools."""

import itertools
import math
import subprocess
from array import array
from collections import UserList, deque

import more_itertools
import pytest
from hypothesis import given
from hypothesis import strategies as st

from devkit.algo.permutation import (
    distinct_permutations,
    next_permutation,
    nth_permutation,
    permutation_rank,
    prev_permutation,
)
from tests.conftest import require_tool

# Reads one sequence of words per line; for each, steps std::next_permutation or
# std::prev_permutation until it returns false, printing "<returned> <words...>" after each step.
CPP_PERMUTE = r"""
#include <algorithm>
#include <cctype>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

static std::string lowered(std::string word) {
    for (char &c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return word;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        std::cerr << "usage: permute next|prev less|lower < sequences\n";
        return 2;
    }
    const std::string direction = argv[1], order = argv[2];
    auto by_lower = [](const std::string &a, const std::string &b) {
        return lowered(a) < lowered(b);
    };
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream words(line);
        std::vector<std::string> seq;
        for (std::string word; words >> word;) seq.push_back(word);
        for (bool stepped = true; stepped;) {
            if (direction == "next")
                stepped = order == "lower" ? std::next_permutation(seq.begin(), seq.end(), by_lower)
                                           : std::next_permutation(seq.begin(), seq.end());
            else
                stepped = order == "lower" ? std::prev_permutation(seq.begin(), seq.end(), by_lower)
                                           : std::prev_permutation(seq.begin(), seq.end());
            std::cout << stepped;
            for (const std::string &word : seq) std::cout << ' ' << word;
            std::cout << '\n';
        }
    }
    return 0;
}
"""


def ternary_sequences(max_length: int) -> list[list[int]]:
    """Every sequence over {0, 1, 2} of length 0..max_length: duplicates of every kind."""
    return [list(seq) for length in range(max_length + 1)
            for seq in itertools.product(range(3), repeat=length)]


TERNARY = ternary_sequences(6)
WORDS_AS_LETTERS = [list(word) for word in
                    ("", "a", "banana", "mississippi", "abcdefg", "zyxwvu", "aabbcc", "cbaabc")]
MIXED_CASE = ([list(letters) for length in range(6)
               for letters in itertools.product("aAb", repeat=length)]
              + [["Apple", "apple", "Banana", "banana", "cherry"], ["b", "B", "a", "A", "b"]])
STEP = {"next": next_permutation, "prev": prev_permutation}


@pytest.fixture(scope="module")
def cpp_permute(tmp_path_factory) -> str:
    """The C++ reference program, compiled for this test run."""
    compiler = require_tool("g++", "apt-get install g++")
    folder = tmp_path_factory.mktemp("cpp_permute")
    (folder / "permute.cpp").write_text(CPP_PERMUTE)
    program = folder / "permute"
    built = subprocess.run([compiler, "-std=c++17", "-O1", "-o", str(program), "permute.cpp"],
                           cwd=folder, capture_output=True, text=True, errors="replace",
                           timeout=300)
    assert built.returncode == 0, f"g++ failed:\n{built.stderr}"
    return str(program)


def cpp_chains(program: str, direction: str, order: str, sequences: list[list]) -> list[list[str]]:
    """The C++ program's chain of step results for each sequence, as "<bool> <items>" lines."""
    stdin = "".join(" ".join(map(str, seq)) + "\n" for seq in sequences)
    ran = subprocess.run([program, direction, order], input=stdin, capture_output=True,
                         text=True, errors="replace", timeout=120)
    assert ran.returncode == 0, ran.stderr
    chains, chain = [], []
    for line in ran.stdout.splitlines():
        chain.append(line.rstrip())  # an empty sequence prints "0" with no trailing space
        if line.startswith("0"):  # every chain ends with the one step that returned false
            chains.append(chain)
            chain = []
    assert chain == [], f"unterminated chain at the end of the C++ output: {chain}"
    return chains


def python_chain(direction: str, seq: list, key=None, max_steps: int = 10**6) -> list[str]:
    """Our chain, like `cpp_chains`; stops after `max_steps` so that a bug cannot loop forever."""
    step, seq, lines = STEP[direction], list(seq), []
    while len(lines) < max_steps:
        stepped = step(seq, key=key)
        lines.append(" ".join([str(int(stepped)), *map(str, seq)]))
        if not stepped:
            break
    return lines


def assert_same_chains(sequences: list[list], cpp: list[list[str]], direction: str, key=None):
    assert len(cpp) == len(sequences)
    for seq, expected in zip(sequences, cpp, strict=True):
        ours = python_chain(direction, seq, key, max_steps=len(expected) + 1)
        for step, (mine, theirs) in enumerate(zip(ours, expected, strict=False)):
            assert mine == theirs, f"{direction}_permutation({seq}) differs from C++ at step {step}"
        assert len(ours) == len(expected), f"{direction}_permutation({seq}): chain length differs"


@pytest.mark.parametrize("direction", ["next", "prev"])
def test_matches_cpp_on_every_ternary_sequence_up_to_length_6(cpp_permute, direction):
    cpp = cpp_chains(cpp_permute, direction, "less", TERNARY)
    assert_same_chains(TERNARY, cpp, direction)


@pytest.mark.parametrize("direction", ["next", "prev"])
def test_matches_cpp_on_strings(cpp_permute, direction):
    cpp = cpp_chains(cpp_permute, direction, "less", WORDS_AS_LETTERS)
    assert_same_chains(WORDS_AS_LETTERS, cpp, direction)


@pytest.mark.parametrize("direction", ["next", "prev"])
def test_key_matches_cpp_with_a_comparator(cpp_permute, direction):
    cpp = cpp_chains(cpp_permute, direction, "lower", MIXED_CASE)
    assert_same_chains(MIXED_CASE, cpp, direction, key=str.lower)


def test_key_orders_by_the_key():
    # With key=str.lower, "A" and "a" are equal: b, A, a is the last arrangement, and the wrap
    # reverses it (keeping the equal items reversed, as C++ does). By code point, "A" < "a".
    assert python_chain("next", ["b", "A", "a"], key=str.lower) == ["0 a A b"]
    assert python_chain("next", ["b", "A", "a"])[0] == "1 b a A"
    for seq in TERNARY[:400]:
        assert python_chain("next", seq, key=lambda x: -x) == python_chain("prev", seq)


def test_short_sequences_are_left_alone():
    for seq in ([], [7]):
        for step in (next_permutation, prev_permutation):
            copy = list(seq)
            assert step(copy) is False and copy == seq
            assert step(copy, key=abs) is False and copy == seq
    assert next_permutation(()) is False  # nothing to move, as C++ on an empty range


def test_works_on_other_mutable_sequences():
    raw = bytearray(b"aba")
    assert next_permutation(raw) and raw == bytearray(b"baa")
    numbers = array("i", [3, 1, 2])
    assert prev_permutation(numbers) and numbers == array("i", [2, 3, 1])
    users = UserList([1, 2, 2])
    assert next_permutation(users) and users == [2, 1, 2]


def test_a_full_cycle_visits_each_distinct_arrangement_once():
    seq = [0, 0, 1, 1, 2]
    seen = [tuple(seq)]
    while next_permutation(seq):
        seen.append(tuple(seq))
    assert seen == sorted(set(itertools.permutations(seq)))
    assert seq == [0, 0, 1, 1, 2]  # back at the first one


# --- distinct_permutations


@pytest.mark.parametrize("length", range(7))
def test_distinct_permutations_match_itertools_and_more_itertools(length):
    for seq in itertools.product(range(3), repeat=length):
        ours = list(distinct_permutations(seq))
        assert ours == sorted(set(itertools.permutations(seq)))
        assert set(ours) == set(more_itertools.distinct_permutations(seq))
        assert len(ours) == len(set(ours))


def test_distinct_permutations_of_strings_and_unhashable_items():
    assert list(distinct_permutations("aab")) == [("a", "a", "b"), ("a", "b", "a"),
                                                  ("b", "a", "a")]
    lists = list(distinct_permutations([[1], [0], [1]]))
    assert lists == [([0], [1], [1]), ([1], [0], [1]), ([1], [1], [0])]
    assert list(distinct_permutations(iter("cba"))) == sorted(itertools.permutations("abc"))


# --- permutation_rank and nth_permutation


@pytest.mark.parametrize("length", range(7))
def test_rank_of_each_distinct_permutation_is_its_index(length):
    for multiset in itertools.combinations_with_replacement(range(3), length):
        for index, arrangement in enumerate(distinct_permutations(multiset)):
            assert permutation_rank(arrangement) == index
            assert nth_permutation(multiset[::-1], index) == arrangement


small_lists = st.lists(st.integers(0, 3), max_size=10)


@given(small_lists)
def test_nth_of_rank_is_the_sequence(seq):
    assert nth_permutation(seq, permutation_rank(seq)) == tuple(seq)


@given(small_lists, st.data())
def test_rank_of_nth_is_n_and_negative_n_counts_from_the_end(seq, data):
    total = math.factorial(len(seq)) // math.prod(
        math.factorial(seq.count(x)) for x in set(seq))
    n = data.draw(st.integers(0, total - 1))
    arrangement = nth_permutation(seq, n)
    assert sorted(arrangement) == sorted(seq)
    assert permutation_rank(arrangement) == n
    assert nth_permutation(seq, n - total) == arrangement


@given(st.lists(st.integers(), unique=True, max_size=8), st.data())
def test_nth_matches_more_itertools_when_items_differ(items, data):
    pool = sorted(items)
    n = data.draw(st.integers(-math.factorial(len(pool)), math.factorial(len(pool)) - 1))
    assert nth_permutation(items, n) == more_itertools.nth_permutation(pool, len(pool), n)


def test_rank_and_nth_on_long_sequences():
    assert permutation_rank(range(40)) == 0
    assert permutation_rank(reversed(range(40))) == math.factorial(40) - 1
    assert nth_permutation(range(40), -1) == tuple(reversed(range(40)))
    seq = list("mississippi" * 4)
    assert nth_permutation(seq, permutation_rank(seq)) == tuple(seq)


def test_empty_sequence_has_one_permutation():
    assert permutation_rank([]) == 0
    assert nth_permutation([], 0) == () == nth_permutation([], -1)
    assert list(distinct_permutations([])) == [()]


# --- errors a user can cause


class Top:
    """Greater than anything: lets a sequence pass the first scan and fail the second."""

    def __lt__(self, other):
        return False

    def __gt__(self, other):
        return True

    def __repr__(self):
        return "Top()"


class Bottom:
    """Less than anything."""

    def __lt__(self, other):
        return True

    def __gt__(self, other):
        return False

    def __repr__(self):
        return "Bottom()"


@pytest.mark.parametrize("seq, step", [
    ([1, "a"], next_permutation),
    (["a", 1], prev_permutation),
    ([2, 1, "a"], next_permutation),
    # Both scans compare: 1 < Top() and Top() < "a" pass, then 1 < "a" finds the pivot's swap.
    ([1, Top(), "a"], next_permutation),
    ([1, Bottom(), "a"], prev_permutation),
])
def test_incomparable_items_raise_type_error_and_leave_the_sequence_unchanged(seq, step):
    before = list(seq)
    with pytest.raises(TypeError, match="not supported between instances"):
        step(seq)
    assert seq == before


def test_a_failing_key_leaves_the_sequence_unchanged():
    seq = ["b", 1, "a"]
    with pytest.raises(TypeError):
        next_permutation(seq, key=str.lower)
    assert seq == ["b", 1, "a"]


def test_immutable_sequences_are_rejected():
    with pytest.raises(TypeError, match="does not support item assignment"):
        next_permutation((1, 2))
    with pytest.raises(TypeError, match="does not support item assignment"):
        prev_permutation("ba")


def test_incomparable_items_in_the_other_functions():
    with pytest.raises(TypeError, match="not supported between instances"):
        distinct_permutations([1, "a"])  # raised at the call, not on the first next()
    with pytest.raises(TypeError, match="not supported between instances"):
        permutation_rank([1, "a"])
    with pytest.raises(TypeError, match="not supported between instances"):
        nth_permutation([1, "a"], 0)


@pytest.mark.parametrize("n", [3, 4, 10**30, -4])
def test_out_of_range_index_raises_index_error(n):
    with pytest.raises(IndexError, match=rf"permutation index {n} is out of range for 3 "):
        nth_permutation("aab", n)


@pytest.mark.parametrize("n", [6, -7])
def test_out_of_range_index_is_an_index_error_in_more_itertools_too(n):
    with pytest.raises(IndexError):
        more_itertools.nth_permutation("abc", 3, n)
    with pytest.raises(IndexError, match="out of range for 6 distinct permutations"):
        nth_permutation("abc", n)


@pytest.mark.parametrize("n", [1.0, "1", None])
def test_index_must_be_an_integer(n):
    with pytest.raises(TypeError):
        nth_permutation("abc", n)


@pytest.mark.parametrize("step", [next_permutation, prev_permutation])
def test_a_sequence_without_slice_assignment_is_refused_unchanged(step):
    items = deque([1, 3, 2])
    with pytest.raises(TypeError):
        step(items)
    assert items == deque([1, 3, 2])
    with pytest.raises(TypeError):
        step(items, key=lambda x: x)
    assert items == deque([1, 3, 2])
