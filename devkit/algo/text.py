"""Bag-of-words and TF-IDF document vectors, exact to scikit-learn, in pure Python.

`CountVectorizer` and `TfidfVectorizer` have the names, options and results of
`sklearn.feature_extraction.text`'s classes of the same names, for ``analyzer="word"``: the same
tokens (the same regular expression, lowercasing, accent stripping, stop words, word n-grams),
the same vocabulary (features sorted alphabetically, ``vocabulary_`` maps term -> column),
the same `min_df` / `max_df` / `max_features` pruning and the same TF-IDF weights
(``idf = ln((1 + n) / (1 + df)) + 1`` with `smooth_idf`, ``ln(n / df) + 1`` without;
``1 + ln(tf)`` with `sublinear_tf`; rows scaled to unit L2 or L1 norm). Values agree with
scikit-learn's to about 1e-15; the tests hold them to 1e-12.

Results are `devkit.algo.sparse.CSRMatrix` objects (``data``, ``indices``, ``indptr``,
``shape``, ``toarray()``, ``m[i]`` for a row); `cosine_similarity` compares their rows.

Errors are devkit's: `VectorizerError` (a ``ValueError``), `InvalidParameterError` (also a
``TypeError``, like scikit-learn's) for a bad option, `NotFittedError` (also an
``AttributeError``) for use before `fit`; each message starts with scikit-learn's and adds what
to do next. Options are plain attributes, checked when `fit` runs, as in scikit-learn.

Not supported: ``analyzer="char"``, ``"char_wb"`` or a callable analyzer, a fixed
``vocabulary=``, ``input="file"/"filename"``, ``encoding``/``decode_error`` (bytes documents are
decoded as strict UTF-8) and ``dtype`` (counts are ints, weights are floats).

Deliberate differences:

- Terms tied in total count at the `max_features` cut-off: scikit-learn sorts the features
  alphabetically before the cut (so that the result does not depend on document order, PR
  #18016) but then ranks them with numpy's unstable ``argsort``, so which tied terms survive
  varies with the CPU and numpy version. This module keeps the alphabetically first ones, the
  result a stable sort gives.
- ``TfidfVectorizer.transform([])`` returns a 0 x n matrix (scikit-learn raises ValueError).
- `stop_words` may be any collection and `ngram_range` a list; ``min_n`` must be at least 1
  (scikit-learn accepts 0 and then counts the empty string as a feature).
- A document that is neither str nor bytes raises `VectorizerError` (scikit-learn fails with
  AttributeError), unless a custom `preprocessor` or `tokenizer` may accept it.
"""

from __future__ import annotations

import math
import re
import unicodedata
import warnings
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate, chain, compress, pairwise, repeat
from numbers import Integral, Real
from operator import mul, truediv

from devkit.algo.sparse import CSRMatrix, cosine_similarity
from devkit.errors import DevkitError

__all__ = [
    "DEFAULT_TOKEN_PATTERN",
    "ENGLISH_STOP_WORDS",
    "CSRMatrix",
    "CountVectorizer",
    "InvalidParameterError",
    "NotFittedError",
    "TfidfVectorizer",
    "VectorizerError",
    "cosine_similarity",
    "strip_accents_ascii",
    "strip_accents_unicode",
]

DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_STRIP_ACCENTS_OPTIONS = "a str among {'ascii', 'unicode'}, a callable or None"

