"""Tests for devkit.algo.text and devkit.algo.sparse against scikit-learn.

Every comparison fits scikit-learn's vectorizer with the same options on the same documents and
asserts the same vocabulary, the same feature names and values within 1e-12 (counts exactly),
on hand-picked corpora and on hypothesis-generated ones (words from a small alphabet so that
terms repeat, empty documents, accents, non-Latin scripts, digits and punctuation). The one
deliberate difference, the choice among terms tied at the `max_features` cut-off, is checked
against its own specification and against scikit-learn's choice outside the tie.
"""

import math
import re
import warnings
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError as SkNotFittedError
from sklearn.feature_extraction import text as sk_text
from sklearn.metrics.pairwise import cosine_similarity as sk_cosine_similarity

from devkit.algo import text
from devkit.algo.sparse import CSRMatrix, SparseError, cosine_similarity
from devkit.algo.text import (
    CountVectorizer,
    InvalidParameterError,
    NotFittedError,
    TfidfVectorizer,
    VectorizerError,
)

TOLERANCE = 1e-12
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,  # no .hypothesis folder in the checkout
    suppress_health_check=[HealthCheck.too_slow],
)

# The scikit-learn documentation's corpus.
CORPUS = [
    "This is the first document.",
    "This document is the second document.",
    "And this is the third one.",
    "Is this the first document?",
]
PROSE = [
    "The quick brown fox jumps over the lazy dog.",
    "Never jump over the lazy dog quickly; the dog bites.",
    "Brown foxes and brown dogs: a study of the quick and the lazy.",
    "",
    "Crème brûlée and CAFÉ au lait, naïve façade, Ångström!",
    "Don't stop: it's the dog's bone, isn't it? 42 dogs, 7 foxes, 2024-01-01.",
    "Über straße ΑΘΗΝΑ αθηνα Москва москва 東京 東京",
    "the the the the dog",
]

WORDS = st.sampled_from(
    ["aa", "ab", "ba", "bb", "a", "b", "c", "AA", "Ab", "ée", "éé", "ÉE", "e\u0301e",
     "αβ", "\u0391\u0392", "日本", "x1", "12", "_a", "a_b", "the", "and", "is", "not", "don't"]
)
SEPARATORS = st.sampled_from([" ", "  ", ", ", ".", "-", "\n", "!?", "'", "\t"])


@st.composite
def documents(draw, min_size=0, max_size=12):
    """A document: 0-12 words from a small alphabet joined by assorted separators."""
    words = draw(st.lists(WORDS, min_size=min_size, max_size=max_size))
    parts = []
    for word in words:
        parts.append(word)
        parts.append(draw(SEPARATORS))
    return "".join(parts)


CORPORA = st.lists(documents(), min_size=1, max_size=10)

COUNT_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "lowercase": st.booleans(),
        "strip_accents": st.sampled_from([None, "ascii", "unicode"]),
        "stop_words": st.one_of(
            st.none(), st.just("english"), st.lists(st.sampled_from(["aa", "bb", "the", "日本"]))
        ),
        "token_pattern": st.sampled_from([text.DEFAULT_TOKEN_PATTERN, r"(?u)\b\w+\b", r"[ab]+"]),
        "ngram_range": st.sampled_from([(1, 1), (1, 2), (2, 2), (1, 3), (2, 3), (3, 3)]),
        "min_df": st.one_of(st.integers(1, 4), st.floats(0.0, 1.0)),
        "max_df": st.one_of(st.integers(1, 6), st.floats(0.0, 1.0)),
        "max_features": st.one_of(st.none(), st.integers(1, 8)),
        "binary": st.booleans(),
    },
)
TFIDF_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "norm": st.sampled_from(["l2", "l1", None]),
        "use_idf": st.booleans(),
        "smooth_idf": st.booleans(),
        "sublinear_tf": st.booleans(),
    },
)


# ---- helpers ----------------------------------------------------------------------------------


def as_int_dict(vocabulary):
    return {term: int(column) for term, column in vocabulary.items()}


