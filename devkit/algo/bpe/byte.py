"""Byte-level BPE as in the GPT-2 and GPT-4 tokenizers.

Text is first split with a regular expression (`GPT2_PATTERN`, `GPT4_PATTERN`, or your own) into
chunks that merges never cross; each chunk is UTF-8 bytes, the 256 initial symbols. Special
tokens (such as `<|endoftext|>`) are cut out of the text before that and have ids after all
learned ones, as in tiktoken's encodings.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Self

import regex

from devkit.algo.bpe.core import (
    BPEError,
    BPETokenizer,
    DisallowedSpecialToken,
    InvalidTokenId,
    Pair,
    apply_merges,
    learn_merges,
)
from devkit.algo.bpe.export import byte_level_order, huggingface_json, tiktoken_ranks
from devkit.filesafety import write_atomically

# From tiktoken's `tiktoken_ext/openai_public.py` (r50k_base/gpt2 and cl100k_base): the
# possessive forms tiktoken runs, equivalent to the patterns first published with GPT-2/GPT-4.
GPT2_PATTERN = (
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
)
GPT4_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)

_CACHE_LIMIT = 100_000


@lru_cache(maxsize=64)
def _special_regex(tokens: frozenset[str]) -> regex.Pattern[str]:
    """One pattern matching any of `tokens`, longest first where they overlap."""
    ordered = sorted(tokens, key=lambda token: (-len(token), token))
    return regex.compile("|".join(regex.escape(token) for token in ordered))


def _merged_id(pair: Pair, new_id: int) -> int:
    """The id a merge creates: `ByteBPE` ranks its merges by that id."""
    return new_id


def _utf8(text: str) -> str:
    """`text` made encodable as UTF-8: surrogate pairs joined, lone surrogates replaced by
    U+FFFD, exactly as tiktoken does before encoding.

    >>> _utf8("a\\ud83d\\ude00b\\udc00")
    'a😀b\\ufffd'
    """
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


class ByteBPE(BPETokenizer):
    """Byte-level BPE with regex pre-tokenization and special tokens (GPT-2/GPT-4 style).

    Ids: bytes are 0..255, merge i creates id 256 + i, and the special tokens follow in the
    order given. Training breaks ties between pairs with the same count the way Hugging Face's
    `BpeTrainer` (with a ByteLevel pre-tokenizer) does, so it learns the same merges whether or
    not the corpus has ties: the smallest pair wins, comparing symbols by their position in the
    byte-level alphabet (`export.byte_level_order`: bytes sorted by their GPT-2 printable
    character, so `!`..`~`, `¡`..`¬`, `®`..`ÿ` come before the controls and the space) and
    merged symbols after all bytes, oldest first. One difference: special tokens are cut out of
    the training text here, while Hugging Face's trainer learns from their text as ordinary
    text; on a corpus without special-token text the merges are the same.

    >>> bpe = ByteBPE(special_tokens=["<|endoftext|>"])
    >>> bpe.train("aaabdaaabac", vocab_size=260)
    >>> bpe.merges
    [(97, 97), (97, 98), (256, 257)]
    >>> bpe.encode("aaabdaaabac<|endoftext|>", allowed_special="all")
    [258, 100, 258, 97, 99, 259]
    >>> bpe.decode([258, 100, 259])
    'aaabd<|endoftext|>'
    """

    kind = "byte"

    def __init__(self, pattern: str = GPT4_PATTERN, special_tokens: Iterable[str] = ()) -> None:
        super().__init__()
        try:
            self._compiled = regex.compile(pattern)
        except regex.error as error:
            raise BPEError(f"the split pattern does not compile: {error}") from None
        self._pattern = pattern
        specials = list(special_tokens)
        for token in specials:
            if not isinstance(token, str) or not token:
                raise BPEError(f"special token {token!r} must be a non-empty string")
        if len(set(specials)) != len(specials):
            raise BPEError(f"special tokens {specials!r} must be distinct")
        self._special_list = specials
        self._merges_changed()

    # -- training --------------------------------------------------------------------------

    def train(self, text: str, vocab_size: int) -> None:
        """Learn merges from `text` until the vocabulary (bytes, merges and special tokens)
        holds `vocab_size` tokens; replaces earlier merges.

        Special tokens are cut out of `text` first; the pieces between them are split with the
        pattern, and pairs are counted over distinct chunks weighted by frequency and never
        across chunks. Training stops early when no adjacent pair is left. Raises `BPEError`
        (a `ValueError`) when `vocab_size` is below 256 + the number of special tokens.

        Time: O(N) to split N characters, then per merge O(L + c log P) (see `learn_merges`).

        >>> bpe = ByteBPE()
        >>> bpe.train("hello hello", vocab_size=258)
        >>> [bpe.vocab[i] for i in range(256, 258)]
        [b'el', b'hel']
        """
        vocab_size = operator.index(vocab_size)
        minimum = 256 + len(self._special_list)
        if vocab_size < minimum:
            raise BPEError(
                f"vocab_size {vocab_size} is below the minimum {minimum} (256 byte tokens + "
                f"{len(self._special_list)} special tokens)"
            )
        chunks: Counter[str] = Counter()
        for piece, is_special in self._split_specials(_utf8(text), frozenset(self._special_list)):
            if not is_special:
                chunks.update(self._compiled.findall(piece))
        words = [list(chunk.encode("utf-8")) for chunk in chunks]
        merges = learn_merges(
            words, list(chunks.values()), vocab_size - minimum, 256, order=byte_level_order()
        )
        self._set_merges(merges)

    # -- the learned model -----------------------------------------------------------------

    @property
    def pattern(self) -> str:
        """The split pattern."""
        return self._pattern

    @property
    def merges(self) -> list[Pair]:
        """The merges in the order they were learned, as pairs of ids; merge i makes id 256 + i.
        O(merges)."""
        return list(self._merges)

    @property
    def special_tokens(self) -> dict[str, int]:
        """Special token → id (after all byte and merged ids); O(specials)."""
        return dict(self._special_ids)

    @property
    def vocab(self) -> dict[int, bytes]:
        """Id → token bytes, special tokens included (as their UTF-8); O(vocabulary)."""
        return dict(enumerate(self._tokens))

    @property
    def _base(self) -> int:
        return 256

    def _symbol_table(self) -> list[bytes]:
        return self._tokens

    def _check(self) -> None:
        super()._check()
        learned = 256 + len(self._merges)
        assert len(self._tokens) == learned + len(self._special_list)
        assert self._special_ids == {t: learned + i for i, t in enumerate(self._special_list)}
        for i, pair in enumerate(self._merges):
            assert self._merge_ids[pair] <= 256 + i

    def _merges_changed(self) -> None:
        tokens = [bytes([b]) for b in range(256)]
        self._merge_ids: dict[Pair, int] = {}
        for i, (a, b) in enumerate(self._merges):
            self._merge_ids.setdefault((a, b), 256 + i)
            tokens.append(tokens[a] + tokens[b])
        self._special_ids = {token: len(tokens) + i for i, token in enumerate(self._special_list)}
        tokens += [token.encode("utf-8") for token in self._special_list]
        self._tokens = tokens
        self._cache: dict[str, list[int]] = {}

    # -- encoding and decoding -------------------------------------------------------------

    def encode(
        self,
        text: str,
        *,
        allowed_special: Literal["all"] | Collection[str] = frozenset(),
        disallowed_special: Literal["all"] | Collection[str] = "all",
    ) -> list[int]:
        """The token ids of `text`, with tiktoken's rules for special tokens.

        Special tokens in `allowed_special` (or all, with `"all"`) become their ids. Text equal
        to a special token in `disallowed_special` (by default: every one not allowed) raises
        `DisallowedSpecialToken` (a `BPEError`, so a `ValueError`, as tiktoken raises), whose
        `.token` is that token; pass `disallowed_special=()` to encode it as ordinary text.
        Naming a token in either argument that is not one of this model's special tokens raises
        `BPEError`, whereas tiktoken ignores it: stricter on purpose, since a typo would
        otherwise silently encode the token as text. Lone surrogates become U+FFFD, as in
        tiktoken.

        Time: O(n) for the split, plus O(m·k) per distinct chunk of m bytes needing k merges;
        chunks are cached.

        >>> bpe = ByteBPE(special_tokens=["<|eot|>"])
        >>> bpe.encode("hi<|eot|>", allowed_special={"<|eot|>"})
        [104, 105, 256]
        >>> bpe.encode("hi<|eot|>", disallowed_special=())[:4]
        [104, 105, 60, 124]
        """
        specials = self._special_ids.keys()
        allowed = self._known(specials if allowed_special == "all" else allowed_special, "allowed")
        if disallowed_special == "all":
            disallowed = frozenset(specials) - allowed
        else:
            disallowed = self._known(disallowed_special, "disallowed")
        if disallowed and (found := _special_regex(disallowed).search(text)):
            raise DisallowedSpecialToken(
                f"encountered text corresponding to disallowed special token {found.group()!r}: "
                f"pass it in allowed_special to encode it as a special token, or exclude it "
                f"from disallowed_special (disallowed_special=() for all) to encode it as text",
                found.group(),
            )
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = _utf8(text)
        ids: list[int] = []
        for piece, is_special in self._split_specials(text, allowed):
            if is_special:
                ids.append(self._special_ids[piece])
            else:
                ids.extend(self._encode_ordinary(piece))
        return ids

    def _known(self, tokens: Collection[str], which: str) -> frozenset[str]:
        if isinstance(tokens, str):
            raise BPEError(
                f"{which}_special must be 'all' or a collection of special tokens, not the "
                f"string {tokens!r} (write {{{tokens!r}}})"
            )
        tokens = frozenset(tokens)
        unknown = tokens - self._special_ids.keys()
        if unknown:
            raise BPEError(
                f"unknown special token {sorted(unknown)[0]!r} in {which}_special; this model's "
                f"special tokens are {sorted(self._special_ids) or 'none'}"
            )
        return tokens

    @staticmethod
    def _split_specials(text: str, tokens: frozenset[str]) -> Iterator[tuple[str, bool]]:
        """The pieces of `text` between occurrences of `tokens`, and those occurrences."""
        if not tokens:
            yield text, False
            return
        start = 0
        for match in _special_regex(tokens).finditer(text):
            if match.start() > start:
                yield text[start : match.start()], False
            yield match.group(), True
            start = match.end()
        if start < len(text):
            yield text[start:], False

    def _encode_ordinary(self, text: str) -> list[int]:
        cache = self._cache
        ids: list[int] = []
        for chunk in self._compiled.findall(text):
            chunk_ids = cache.get(chunk)
            if chunk_ids is None:
                chunk_ids = self._encode_chunk(chunk.encode("utf-8"))
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[chunk] = chunk_ids
            ids.extend(chunk_ids)
        return ids

    def _encode_chunk(self, data: bytes) -> list[int]:
        """Apply the merges to one chunk: repeatedly the earliest-learned pair present."""
        return apply_merges(data, self._merge_ids, _merged_id)

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes of the tokens `ids`; O(len(ids) + output).

        Raises `InvalidTokenId` for an id that is not in the vocabulary: a `KeyError`, as in
        tiktoken, and also a `ValueError` (a `BPEError`).

        >>> ByteBPE().decode_bytes([104, 105])
        b'hi'
        """
        tokens = self._tokens
        parts = []
        for token_id in ids:
            try:
                if token_id < 0:
                    raise IndexError(token_id)
                parts.append(tokens[token_id])
            except (IndexError, TypeError):
                raise InvalidTokenId(
                    f"token id {token_id!r} is not in the vocabulary (ids are 0..{len(tokens) - 1})"
                ) from None
        return b"".join(parts)

    def decode(self, ids: Iterable[int], errors: str = "replace") -> str:
        """The text of the tokens `ids`: their bytes decoded as UTF-8 with `errors` (as in
        tiktoken, "replace" by default, since a token sequence may cut a character in two).

        >>> bpe = ByteBPE()
        >>> bpe.decode(bpe.encode("naïve 👋"))
        'naïve 👋'
        >>> bpe.decode([0xC3])
        '�'
        """
        return self.decode_bytes(ids).decode("utf-8", errors=errors)

    # -- exports ---------------------------------------------------------------------------

    def to_tiktoken(self) -> dict[bytes, int]:
        """The `mergeable_ranks` for `tiktoken.Encoding(name, pat_str=self.pattern,
        mergeable_ranks=..., special_tokens=self.special_tokens)`, which then encodes exactly
        as `encode` does; O(vocabulary).

        >>> bpe = ByteBPE()
        >>> bpe.train("abab", vocab_size=257)
        >>> ranks = bpe.to_tiktoken()
        >>> len(ranks), ranks[b"ab"]
        (257, 256)
        """
        return tiktoken_ranks(self.vocab, set(self._special_ids.values()))

    def to_huggingface_json(self) -> str:
        """The model as a Hugging Face `tokenizer.json` (ByteLevel pre-tokenizer after a Split
        with our pattern, BPE model, ByteLevel decoder, special tokens as added tokens) for
        `tokenizers.Tokenizer.from_str`; it encodes as `encode(text, allowed_special="all")`.
        O(vocabulary).

        >>> import json
        >>> bpe = ByteBPE()
        >>> bpe.train("a a a", vocab_size=257)
        >>> json.loads(bpe.to_huggingface_json())["model"]["merges"]
        ['Ġ a']
        """
        return huggingface_json(self.vocab, self._merges, self._pattern, self._special_ids)

    def save_huggingface(self, path: str | Path) -> None:
        """Write `to_huggingface_json()` to `path` (for `tokenizers.Tokenizer.from_file`)."""
        data = self.to_huggingface_json().encode("utf-8")
        write_atomically(Path(path), lambda stream: stream.write(data))

    # -- the model file --------------------------------------------------------------------

    def _header(self) -> dict[str, Any]:
        return {"kind": self.kind, "pattern": self._pattern, "special_tokens": self._special_list}

    @classmethod
    def _from_header(cls, header: dict[str, Any]) -> Self:
        pattern = header.get("pattern")
        specials = header.get("special_tokens")
        if not isinstance(pattern, str):
            raise BPEError("'pattern' must be a string")
        if not isinstance(specials, list):
            raise BPEError("'special_tokens' must be a list of strings")
        return cls(pattern, specials)