# scikit-learn's English stop-word list (`ENGLISH_STOP_WORDS` in
# sklearn/feature_extraction/_stop_words.py, scikit-learn 1.9.1), copied word for word (sorted,
# wrapped) under scikit-learn's license, whose notice follows. scikit-learn took the list from
# the Glasgow Information Retrieval Group
# (http://ir.dcs.gla.ac.uk/resources/linguistic_utils/stop_words).
#
# BSD 3-Clause License
#
# Copyright (c) 2007-2026 The scikit-learn developers.
# All rights reserved.
#
# Redistribution and use in source and binary forms, with or without
# modification, are permitted provided that the following conditions are met:
#
# * Redistributions of source code must retain the above copyright notice, this
#   list of conditions and the following disclaimer.
#
# * Redistributions in binary form must reproduce the above copyright notice,
#   this list of conditions and the following disclaimer in the documentation
#   and/or other materials provided with the distribution.
#
# * Neither the name of the copyright holder nor the names of its
#   contributors may be used to endorse or promote products derived from
#   this software without specific prior written permission.
#
# THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
# AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
# IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
# DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
# FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
# DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
# SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
# CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
# OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
# OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
ENGLISH_STOP_WORDS = frozenset(
    """
    a about above across after afterwards again against all almost alone along already also
    although always am among amongst amoungst amount an and another any anyhow anyone
    anything anyway anywhere are around as at back be became because become becomes becoming
    been before beforehand behind being below beside besides between beyond bill both bottom
    but by call can cannot cant co con could couldnt cry de describe detail do done down due
    during each eg eight either eleven else elsewhere empty enough etc even ever every
    everyone everything everywhere except few fifteen fifty fill find fire first five for
    former formerly forty found four from front full further get give go had has hasnt have
    he hence her here hereafter hereby herein hereupon hers herself him himself his how
    however hundred i ie if in inc indeed interest into is it its itself keep last latter
    latterly least less ltd made many may me meanwhile might mill mine more moreover most
    mostly move much must my myself name namely neither never nevertheless next nine no
    nobody none noone nor not nothing now nowhere of off often on once one only onto or
    other others otherwise our ours ourselves out over own part per perhaps please put
    rather re same see seem seemed seeming seems serious several she should show side since
    sincere six sixty so some somehow someone something sometime sometimes somewhere still
    such system take ten than that the their them themselves then thence there thereafter
    thereby therefore therein thereupon these they thick thin third this those though three
    through throughout thru thus to together too top toward towards twelve twenty two un
    under until up upon us very via was we well were what whatever when whence whenever
    where whereafter whereas whereby wherein whereupon wherever whether which while whither
    who whoever whole whom whose why will with within without would yet you your yours
    yourself yourselves
    """.split()  # noqa: SIM905 (a word list reads better than 318 quoted strings)
)


class VectorizerError(DevkitError, ValueError):
    """A vectorizer was given unusable documents or options (scikit-learn: ``ValueError``)."""


class InvalidParameterError(VectorizerError, TypeError):
    """An option has the wrong type or value (like scikit-learn's ``InvalidParameterError``)."""


class NotFittedError(VectorizerError, AttributeError):
    """The vectorizer was used before `fit` (like scikit-learn's ``NotFittedError``)."""


def strip_accents_unicode(s: str) -> str:
    """`s` in NFKD form without combining characters (accents). O(len(s)).

    As scikit-learn's function of the same name: ASCII text is returned unchanged.

    >>> strip_accents_unicode("Crème brûlée, Ångström")
    'Creme brulee, Angstrom'
    """
    if s.isascii():
        return s
    normalized = unicodedata.normalize("NFKD", s)
    return "".join([c for c in normalized if not unicodedata.combining(c)])


def strip_accents_ascii(s: str) -> str:
    """`s` in NFKD form with every non-ASCII character dropped. O(len(s)).

    >>> strip_accents_ascii("naïve café ☕")
    'naive cafe '
    """
    return unicodedata.normalize("NFKD", s).encode("ASCII", "ignore").decode("ASCII")


def _decode(document, strict: bool = True):
    """A document as scikit-learn's ``decode`` (input="content") leaves it.

    Bytes are decoded as UTF-8; NaN (a missing value) is refused. Other non-str objects are
    refused too when `strict` (no custom preprocessor or tokenizer that might take them).
    """
    if isinstance(document, str):
        return document
    if isinstance(document, bytes):
        return document.decode("utf-8")
    if isinstance(document, float) and math.isnan(document):
        raise VectorizerError(
            "np.nan is an invalid document, expected byte or unicode string; drop or fill "
            "missing documents first"
        )
    if strict:
        raise VectorizerError(
            f"documents must be str or bytes, got {type(document).__name__}: {document!r:.40}"
        )
    return document