def assert_same_matrix(ours: CSRMatrix, theirs, exact: bool) -> None:
    ours.check()
    assert ours.shape == tuple(theirs.shape)
    dense = np.asarray(ours.toarray(), dtype=float).reshape(ours.shape)
    expected = theirs.toarray()
    if exact:
        assert np.array_equal(dense, expected)
        assert all(isinstance(v, int) for v in ours.data)
    else:
        np.testing.assert_allclose(dense, expected, rtol=TOLERANCE, atol=TOLERANCE)
    assert ours.nnz == np.count_nonzero(expected)


def assert_same_fit(ours, theirs) -> None:
    assert as_int_dict(theirs.vocabulary_) == ours.vocabulary_
    assert ours.get_feature_names_out() == list(theirs.get_feature_names_out())
    if isinstance(ours, TfidfVectorizer) and ours.use_idf:
        np.testing.assert_allclose(ours.idf_, theirs.idf_, rtol=TOLERANCE, atol=TOLERANCE)


def fit_both(cls_name, options, corpus):
    """Fit ours and scikit-learn's; (ours, matrix, theirs, matrix) or the two exceptions."""
    ours = getattr(text, cls_name)(**options)
    theirs = getattr(sk_text, cls_name)(**options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            theirs_matrix = theirs.fit_transform(corpus)
        except ValueError as error:
            with pytest.raises(VectorizerError) as ours_error:
                ours.fit_transform(corpus)
            return None, ours_error.value, None, error
        ours_matrix = ours.fit_transform(corpus)
    return ours, ours_matrix, theirs, theirs_matrix


def same_message(ours: Exception, theirs: Exception) -> None:
    """Our message starts with scikit-learn's first clause (ours adds what to do next)."""
    head = re.split(r"[;.(]", str(theirs))[0].strip()
    assert str(ours).startswith(head), (str(ours), str(theirs))


def tied_at_cutoff(counts_matrix, limit: int) -> bool:
    """Whether the total counts at ranks `limit` and `limit + 1` are equal."""
    totals = sorted(np.asarray(counts_matrix.sum(axis=0)).ravel(), reverse=True)
    return len(totals) > limit and totals[limit - 1] == totals[limit]


def compare(cls_name, options, corpus, new_corpus=None) -> None:
    """Ours against scikit-learn on `corpus` (and `transform` of `new_corpus`)."""
    exact = cls_name == "CountVectorizer"
    ours, ours_matrix, theirs, theirs_matrix = fit_both(cls_name, options, corpus)
    if ours is None:
        same_message(ours_matrix, theirs_matrix)
        return
    limit = options.get("max_features")
    if limit is not None:
        # Which of several terms tied at the cut-off scikit-learn keeps depends on numpy's
        # unstable argsort; ours keeps the alphabetically first. Check ours against that rule
        # and against scikit-learn's choice on everything but the tie, then compare values
        # with scikit-learn given our vocabulary.
        check_max_features(options, corpus, ours, theirs)
        theirs = getattr(sk_text, cls_name)(
            **{k: v for k, v in options.items() if k not in ("max_features", "min_df", "max_df")},
            vocabulary=ours.vocabulary_,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs_matrix = theirs.fit_transform(corpus)
    assert_same_fit(ours, theirs)
    assert_same_matrix(ours_matrix, theirs_matrix, exact)
    if new_corpus == [] and not exact:
        # scikit-learn's TfidfTransformer refuses 0 documents; ours returns a 0 x n matrix.
        assert ours.transform([]).shape == (0, len(ours.vocabulary_))
    elif new_corpus is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert_same_matrix(ours.transform(new_corpus), theirs.transform(new_corpus), exact)


def check_max_features(options, corpus, ours, theirs) -> None:
    limit = options["max_features"]
    # The terms that pass min_df / max_df, with their total counts (binary counts if binary).
    count_options = {k: v for k, v in options.items()
                     if k in vars(CountVectorizer()) and k != "max_features"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = sk_text.CountVectorizer(**count_options)
        counts = reference.fit_transform(corpus)
    totals = dict(zip(reference.get_feature_names_out(), np.asarray(counts.sum(axis=0)).ravel(),
                      strict=True))
    expected = sorted(sorted(totals, key=lambda t: (-totals[t], t))[:limit])
    assert ours.get_feature_names_out() == expected
    theirs_terms = set(theirs.get_feature_names_out())
    assert len(theirs_terms) == len(expected)
    if len(totals) > limit:
        cutoff = sorted(totals.values(), reverse=True)[limit - 1]
        above = {t for t in totals if totals[t] > cutoff}
        assert above <= theirs_terms and above <= set(expected)
        assert all(totals[t] == cutoff for t in theirs_terms ^ set(expected))
    if not tied_at_cutoff(counts, limit):
        assert set(expected) == theirs_terms


# ---- scikit-learn's own example and every option on its own -----------------------------------


def test_scikit_learn_documentation_example():
    vectorizer = TfidfVectorizer()
    matrix = vectorizer.fit_transform(CORPUS)
    assert vectorizer.get_feature_names_out() == [
        "and", "document", "first", "is", "one", "second", "the", "third", "this"]
    assert matrix.shape == (4, 9)
    compare("TfidfVectorizer", {}, CORPUS, PROSE)
    compare("CountVectorizer", {}, CORPUS, PROSE)


SINGLE_OPTIONS = [
    {},
    {"lowercase": False},
    {"strip_accents": "ascii"},
    {"strip_accents": "unicode"},
    {"strip_accents": "unicode", "lowercase": False},
    {"stop_words": "english"},
    {"stop_words": ["the", "dog", "and"]},
    {"token_pattern": r"(?u)\b\w+\b"},
    {"token_pattern": r"(\w+)'s"},  # one capturing group: findall returns the group
    {"ngram_range": (1, 2)},
    {"ngram_range": (2, 2)},
    {"ngram_range": (1, 3), "stop_words": "english"},
    {"min_df": 2},
    {"min_df": 0.3},
    {"max_df": 2},
    {"max_df": 0.5},
    {"min_df": 2, "max_df": 0.9},
    {"min_df": 0.0, "max_df": 1.0},
    {"max_features": 5},
    {"max_features": 1000},
    {"binary": True},
    {"binary": True, "max_features": 4},
]
TFIDF_ONLY = [
    {"norm": "l1"},
    {"norm": None},
    {"use_idf": False},
    {"use_idf": False, "norm": None},
    {"smooth_idf": False},
    {"sublinear_tf": True},
    {"sublinear_tf": True, "smooth_idf": False, "norm": "l1"},
]


@pytest.mark.parametrize("options", SINGLE_OPTIONS, ids=repr)
def test_count_vectorizer_options(options):
    compare("CountVectorizer", options, PROSE, CORPUS + PROSE[::-1])


@pytest.mark.parametrize("options", SINGLE_OPTIONS + TFIDF_ONLY, ids=repr)
def test_tfidf_vectorizer_options(options):
    compare("TfidfVectorizer", options, PROSE, CORPUS + PROSE[::-1])


def test_fit_then_transform_equals_fit_transform():
    for cls in (CountVectorizer, TfidfVectorizer):
        together = cls(ngram_range=(1, 2)).fit_transform(PROSE)
        apart = cls(ngram_range=(1, 2)).fit(PROSE).transform(PROSE)
        assert together.toarray() == apart.toarray()
        assert list(together.indices) == list(apart.indices)


def test_transform_ignores_unknown_words_and_keeps_empty_rows():
    vectorizer = TfidfVectorizer().fit(["red fish", "blue fish"])
    matrix = vectorizer.transform(["green eggs", "", "red red red", "fish"])
    assert matrix.toarray() == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0],
                                [0.0, 1.0, 0.0]]
    matrix.check()


def test_documents_can_be_a_generator_and_bytes():
    compare("TfidfVectorizer", {}, [d.encode("utf-8") for d in PROSE])
    vectorizer = CountVectorizer()
    matrix = vectorizer.fit_transform(d for d in PROSE)
    assert matrix.shape == (len(PROSE), len(vectorizer.vocabulary_))


@pytest.mark.parametrize("options", [{}, {"lowercase": False}, {"ngram_range": (1, 2)}])
def test_documents_that_are_not_text_are_refused(options):
    with pytest.raises(VectorizerError, match="documents must be str or bytes, got NoneType"):
        CountVectorizer(**options).fit(["fine", None])
    # A custom preprocessor may take other objects, as in scikit-learn.
    vectorizer = CountVectorizer(preprocessor=lambda pair: " ".join(pair), **options)
    assert vectorizer.fit_transform([("aa", "bb"), ("bb", "cc")]).shape[0] == 2


def test_english_stop_words_are_scikit_learns():
    assert text.ENGLISH_STOP_WORDS == sk_text.ENGLISH_STOP_WORDS
    assert CountVectorizer(stop_words="english").get_stop_words() is text.ENGLISH_STOP_WORDS


def test_stop_words_accept_any_collection():
    as_list = CountVectorizer(stop_words=["the", "dog"]).fit(PROSE).vocabulary_
    assert CountVectorizer(stop_words=("the", "dog")).fit(PROSE).vocabulary_ == as_list
    assert CountVectorizer(stop_words={"the", "dog"}).fit(PROSE).vocabulary_ == as_list
    assert "the" not in as_list and "dog" not in as_list


def test_max_features_ties_keep_the_alphabetically_first_terms():
    # "zz" and "aa" and "bb" all occur twice; "cc" three times; two features are kept.
    corpus = ["zz aa cc", "yy bb zz", "aa bb cc cc"]
    vectorizer = CountVectorizer(max_features=2).fit(corpus)
    assert vectorizer.get_feature_names_out() == ["aa", "cc"]
    theirs = sk_text.CountVectorizer(max_features=2).fit(corpus)
    assert "cc" in theirs.get_feature_names_out()  # the untied term, whatever the platform
    check_max_features({"max_features": 2}, corpus, vectorizer, theirs)
    # Ties are broken the same way whatever the document order.
    shuffled = CountVectorizer(max_features=2).fit(corpus[::-1])
    assert shuffled.vocabulary_ == vectorizer.vocabulary_


def test_max_features_counts_binary_values_when_binary():
    corpus = ["aa aa aa aa", "bb cc", "bb cc", "cc"]
    assert CountVectorizer(max_features=1).fit(corpus).get_feature_names_out() == ["aa"]
    assert CountVectorizer(max_features=1, binary=True).fit(corpus).get_feature_names_out() == [
        "cc"]
    compare("CountVectorizer", {"max_features": 1, "binary": True}, corpus)
    compare("CountVectorizer", {"max_features": 1}, corpus)


def test_ngram_ranges():
    analyze = CountVectorizer(ngram_range=(2, 3)).build_analyzer()
    assert analyze("a bb cc dd") == ["bb cc", "cc dd", "bb cc dd"]
    for ngram_range in [(1, 2), (2, 2), (1, 4), (3, 5)]:
        compare("TfidfVectorizer", {"ngram_range": ngram_range}, PROSE, CORPUS)


def test_custom_tokenizer_and_preprocessor():
    def tokenize(document):
        return document.split()

    with pytest.warns(UserWarning, match="'token_pattern' will not be used"):
        vectorizer = CountVectorizer(tokenizer=tokenize).fit(["A b, c", "b c"])
    assert vectorizer.get_feature_names_out() == ["a", "b", "b,", "c"]
    compare("TfidfVectorizer", {"tokenizer": tokenize, "token_pattern": None}, PROSE, CORPUS)
    compare("TfidfVectorizer", {"tokenizer": tokenize, "ngram_range": (1, 2)}, PROSE)
    # A preprocessor replaces lowercasing and accent stripping, as in scikit-learn.
    compare("CountVectorizer", {"preprocessor": str.upper, "strip_accents": "ascii"}, PROSE)
    compare("CountVectorizer", {"preprocessor": lambda d: d[::-1]}, PROSE, CORPUS)


def test_analyzer_matches_scikit_learn_on_prose():
    for options in SINGLE_OPTIONS:
        options = {k: v for k, v in options.items() if k in (
            "lowercase", "strip_accents", "stop_words", "token_pattern", "ngram_range")}
        ours = CountVectorizer(**options).build_analyzer()
        theirs = sk_text.CountVectorizer(**options).build_analyzer()
        for document in PROSE + CORPUS:
            assert ours(document) == theirs(document), (options, document)


def test_stop_words_inconsistent_with_preprocessing_warn_like_scikit_learn():
    with pytest.warns(UserWarning, match=r"generated tokens \['don'\]") as ours:
        CountVectorizer(stop_words=["don't"]).fit(["I don't know"])
    with pytest.warns(UserWarning, match="inconsistent") as theirs:
        sk_text.CountVectorizer(stop_words=["don't"]).fit(["I don't know"])
    assert str(ours[0].message) == str(theirs[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CountVectorizer(stop_words="english").fit(PROSE)


# ---- random corpora and option combinations ---------------------------------------------------


@SETTINGS
@given(corpus=CORPORA, new_corpus=st.lists(documents(), max_size=4), options=COUNT_OPTIONS)
def test_random_count_vectorizer(corpus, new_corpus, options):
    compare("CountVectorizer", options, corpus, new_corpus)


@SETTINGS
@given(
    corpus=CORPORA,
    new_corpus=st.lists(documents(), max_size=4),
    options=COUNT_OPTIONS,
    tfidf_options=TFIDF_OPTIONS,
)
def test_random_tfidf_vectorizer(corpus, new_corpus, options, tfidf_options):
    compare("TfidfVectorizer", {**options, **tfidf_options}, corpus, new_corpus)


@settings(SETTINGS, max_examples=60)
@given(corpus=CORPORA)
def test_random_analyzer(corpus):
    for options in ({}, {"ngram_range": (1, 3), "stop_words": "english"},
                    {"strip_accents": "unicode", "lowercase": False}):
        ours = CountVectorizer(**options).build_analyzer()
        theirs = sk_text.CountVectorizer(**options).build_analyzer()
        for document in corpus:
            assert ours(document) == theirs(document)


# ---- cosine similarity ------------------------------------------------------------------------


def test_cosine_similarity_of_tfidf_rows_matches_scikit_learn():
    ours_vectorizer = TfidfVectorizer(stop_words=["the"])
    theirs_vectorizer = sk_text.TfidfVectorizer(stop_words=["the"])
    ours = ours_vectorizer.fit_transform([*PROSE, "the"])  # the last row is all zeros
    theirs = theirs_vectorizer.fit_transform([*PROSE, "the"])
    expected = sk_cosine_similarity(theirs)
    result = cosine_similarity(ours)
    np.testing.assert_allclose(result, expected, rtol=TOLERANCE, atol=TOLERANCE)
    assert result[-1] == [0.0] * len(result)
    other = ours_vectorizer.transform(CORPUS)
    np.testing.assert_allclose(
        cosine_similarity(ours, other),
        sk_cosine_similarity(theirs, theirs_vectorizer.transform(CORPUS)),
        rtol=TOLERANCE, atol=TOLERANCE,
    )


@SETTINGS
@given(
    x=st.lists(st.lists(st.sampled_from([0, 0, 0, 1, 2, -1.5, 3.25]), min_size=4, max_size=4),
               min_size=1, max_size=6),
    y=st.one_of(st.none(), st.lists(st.lists(st.sampled_from([0, 0, 1, -2, 0.5]), min_size=4,
                                             max_size=4), min_size=1, max_size=6)),
    sparse=st.booleans(),
)
def test_random_cosine_similarity(x, y, sparse):
    expected = sk_cosine_similarity(np.array(x, dtype=float),
                                    None if y is None else np.array(y, dtype=float))
    if sparse:
        x = CSRMatrix.from_dense(x)
        y = None if y is None else CSRMatrix.from_dense(y)
    np.testing.assert_allclose(cosine_similarity(x, y), expected, rtol=TOLERANCE, atol=TOLERANCE)


def test_cosine_similarity_rejects_different_widths():
    with pytest.raises(SparseError, match="Incompatible dimension"):
        cosine_similarity([[1, 0]], [[1, 0, 0]])
    with pytest.raises(ValueError, match="Incompatible dimension"):
        sk_cosine_similarity([[1, 0]], [[1, 0, 0]])


# ---- errors -----------------------------------------------------------------------------------


ERRORS = [
    # (class, options, documents, the start of the message both libraries give)
    ("CountVectorizer", {}, [], "empty vocabulary; perhaps the documents only contain stop words"),
    ("CountVectorizer", {}, ["", "a b", "!?"], "empty vocabulary"),
    ("TfidfVectorizer", {"stop_words": "english"}, ["the and", "is it"], "empty vocabulary"),
    ("CountVectorizer", {"max_df": 1, "min_df": 2}, CORPUS,
     "max_df corresponds to < documents than min_df"),
    ("TfidfVectorizer", {"max_df": 0.1, "min_df": 0.5}, CORPUS,
     "max_df corresponds to < documents than min_df"),
    ("CountVectorizer", {"max_df": 1}, ["aa bb", "bb aa"], "After pruning, no terms remain"),
    ("CountVectorizer", {"ngram_range": (2, 1)}, CORPUS,
     "Invalid value for ngram_range=(2, 1) lower boundary larger than the upper boundary"),
    ("TfidfVectorizer", {"norm": "l3"}, CORPUS, "The 'norm' parameter of TfidfVectorizer must be"),
    ("TfidfVectorizer", {"use_idf": None}, CORPUS, "The 'use_idf' parameter"),
    ("CountVectorizer", {"min_df": -1}, CORPUS,
     "The 'min_df' parameter of CountVectorizer must be a float in the range [0.0, 1.0] or an "
     "int in the range [1, inf)"),
    ("CountVectorizer", {"max_df": 1.5}, CORPUS, "The 'max_df' parameter"),
    ("CountVectorizer", {"max_df": 0}, CORPUS, "The 'max_df' parameter"),
    ("CountVectorizer", {"max_features": 0}, CORPUS,
     "The 'max_features' parameter of CountVectorizer must be an int in the range [1, inf) or "
     "None"),
    ("CountVectorizer", {"stop_words": "french"}, CORPUS, "The 'stop_words' parameter"),
    ("CountVectorizer", {"lowercase": 1}, CORPUS, "The 'lowercase' parameter"),
    ("CountVectorizer", {"analyzer": "words"}, CORPUS, "The 'analyzer' parameter"),
    ("CountVectorizer", {"token_pattern": r"(a)(b)"}, CORPUS,
     "More than 1 capturing group in token pattern"),
    ("CountVectorizer", {}, "one document", "Iterable over raw text documents expected"),
    ("TfidfVectorizer", {}, ["fine", np.nan], "np.nan is an invalid document"),
]


@pytest.mark.parametrize(("cls_name", "options", "corpus", "message"), ERRORS,
                         ids=[repr(e[1]) + " " + e[3][:30] for e in ERRORS])
def test_errors_like_scikit_learn(cls_name, options, corpus, message):
    with pytest.raises(ValueError) as theirs:
        getattr(sk_text, cls_name)(**options).fit(corpus)
    assert str(theirs.value).startswith(message)
    with pytest.raises(VectorizerError) as ours:
        getattr(text, cls_name)(**options).fit(corpus)
    assert str(ours.value).startswith(message)
    assert isinstance(ours.value, ValueError)
    if isinstance(theirs.value, TypeError):  # scikit-learn's InvalidParameterError
        assert isinstance(ours.value, InvalidParameterError)
        assert isinstance(ours.value, TypeError)


@pytest.mark.parametrize("options", [{"ngram_range": (0, 1)}, {"ngram_range": (1,)},
                                     {"analyzer": "char"}, {"analyzer": str.split},
                                     {"token_pattern": None}])
def test_unsupported_or_malformed_options_are_refused(options):
    with pytest.raises(InvalidParameterError, match="parameter of CountVectorizer must be"):
        CountVectorizer(**options).fit(CORPUS)


@pytest.mark.parametrize("cls_name", ["CountVectorizer", "TfidfVectorizer"])
@pytest.mark.parametrize("method", ["transform", "get_feature_names_out"])
def test_use_before_fit(cls_name, method):
    arguments = (CORPUS,) if method == "transform" else ()
    with pytest.raises(SkNotFittedError) as theirs:
        getattr(getattr(sk_text, cls_name)(), method)(*arguments)
    with pytest.raises(NotFittedError) as ours:
        getattr(getattr(text, cls_name)(), method)(*arguments)
    assert isinstance(ours.value, ValueError) and isinstance(ours.value, AttributeError)
    assert str(ours.value).startswith(str(theirs.value))
    assert "call fit" in str(ours.value)


def test_idf_before_fit_and_without_idf():
    with pytest.raises(NotFittedError, match="TfidfVectorizer is not fitted yet"):
        TfidfVectorizer().idf_  # noqa: B018
    assert not hasattr(TfidfVectorizer(), "idf_")
    vectorizer = TfidfVectorizer(use_idf=False).fit(CORPUS)
    with pytest.raises(AttributeError, match="use_idf=True"):
        vectorizer.idf_  # noqa: B018
    with pytest.raises(AttributeError):
        sk_text.TfidfVectorizer(use_idf=False).fit(CORPUS).idf_  # noqa: B018


def test_idf_formulas():
    corpus = ["aa bb", "aa", "aa cc", "dd"]
    smooth = TfidfVectorizer().fit(corpus).idf_
    plain = TfidfVectorizer(smooth_idf=False).fit(corpus).idf_
    dfs = [3, 1, 1, 1]
    assert smooth == [math.log(5 / (df + 1)) + 1 for df in dfs]
    assert plain == [math.log(4 / df) + 1 for df in dfs]


def test_refit_replaces_the_vocabulary():
    vectorizer = CountVectorizer().fit(["aa bb"])
    vectorizer.fit(["cc dd ee"])
    assert vectorizer.get_feature_names_out() == ["cc", "dd", "ee"]
    vectorizer.min_df = 2  # options are plain attributes, checked at fit
    with pytest.raises(VectorizerError, match="no terms remain"):
        vectorizer.fit(["cc", "dd"])


# ---- the CSR matrix ---------------------------------------------------------------------------


def test_csr_matrix_rows_items_and_iteration():
    dense = [[0, 1.5, 0, 2], [0, 0, 0, 0], [3, 0, 0, -1]]
    matrix = CSRMatrix.from_dense(dense)
    matrix.check()
    assert matrix.shape == (3, 4) and matrix.nnz == 4
    assert matrix.toarray() == dense == matrix.tolist()
    assert matrix[2].toarray() == [[3, 0, 0, -1]]
    assert matrix[-1].toarray() == matrix.getrow(2).toarray()
    assert matrix[1].nnz == 0 and matrix[1].shape == (1, 4)
    assert [row.toarray()[0] for row in matrix] == dense
    assert matrix[0, 3] == 2 and matrix[0, 0] == 0 and matrix[-1, -1] == -1
    with pytest.raises(IndexError):
        matrix[3]
    with pytest.raises(IndexError):
        matrix[0, 4]
    assert repr(matrix) == "<CSRMatrix 3x4, 4 stored values>"


def test_csr_matrix_rows_of_vectorizers_are_sorted_and_counts_are_ints():
    counts = CountVectorizer(ngram_range=(1, 2), min_df=2).fit_transform(PROSE * 2)
    counts.check()
    assert counts.data.typecode == "q" and counts[0, 0] == 0 and isinstance(counts[0, 0], int)
    weights = TfidfVectorizer().fit_transform(PROSE)
    weights.check()
    assert weights.data.typecode == "d"


@pytest.mark.parametrize(("data", "indices", "indptr", "shape", "problem"), [
    ([1.0], [0], [0, 1], (2, 1), "indptr must have 3 entries"),
    ([1.0], [0], [1, 1], (1, 1), "indptr must have 2 entries starting at 0"),
    ([1.0, 2.0], [0], [0, 1], (1, 1), "must be equal"),
    ([1.0, 2.0], [0, 0], [0, 2], (1, 2), "not strictly increasing"),
    ([1.0], [5], [0, 1], (1, 2), "column index 5 >= 2"),
    ([1.0], [0], [0, 1, 0, 1], (3, 1), "indptr decreases"),
])
def test_csr_check_finds_broken_invariants(data, indices, indptr, shape, problem):
    with pytest.raises(SparseError, match=problem):
        CSRMatrix(data, indices, indptr, shape).check()


def test_from_dense_rejects_ragged_and_needs_width_when_empty():
    with pytest.raises(SparseError, match="must all have 2 values"):
        CSRMatrix.from_dense([[1, 2], [3]])
    with pytest.raises(SparseError, match="pass n_cols"):
        CSRMatrix.from_dense([])
    assert CSRMatrix.from_dense([], n_cols=3).shape == (0, 3)


def test_counts_agree_with_a_direct_count():
    corpus = ["b a b", "c c c a", ""]
    vectorizer = CountVectorizer(token_pattern=r"\w")
    rows = vectorizer.fit_transform(corpus).toarray()
    names = vectorizer.get_feature_names_out()
    for row, document in zip(rows, corpus, strict=True):
        assert dict(zip(names, row, strict=True)) == {n: Counter(document.split())[n]
                                                      for n in names}
