"""Byte-level models in the formats of tiktoken and Hugging Face `tokenizers`.

Hugging Face's byte-level BPE (inherited from GPT-2's `encoder.json`/`vocab.bpe`) does not store
raw bytes: each byte is written as one printable character, `bytes_to_unicode()`. The printable
bytes `!`..`~`, `¡`..`¬` and `®`..`ÿ` stand for themselves; the other 68 (controls, space, DEL,
NBSP, soft hyphen) become U+0100 onwards in byte order, so a space is `Ġ` and a newline `Ċ`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import cache

# An atom (\p{..}, an escape, a bracket class, a plain character) with a possessive interval.
_POSSESSIVE_INTERVAL = re.compile(
    r"(\\[pP]\{[^}]*\}|\\.|\[(?:\\.|[^\]\\])*\]|[^\\()\[\]{}|?*+])(\{\d+(?:,\d*)?\})\+"
)


@cache
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte → printable character table, used by Hugging Face's ByteLevel; O(1).

    >>> table = bytes_to_unicode()
    >>> table[ord("a")], table[ord(" ")], table[ord("\\n")], len(set(table.values()))
    ('a', 'Ġ', 'Ċ', 256)
    """
    printable = {
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    }
    table: dict[int, str] = {}
    shifted = 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + shifted)
            shifted += 1
    return table


@cache
def byte_level_order() -> tuple[int, ...]:
    """Each byte's position when the bytes are sorted by their `bytes_to_unicode` character.

    This is the order of the byte ids Hugging Face's BpeTrainer assigns (it sorts its alphabet
    by character), so breaking ties by it reproduces that trainer's choices; O(1).

    >>> order = byte_level_order()
    >>> order[ord("!")], order[ord("ÿ")], order[0], order[ord(" ")]
    (0, 187, 188, 220)
    """
    table = bytes_to_unicode()
    rank = {byte: position for position, byte in enumerate(sorted(table, key=table.__getitem__))}
    return tuple(rank[byte] for byte in range(256))


def byte_level_text(token: bytes) -> str:
    """`token` written with `bytes_to_unicode` characters, as in a Hugging Face vocabulary.

    >>> byte_level_text(" world\\n".encode())
    'ĠworldĊ'
    """
    table = bytes_to_unicode()
    return "".join(table[byte] for byte in token)


def oniguruma_pattern(pattern: str) -> str:
    r"""`pattern` with each possessive interval `X{m,n}+` written as the atomic group
    `(?>X{m,n})`, its meaning in `regex` and tiktoken; O(len(pattern)).

    Hugging Face compiles patterns with Oniguruma, which reads `X{m,n}+` as "`X{m,n}`, one or
    more times" (so GPT-4's `\p{N}{1,3}+` would take "1999" whole). Other possessive forms
    (`++`, `*+`, `?+`) mean the same in both.

    >>> print(oniguruma_pattern(r"\p{N}{1,3}+|\s++$"))
    (?>\p{N}{1,3})|\s++$
    """
    return _POSSESSIVE_INTERVAL.sub(r"(?>\1\2)", pattern)


def tiktoken_ranks(vocab: Mapping[int, bytes], special_ids: set[int]) -> dict[bytes, int]:
    """tiktoken's `mergeable_ranks`: token bytes → id for every non-special token; O(vocab).

    >>> tiktoken_ranks({0: b"a", 1: b"b", 2: b"ab", 3: b"<eot>"}, {3})
    {b'a': 0, b'b': 1, b'ab': 2}
    """
    ranks: dict[bytes, int] = {}
    for token_id, token in sorted(vocab.items()):
        if token_id in special_ids:
            continue
        if token in ranks:
            raise ValueError(
                f"tokens {ranks[token]} and {token_id} are the same bytes {token!r}; tiktoken "
                "needs one id per byte string"
            )
        ranks[token] = token_id
    return ranks


def huggingface_json(
    vocab: Mapping[int, bytes],
    merges: Sequence[tuple[int, int]],
    pattern: str,
    special_tokens: Mapping[str, int],
) -> str:
    """A `tokenizer.json` for Hugging Face `tokenizers`; O(vocab).

    The pipeline is: special tokens split out first (added tokens), then the text is split with
    `pattern` (a `Split` pre-tokenizer, each match its own piece) and mapped to byte-level
    characters (`ByteLevel` without its own regex), then a BPE model with our ids and merges in
    order; the decoder is `ByteLevel`. `pattern` goes through `oniguruma_pattern`, after which
    Hugging Face's Oniguruma engine splits text as `regex` does for the GPT-2 and GPT-4
    patterns (a pattern using features only `regex` has will not load there).

    >>> import json
    >>> doc = json.loads(huggingface_json({0: b"a", 1: b" ", 2: b" a"}, [(1, 0)], r"\\S+|\\s+", {}))
    >>> doc["model"]["vocab"], doc["model"]["merges"]
    ({'a': 0, 'Ġ': 1, 'Ġa': 2}, ['Ġ a'])
    """
    text = {token_id: byte_level_text(token) for token_id, token in vocab.items()}
    special_ids = set(special_tokens.values())
    model_vocab = {text[i]: i for i in sorted(text) if i not in special_ids}
    model_vocab.update({token: i for token, i in special_tokens.items()})
    document = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": token_id,
                "content": token,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
            for token, token_id in sorted(special_tokens.items(), key=lambda item: item[1])
        ],
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {
                    "type": "Split",
                    "pattern": {"Regex": oniguruma_pattern(pattern)},
                    "behavior": "Isolated",
                    "invert": False,
                },
                {
                    "type": "ByteLevel",
                    "add_prefix_space": False,
                    "trim_offsets": True,
                    "use_regex": False,
                },
            ],
        },
        "post_processor": None,
        "decoder": {
            "type": "ByteLevel",
            "add_prefix_space": False,
            "trim_offsets": True,
            "use_regex": False,
        },
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": model_vocab,
            # "left right": byte-level text has no spaces (a space byte is "Ġ"), so the old
            # string form is unambiguous and every tokenizers release reads it.
            "merges": [f"{text[a]} {text[b]}" for a, b in merges],
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=2)