def _word_ngrams(tokens: list, min_n: int, max_n: int) -> list:
    """The n-grams of `tokens` for n in [min_n, max_n], in scikit-learn's order. O(len x n).

    >>> _word_ngrams(["a", "b", "c"], 1, 2)
    ['a', 'b', 'c', 'a b', 'b c']
    """
    if max_n == 1:
        return tokens
    n_tokens = len(tokens)
    if min_n == 1:
        grams = list(tokens)
        min_n = 2
    else:
        grams = []
    append = grams.append
    join = " ".join
    for n in range(min_n, min(max_n + 1, n_tokens + 1)):
        for i in range(n_tokens - n + 1):
            append(join(tokens[i : i + n]))
    return grams


def _is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_fraction(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, Integral) and 0.0 <= value <= 1.0


def _feature_counts(
    analyze: Callable[[str], Iterable], raw_documents: Iterable[str]
) -> Iterator[dict]:
    """Each document's features with how often they occur, in order of first appearance;
    O(tokens).

    >>> list(_feature_counts(str.split, ["b a b", ""]))
    [{'b': 2, 'a': 1}, {}]
    """
    for document in raw_documents:
        counts: dict = {}
        for feature in analyze(document):
            if feature in counts:
                counts[feature] += 1
            else:
                counts[feature] = 1
        yield counts


class CountVectorizer:
    """Documents -> matrix of token counts, as ``sklearn.feature_extraction.text.CountVectorizer``.

    Options (keyword-only, scikit-learn's names and defaults; checked by `fit`):

    - `strip_accents`: None, ``"ascii"``, ``"unicode"`` or a callable, applied after
      lowercasing; `lowercase`: lowercase documents first. Both are skipped when a
      `preprocessor` (a callable str -> str) is given, as in scikit-learn.
    - `tokenizer`: a callable str -> list of tokens; otherwise `token_pattern` (default
      ``r"(?u)\\b\\w\\w+\\b"``, at most one capturing group) is used with ``re.findall``.
    - `stop_words`: None, ``"english"`` (`ENGLISH_STOP_WORDS`) or a list (any collection) of
      tokens removed before n-grams are formed.
    - `ngram_range`: ``(min_n, max_n)``, word n-grams joined by one space, 1 <= min_n <= max_n.
    - `analyzer`: only ``"word"``.
    - `max_df`, `min_df`: keep terms whose document frequency is in [min_df, max_df]; an int
      is a number of documents, a float in [0, 1] a proportion of them.
    - `max_features`: then keep only the `max_features` terms with the highest total count
      (ties: alphabetically first, see the module docstring).
    - `binary`: every non-zero count becomes 1 (before `max_features` is applied, as in
      scikit-learn).

    After `fit`, ``vocabulary_`` maps each term to its column; columns are in sorted term
    order. Documents are str (or bytes, decoded as UTF-8).

    >>> vectorizer = CountVectorizer()
    >>> counts = vectorizer.fit_transform(["The cat sat.", "The cat and the hat."])
    >>> vectorizer.get_feature_names_out()
    ['and', 'cat', 'hat', 'sat', 'the']
    >>> counts.toarray()
    [[0, 1, 0, 1, 1], [1, 1, 1, 0, 2]]
    """

    def __init__(
        self,
        *,
        strip_accents: str | Callable[[str], str] | None = None,
        lowercase: bool = True,
        preprocessor: Callable[[str], str] | None = None,
        tokenizer: Callable[[str], list] | None = None,
        stop_words: str | Iterable[str] | None = None,
        token_pattern: str | None = DEFAULT_TOKEN_PATTERN,
        ngram_range: tuple[int, int] = (1, 1),
        analyzer: str = "word",
        max_df: float | int = 1.0,
        min_df: float | int = 1,
        max_features: int | None = None,
        binary: bool = False,
    ):
        self.strip_accents = strip_accents
        self.lowercase = lowercase
        self.preprocessor = preprocessor
        self.tokenizer = tokenizer
        self.stop_words = stop_words
        self.token_pattern = token_pattern
        self.ngram_range = ngram_range
        self.analyzer = analyzer
        self.max_df = max_df
        self.min_df = min_df
        self.max_features = max_features
        self.binary = binary

    # -- options ---------------------------------------------------------------------------

    def _invalid(self, name: str, expected: str) -> InvalidParameterError:
        value = getattr(self, name)
        return InvalidParameterError(
            f"The {name!r} parameter of {type(self).__name__} must be {expected}. "
            f"Got {value!r} instead."
        )

    def _validate_params(self) -> None:
        """Raise `InvalidParameterError` or `VectorizerError` for a bad option. O(1)."""
        for name in ("lowercase", "binary"):
            if not isinstance(getattr(self, name), bool):
                raise self._invalid(name, "an instance of 'bool'")
        for name in ("preprocessor", "tokenizer"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise self._invalid(name, "a callable or None")
        self._accent_stripper()
        if self.analyzer != "word":
            raise self._invalid(
                "analyzer", "'word' (devkit supports only word analysis, not 'char', "
                "'char_wb' or a callable)"
            )
        self._checked_stop_words()
        if self.tokenizer is None and not isinstance(self.token_pattern, str):
            raise self._invalid("token_pattern", "a str (a tokenizer is not given)")
        ngram_range = self.ngram_range
        if not (
            isinstance(ngram_range, tuple | list)
            and len(ngram_range) == 2
            and all(_is_int(n) for n in ngram_range)
        ):
            raise self._invalid("ngram_range", "a tuple (min_n, max_n) of two ints")
        min_n, max_n = ngram_range
        if min_n > max_n:
            raise VectorizerError(
                f"Invalid value for ngram_range={tuple(ngram_range)} lower boundary larger than "
                "the upper boundary; use (min_n, max_n) with min_n <= max_n"
            )
        if min_n < 1:
            raise self._invalid("ngram_range", "a tuple (min_n, max_n) with 1 <= min_n <= max_n")
        for name in ("max_df", "min_df"):
            value = getattr(self, name)
            if not (_is_fraction(value) or (_is_int(value) and value >= 1)):
                raise self._invalid(
                    name, "a float in the range [0.0, 1.0] or an int in the range [1, inf)"
                )
        if self.max_features is not None and not (
            _is_int(self.max_features) and self.max_features >= 1
        ):
            raise self._invalid("max_features", "an int in the range [1, inf) or None")

    def _accent_stripper(self) -> Callable[[str], str] | None:
        """The function `strip_accents` names (None for none); `InvalidParameterError` for
        anything else. O(1)."""
        strip_accents = self.strip_accents
        if strip_accents is None or callable(strip_accents):
            return strip_accents
        if strip_accents == "ascii":
            return strip_accents_ascii
        if strip_accents == "unicode":
            return strip_accents_unicode
        raise self._invalid("strip_accents", _STRIP_ACCENTS_OPTIONS)

    def _checked_stop_words(self) -> str | Iterable[str] | None:
        """`stop_words` if it is None, "english" or a collection; `InvalidParameterError` for
        anything else. O(1): a collection's items are not read."""
        stop_words = self.stop_words
        if (isinstance(stop_words, str) and stop_words != "english") or (
            stop_words is not None and not isinstance(stop_words, str | Iterable)
        ):
            raise self._invalid("stop_words", "a str among {'english'}, a list or None")
        return stop_words

    def _warn_for_unused_params(self) -> None:
        if self.tokenizer is not None and self.token_pattern is not None:
            warnings.warn(
                "The parameter 'token_pattern' will not be used since 'tokenizer' is not None",
                UserWarning,
                stacklevel=4,  # the caller of fit or fit_transform
            )

    # -- analysis --------------------------------------------------------------------------

    def get_stop_words(self) -> frozenset | None:
        """The effective stop words: None, `ENGLISH_STOP_WORDS` or a frozenset. O(len(list)).

        >>> "the" in CountVectorizer(stop_words="english").get_stop_words()
        True
        """
        stop_words = self._checked_stop_words()
        if stop_words is None:
            return None
        if isinstance(stop_words, str):
            return ENGLISH_STOP_WORDS
        return frozenset(stop_words)

    def build_preprocessor(self) -> Callable[[str], str] | None:
        """The function applied to each document before tokenizing, or None for none. O(1).

        >>> CountVectorizer(strip_accents="ascii").build_preprocessor()("Déjà VU")
        'deja vu'
        """
        if self.preprocessor is not None:
            return self.preprocessor
        accents = self._accent_stripper()
        if accents is None:
            return str.lower if self.lowercase else None
        if not self.lowercase:
            return accents
        return lambda document: accents(document.lower())

    def build_tokenizer(self) -> Callable[[str], list]:
        """The function that splits a preprocessed document into tokens. O(1).

        >>> CountVectorizer().build_tokenizer()("Hi, a tokenizer splits this!")
        ['Hi', 'tokenizer', 'splits', 'this']
        """
        if self.tokenizer is not None:
            return self.tokenizer
        pattern = re.compile(self.token_pattern)
        if pattern.groups > 1:
            raise VectorizerError(
                "More than 1 capturing group in token pattern. Only a single group should be "
                "captured; make the others non-capturing with (?:...)"
            )
        return pattern.findall

    def _check_stop_words_consistency(self, stop_words, preprocess, tokenize) -> None:
        """Warn, as scikit-learn does, when preprocessing a stop word yields other tokens."""
        if stop_words is None or id(self.stop_words) == getattr(self, "_stop_words_id", None):
            return
        try:
            inconsistent = set()
            for word in stop_words:
                text = preprocess(word) if preprocess is not None else word
                inconsistent.update(t for t in tokenize(text) if t not in stop_words)
        except Exception:  # a custom preprocessor or tokenizer that rejects the words
            inconsistent = set()
        self._stop_words_id = id(self.stop_words)
        if inconsistent:
            warnings.warn(
                "Your stop_words may be inconsistent with your preprocessing. Tokenizing the "
                f"stop words generated tokens {sorted(inconsistent)!r} not in stop_words.",
                UserWarning,
                stacklevel=5,  # the caller of fit, fit_transform or transform
            )

    def build_analyzer(self) -> Callable[[str], list]:
        """The function document -> list of features (preprocess, tokenize, stop words, n-grams).

        O(1) to build; the function is O(length of the document x max_n).

        >>> analyze = CountVectorizer(ngram_range=(1, 2), stop_words=["a"]).build_analyzer()
        >>> analyze("A rose is a rose")
        ['rose', 'is', 'rose', 'rose is', 'is rose']
        """
        preprocess = self.build_preprocessor()
        tokenize = self.build_tokenizer()
        stop_words = self.get_stop_words()
        self._check_stop_words_consistency(stop_words, preprocess, tokenize)
        min_n, max_n = self.ngram_range

        if preprocess is str.lower and stop_words is None and max_n == 1:
            lower = str.lower

            def analyze_fast(document) -> list:
                if document.__class__ is not str:
                    document = _decode(document)
                return tokenize(lower(document))

            return analyze_fast

        strict = self.preprocessor is None and self.tokenizer is None

        def analyze(document) -> list:
            if document.__class__ is not str:
                document = _decode(document, strict)
            if preprocess is not None:
                document = preprocess(document)
            tokens = tokenize(document)
            if stop_words is not None:
                tokens = [token for token in tokens if token not in stop_words]
            elif max_n != 1 and not isinstance(tokens, list):
                tokens = list(tokens)
            return _word_ngrams(tokens, min_n, max_n)

        return analyze

    # -- fitting ---------------------------------------------------------------------------

    @staticmethod
    def _check_documents(raw_documents) -> None:
        if isinstance(raw_documents, str | bytes):
            raise VectorizerError(
                "Iterable over raw text documents expected, string object received; wrap a "
                "single document in a list"
            )

    def _fit_counts(self, raw_documents) -> tuple[CSRMatrix, list[int]]:
        """Learn ``vocabulary_``; return the count matrix and each column's document frequency.

        One pass over the documents counts each one's features and records them, sorted, under
        provisional term numbers (in order of first appearance); the vocabulary is then pruned
        and sorted, and the provisional numbers are mapped to columns. Sorting each document's
        terms makes the column indices of every row increase, because columns are numbered in
        sorted term order. O(tokens + nnz + V log V) for V distinct terms.
        """
        self._validate_params()
        self._check_documents(raw_documents)
        self._warn_for_unused_params()
        analyze = self.build_analyzer()

        provisional: defaultdict = defaultdict()
        provisional.default_factory = provisional.__len__
        number_of = provisional.__getitem__
        numbers: list[int] = []
        values: list[int] = []
        ends = [0]
        extend_numbers, extend_values, append_end = numbers.extend, values.extend, ends.append
        for counts in _feature_counts(analyze, raw_documents):
            terms = sorted(counts)
            extend_numbers(map(number_of, terms))
            extend_values(map(counts.__getitem__, terms))
            append_end(len(numbers))
        if not provisional:
            raise VectorizerError(
                "empty vocabulary; perhaps the documents only contain stop words (or no token "
                "matches token_pattern)"
            )
        n_documents = len(ends) - 1
        terms = list(provisional)  # provisional number -> term
        n_terms = len(terms)
        if self.binary:
            values = [1] * len(values)

        max_df, min_df = self.max_df, self.min_df
        high = max_df if _is_int(max_df) else max_df * n_documents
        low = min_df if _is_int(min_df) else min_df * n_documents
        if high < low:
            raise VectorizerError(
                f"max_df corresponds to < documents than min_df (max_df={max_df!r} -> {high} "
                f"documents, min_df={min_df!r} -> {low} documents); raise max_df or lower min_df"
            )
        document_counts = Counter(numbers)
        kept = [p for p in range(n_terms) if low <= document_counts[p] <= high]
        limit = self.max_features
        if limit is not None and len(kept) > limit:
            if self.binary:
                totals = document_counts
            else:
                totals = [0] * n_terms
                for p, value in zip(numbers, values, strict=True):
                    totals[p] += value
            kept.sort(key=lambda p: (-totals[p], terms[p]))
            del kept[limit:]
        if not kept:
            raise VectorizerError(
                "After pruning, no terms remain. Try a lower min_df or a higher max_df."
            )
        kept.sort(key=terms.__getitem__)
        self.vocabulary_ = {terms[p]: column for column, p in enumerate(kept)}
        document_frequency = [document_counts[p] for p in kept]

        column_of = [-1] * n_terms  # provisional number -> column, -1 when pruned
        for column, p in enumerate(kept):
            column_of[p] = column
        if len(kept) == n_terms:
            indices = array("q", map(column_of.__getitem__, numbers))
        else:
            columns = list(map(column_of.__getitem__, numbers))
            keep = list(map((-1).__lt__, columns))
            indices = array("q", compress(columns, keep))
            values = list(compress(values, keep))
            kept_before = list(accumulate(keep, initial=0))
            ends = list(map(kept_before.__getitem__, ends))
        shape = (n_documents, len(kept))
        matrix = CSRMatrix(array("q", values), indices, array("q", ends), shape)
        return matrix, document_frequency

    def _check_fitted(self, message: str = "Vocabulary not fitted or provided") -> None:
        if not hasattr(self, "vocabulary_"):
            raise NotFittedError(f"{message}; call fit or fit_transform first")

    def _transform_counts(self, raw_documents) -> CSRMatrix:
        """The count matrix of documents over the fitted vocabulary. O(tokens + nnz log)."""
        self._check_documents(raw_documents)
        analyze = self.build_analyzer()
        vocabulary = self.vocabulary_
        known, column_of = vocabulary.__contains__, vocabulary.__getitem__
        indices: list[int] = []
        values: list[int] = []
        ends = [0]
        for counts in _feature_counts(analyze, raw_documents):
            terms = sorted(filter(known, counts))
            indices.extend(map(column_of, terms))
            values.extend(map(counts.__getitem__, terms))
            ends.append(len(indices))
        if self.binary:
            values = [1] * len(values)
        shape = (len(ends) - 1, len(vocabulary))
        return CSRMatrix(array("q", values), array("q", indices), array("q", ends), shape)

    def fit(self, raw_documents: Iterable[str], y=None) -> CountVectorizer:
        """Learn the vocabulary of `raw_documents` (y is ignored); return self.

        O(tokens + nnz + V log V) time for V distinct terms.

        >>> CountVectorizer(min_df=2).fit(["a bb cc", "bb cc", "cc dd"]).vocabulary_
        {'bb': 0, 'cc': 1}
        """
        self._fit_counts(raw_documents)
        return self

    def fit_transform(self, raw_documents: Iterable[str], y=None) -> CSRMatrix:
        """Learn the vocabulary and return the document-term count matrix (y is ignored).

        O(tokens + nnz + V log V) time; the matrix takes O(nnz + documents) memory.

        >>> CountVectorizer(binary=True).fit_transform(["bb bb cc", "cc"]).toarray()
        [[1, 1], [0, 1]]
        """
        return self._fit_counts(raw_documents)[0]

    def transform(self, raw_documents: Iterable[str]) -> CSRMatrix:
        """Count the fitted vocabulary's terms in `raw_documents`; other terms are ignored.

        O(tokens + nnz log nnz_per_row) time.

        >>> vectorizer = CountVectorizer().fit(["red fish", "blue fish"])
        >>> vectorizer.transform(["one fish two fish red fish"]).toarray()
        [[0, 3, 1]]
        """
        self._check_fitted()
        return self._transform_counts(raw_documents)

    def get_feature_names_out(self, input_features=None) -> list[str]:
        """The terms in column order (input_features is ignored). O(V log V).

        >>> CountVectorizer().fit(["b a c", "ab"]).get_feature_names_out()
        ['ab']
        """
        self._check_fitted()
        return sorted(self.vocabulary_, key=self.vocabulary_.__getitem__)


class TfidfVectorizer(CountVectorizer):
    """Documents -> TF-IDF matrix, as ``sklearn.feature_extraction.text.TfidfVectorizer``.

    Takes every option of `CountVectorizer`, plus:

    - `use_idf`: multiply counts by ``idf_[column]``, where for n documents and a term in df
      of them ``idf = ln((1 + n) / (1 + df)) + 1`` with `smooth_idf` (the default) and
      ``ln(n / df) + 1`` without. ``idf_`` is learned by `fit` (a list of floats).
    - `sublinear_tf`: use ``1 + ln(count)`` instead of the count.
    - `norm`: ``"l2"`` (default) or ``"l1"`` scales every non-empty row to unit norm; None
      leaves rows as they are.

    >>> vectorizer = TfidfVectorizer()
    >>> matrix = vectorizer.fit_transform(["good dog", "bad dog", "good good cat"])
    >>> [round(value, 4) for value in vectorizer.idf_]
    [1.6931, 1.6931, 1.2877, 1.2877]
    >>> [round(value, 4) for value in matrix[2].toarray()[0]]
    [0.0, 0.5494, 0.0, 0.8356]
    """

    def __init__(
        self,
        *,
        strip_accents: str | Callable[[str], str] | None = None,
        lowercase: bool = True,
        preprocessor: Callable[[str], str] | None = None,
        tokenizer: Callable[[str], list] | None = None,
        analyzer: str = "word",
        stop_words: str | Iterable[str] | None = None,
        token_pattern: str | None = DEFAULT_TOKEN_PATTERN,
        ngram_range: tuple[int, int] = (1, 1),
        max_df: float | int = 1.0,
        min_df: float | int = 1,
        max_features: int | None = None,
        binary: bool = False,
        norm: str | None = "l2",
        use_idf: bool = True,
        smooth_idf: bool = True,
        sublinear_tf: bool = False,
    ):
        super().__init__(
            strip_accents=strip_accents,
            lowercase=lowercase,
            preprocessor=preprocessor,
            tokenizer=tokenizer,
            analyzer=analyzer,
            stop_words=stop_words,
            token_pattern=token_pattern,
            ngram_range=ngram_range,
            max_df=max_df,
            min_df=min_df,
            max_features=max_features,
            binary=binary,
        )
        self.norm = norm
        self.use_idf = use_idf
        self.smooth_idf = smooth_idf
        self.sublinear_tf = sublinear_tf

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.norm not in ("l1", "l2", None):
            raise self._invalid("norm", "a str among {'l1', 'l2'} or None")
        for name in ("use_idf", "smooth_idf", "sublinear_tf"):
            if not isinstance(getattr(self, name), bool):
                raise self._invalid(name, "an instance of 'bool'")

    @property
    def idf_(self) -> list[float]:
        """The inverse document frequency of each column (a new list). O(V).

        Raises `NotFittedError` before `fit`, and ``AttributeError`` when `use_idf` is False.

        >>> TfidfVectorizer(smooth_idf=False).fit(["aa bb", "aa"]).idf_
        [1.0, 1.6931471805599454]
        """
        if not hasattr(self, "_idf"):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet. Call 'fit' with appropriate "
                "arguments before using this attribute."
            )
        if self._idf is None:
            raise AttributeError("idf_ is only learned when use_idf=True")
        return list(self._idf)

    def _fit_idf(self, document_frequency: list[int], n_documents: int) -> None:
        if not self.use_idf:
            self._idf = None
            return
        smooth = 1 if self.smooth_idf else 0
        n = n_documents + smooth
        log = math.log
        self._idf = [log(n / (df + smooth)) + 1.0 for df in document_frequency]

    def _weigh(self, counts: CSRMatrix) -> CSRMatrix:
        """TF-IDF weights from counts, in place of scikit-learn's TfidfTransformer. O(nnz)."""
        indices, indptr = counts.indices, counts.indptr
        if self.sublinear_tf:
            log = math.log
            weights = [log(count) + 1.0 for count in counts.data]
        else:
            weights = counts.data
        if self._idf is not None:
            weights = list(map(mul, weights, map(self._idf.__getitem__, indices)))
        elif not isinstance(weights, list):
            weights = list(map(float, weights))
        if self.norm is not None:
            row_norm = math.hypot if self.norm == "l2" else _l1_norm
            norms = [row_norm(*weights[start:stop]) or 1.0 for start, stop in pairwise(indptr)]
            lengths = map(int.__sub__, indptr[1:], indptr[:-1])
            weights = map(truediv, weights, chain.from_iterable(map(repeat, norms, lengths)))
        return CSRMatrix(array("d", weights), indices, indptr, counts.shape)

    def fit(self, raw_documents: Iterable[str], y=None) -> TfidfVectorizer:
        """Learn the vocabulary and ``idf_`` of `raw_documents` (y is ignored); return self.

        O(tokens + nnz + V log V) time.

        >>> TfidfVectorizer().fit(["x yy", "yy zz"]).vocabulary_
        {'yy': 0, 'zz': 1}
        """
        counts, document_frequency = self._fit_counts(raw_documents)
        self._fit_idf(document_frequency, counts.shape[0])
        return self

    def fit_transform(self, raw_documents: Iterable[str], y=None) -> CSRMatrix:
        """Learn the vocabulary and ``idf_``, return the TF-IDF matrix (y is ignored).

        O(tokens + nnz + V log V) time.

        >>> TfidfVectorizer(norm="l1", use_idf=False).fit_transform(["aa aa bb"]).toarray()
        [[0.6666666666666666, 0.3333333333333333]]
        """
        counts, document_frequency = self._fit_counts(raw_documents)
        self._fit_idf(document_frequency, counts.shape[0])
        return self._weigh(counts)

    def transform(self, raw_documents: Iterable[str]) -> CSRMatrix:
        """The TF-IDF matrix of `raw_documents` with the fitted vocabulary and ``idf_``.

        Unknown terms are ignored. O(tokens + nnz log nnz_per_row) time.

        >>> vectorizer = TfidfVectorizer().fit(["aa bb", "bb cc"])
        >>> vectorizer.transform(["zz"]).toarray()
        [[0.0, 0.0, 0.0]]
        """
        self._check_fitted("The TF-IDF vectorizer is not fitted")
        return self._weigh(self._transform_counts(raw_documents))


def _l1_norm(*values: float) -> float:
    """The sum of absolute values, as scikit-learn's l1 row normalization computes it."""
    total = 0.0
    for value in values:
        total += abs(value)
    return total
