"""Word-level reading measures against a model's word importance, sentence by sentence.

The comparison of Hollenstein and Beinborn (2021, "Relative Importance in Sentence
Processing", ACL): in each sentence, each word's share of a reader's reading time is set
against the model's importance of that word, and the rank correlation is averaged over
sentences. This module computes that score, its baselines and the statistics that the
peers' analysis lacked: per-reader scores instead of the group mean alone, a
k-nearest-neighbour mutual information, leave-one-text-out regressions, crossed mixed
models in statsmodels, a leave-one-reader-out ceiling and group tests across readers.

Layout: flat words, sentence offsets
------------------------------------
Every array holds the words of all sentences one after the other along its **last** axis
(``n_words`` in all), and ``offsets`` ``(n_sentences + 1,)`` int says where each sentence
starts: sentence ``s`` is ``[..., offsets[s]:offsets[s + 1]]`` (``offsets[0] == 0``,
``offsets[-1] == n_words``, non-decreasing). :func:`pack_sentences` builds both from a
list of per-sentence arrays.

``human`` : (n_readers, n_words) float
    one row per reader (e.g. relative fixation: a word's share of the reader's total
    reading time in the sentence); a reader who did not read sentence ``s`` has NaN over
    its words. A reader's sentence is used only when all its words are finite: a row with
    some NaN words counts as unread (a rank correlation over a subset of words would
    compare different sentences).
``model`` : (*units, n_words) float
    the model's importance of every word: ``units`` is ``()`` (one value per word),
    ``(layers,)`` or ``(layers, heads)``; every function keeps the unit axes in its
    result. Must be finite.

Internally, sentences are sorted by length and padded into chunks whose size is bounded
(``chunk_elements``), so ranks, products and sums are batched NumPy and BLAS operations
over readers, sentences and units at once, with masks for the padding.

Undefined sentences
-------------------
A rank correlation of a sentence is NaN, and the sentence is left out of every mean, when

* the sentence has fewer than :data:`MIN_WORDS` (3) words: with two words a rank
  correlation is +-1 whatever the data (``short``);
* the reader did not read it, or read it with missing words (``unread``);
* the reader's values, or the model's values at that unit, are all tied in the sentence:
  the correlation is 0 / 0 (``constant_human``, ``constant_model``).

:class:`SentenceCorrelations` keeps these masks, so every table can say how many
sentences entered a mean.

Baselines
---------
* Permutation (:func:`permutation_baseline`): the model's values shuffled within each
  sentence; seeded; one-sided ``p = (1 + #{null >= observed}) / (1 + n_permutations)``.
* Word length (:func:`word_lengths`): letters and digits of the word.
* Word frequency (:func:`zipf_frequencies`, :func:`frequency_baseline`): Zipf frequency
  from ``wordfreq.zipf_frequency(word, lang)`` (``en``, ``de``, ``ru``). Frequent words
  are read *faster*, so the baseline measure is the **negated** Zipf frequency (rarity):
  a positive correlation then means "the baseline predicts reading as expected", the same
  sign as length and as a good model.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import ThreadpoolController

from readalike.study_a.inference import (
    holm,
    permutation_test_mean_difference,
    sentence_counts,
    welch_one_sided,
)
from readalike.study_a.noise_ceiling import MIN_READERS, Ceiling, bootstrap_mean
from readalike.study_a.resemblance import regression_r2

logger = logging.getLogger(__name__)

#: Fewest words a sentence needs for a rank correlation (two words always give +-1).
MIN_WORDS = 3

#: Elements of the largest array a chunk of padded sentences may make (about 32 MiB of
#: float64 per array), so memory stays flat whatever the corpus and the number of units.
CHUNK_ELEMENTS = 1 << 22

#: Wordfreq language codes of the corpora (GECO English, PoTeC German, Russian corpora).
LANGUAGES = ("en", "de", "ru")


@cache
def _blas() -> ThreadpoolController:
    # made once: threadpool_limits() inspects the loaded libraries on every call
    return ThreadpoolController()


# --------------------------------------------------------------------------- layout


def pack_sentences(sentences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate per-sentence arrays along their last (word) axis.

    Parameters
    ----------
    sentences : sequence of (..., n_words_s) arrays with the same leading shape, e.g.
        ``H_s`` (n_readers, n_words_s) or ``M_s`` (layers, heads, n_words_s).

    Returns
    -------
    values : (..., n_words) float64, the sentences one after the other.
    offsets : (n_sentences + 1,) int64, start of each sentence and the total.
    """
    arrays = [np.asarray(s, dtype=np.float64) for s in sentences]
    lengths = np.array([a.shape[-1] for a in arrays], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return np.concatenate(arrays, axis=-1), offsets


def _check_offsets(offsets, n_words: int) -> np.ndarray:
    offsets = np.asarray(offsets, dtype=np.int64)
    if offsets.ndim != 1 or offsets.size < 1 or offsets[0] != 0 or offsets[-1] != n_words:
        raise ValueError(
            f"offsets must be (n_sentences + 1,) from 0 to n_words = {n_words}, "
            f"got shape {offsets.shape}, ends {offsets[:1]} .. {offsets[-1:]}"
        )
    if np.any(np.diff(offsets) < 0):
        raise ValueError(
            f"offsets decrease at sentence {int(np.flatnonzero(np.diff(offsets) < 0)[0])}"
        )
    return offsets


def sentence_of_word(offsets) -> np.ndarray:
    """(n_words,) int, the sentence of every word."""
    offsets = np.asarray(offsets, dtype=np.int64)
    return np.repeat(np.arange(offsets.size - 1), np.diff(offsets))


def _segment_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sums over each sentence along the last axis, (..., n_sentences); 0 for empty ones."""
    cumulative = np.concatenate(
        [np.zeros((*values.shape[:-1], 1)), np.cumsum(values, axis=-1, dtype=np.float64)],
        axis=-1,
    )
    return cumulative[..., offsets[1:]] - cumulative[..., offsets[:-1]]


def read_mask(human, offsets) -> np.ndarray:
    """Whether each reader read each sentence with every word finite.

    Parameters
    ----------
    human : (n_readers, n_words) float, NaN where not read.

    Returns
    -------
    (n_readers, n_sentences) bool; an empty sentence counts as not read.
    """
    human = np.asarray(human, dtype=np.float64)
    offsets = _check_offsets(offsets, human.shape[-1])
    missing = _segment_sums((~np.isfinite(human)).astype(np.float64), offsets)
    return (missing == 0) & (np.diff(offsets) > 0)[None, :]


def group_mean(human, offsets) -> np.ndarray:
    """The group's value of every word: the mean over the readers who read the sentence.

    Parameters
    ----------
    human : (n_readers, n_words) float, NaN where not read.

    Returns
    -------
    (n_words,) float, NaN in sentences that no reader read completely.
    """
    human = np.asarray(human, dtype=np.float64)
    offsets = _check_offsets(offsets, human.shape[-1])
    used = np.repeat(read_mask(human, offsets), np.diff(offsets), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(used, human, 0.0).sum(axis=0) / used.sum(axis=0)


# --------------------------------------------------------------------------- chunks


@dataclass(frozen=True)
class _Chunk:
    """Sentences padded side by side.

    sentences : (c,) sentence indices; index : (c, width) word of every slot (0 in
    padding); mask : (c, width) slots that hold a word; lengths : (c,) words.
    """

    sentences: np.ndarray
    index: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray


def _chunks(
    offsets: np.ndarray, sentences: np.ndarray, cost_per_sentence, budget: int
) -> Iterator[_Chunk]:
    """Padded chunks of ``sentences``, shortest first, each costing at most ``budget``.

    ``cost_per_sentence(width)`` is the elements one padded sentence of that width makes;
    a chunk takes as many sentences as fit (at least one).
    """
    lengths = np.diff(offsets)[sentences]
    order = np.argsort(lengths, kind="stable")
    sentences, lengths = sentences[order], lengths[order]
    start = 0
    while start < sentences.size:
        # lengths ascend, so a chunk's cost (count x cost of its widest) ascends with its size
        cost = np.arange(1, sentences.size - start + 1) * cost_per_sentence(lengths[start:])
        stop = start + max(1, int(np.searchsorted(cost, budget, side="right")))
        chunk, chunk_lengths = sentences[start:stop], lengths[start:stop]
        slot = np.arange(int(chunk_lengths.max()))
        mask = slot[None, :] < chunk_lengths[:, None]
        index = np.where(mask, offsets[chunk][:, None] + slot[None, :], 0)
        yield _Chunk(chunk, index, mask, chunk_lengths)
        start = stop


def _centred_ranks(values: np.ndarray, chunk: _Chunk) -> np.ndarray:
    """Average ranks within each sentence minus their mean ``(n + 1) / 2``; 0 in padding.

    ``values`` (..., c, width) finite in the valid slots. Padding is set to +inf so that it
    ranks after every word and leaves the words' ranks as they are.
    """
    ranks = stats.rankdata(np.where(chunk.mask, values, np.inf), axis=-1)
    return np.where(chunk.mask, ranks - (chunk.lengths[:, None] + 1) / 2.0, 0.0)


def _pair_signs(values: np.ndarray, chunk: _Chunk) -> np.ndarray:
    """``sign(x_i - x_j)`` over the word pairs ``i < j`` of each sentence, 0 for padding.

    ``values`` (..., c, width) -> (..., c, width * (width - 1) / 2) float32 (signs and their
    sums of products are exact integers in float32 up to 2**24).
    """
    i, j = np.triu_indices(chunk.mask.shape[1], 1)
    both = chunk.mask[:, i] & chunk.mask[:, j]
    clean = np.where(chunk.mask, values, 0.0)
    return (np.sign(clean[..., i] - clean[..., j]) * both).astype(np.float32)


# --------------------------------------------------------------------------- correlations


@dataclass(frozen=True)
class SentenceCorrelations:
    """Rank correlations of every reader row with every model unit, sentence by sentence.

    Attributes
    ----------
    values : (n_rows, n_sentences, *units) float, Spearman's rho or Kendall's tau-b; NaN
        where undefined (module docstring).
    short : (n_sentences,) bool, fewer than :data:`MIN_WORDS` words.
    unread : (n_rows, n_sentences) bool, the row has no complete values for the sentence.
    constant_human : (n_rows, n_sentences) bool, read, long enough, all values tied.
    constant_model : (n_sentences, *units) bool, long enough, all model values tied.
    """

    values: np.ndarray
    short: np.ndarray
    unread: np.ndarray
    constant_human: np.ndarray
    constant_model: np.ndarray

    def count(self) -> np.ndarray:
        """(n_rows, *units) int, sentences with a defined correlation."""
        return np.isfinite(self.values).sum(axis=1)

    def mean(self) -> np.ndarray:
        """(n_rows, *units) float, mean over the defined sentences; NaN where there are none."""
        defined = np.isfinite(self.values)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(defined, self.values, 0.0).sum(axis=1) / defined.sum(axis=1)


def _as_units(model, n_words: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """Model values as (n_units, n_words) float64 and the unit shape; checked finite."""
    model = np.asarray(model, dtype=np.float64)
    if model.shape[-1:] != (n_words,) or model.ndim > 3:
        raise ValueError(
            f"model values must be (n_words,), (layers, n_words) or (layers, heads, n_words) "
            f"with n_words = {n_words}, got {model.shape}"
        )
    if not np.isfinite(model).all():
        word = int(np.flatnonzero(~np.isfinite(model).reshape(-1, n_words).all(axis=0))[0])
        raise ValueError(f"model values are not finite at word {word}")
    return model.reshape(-1, n_words), model.shape[:-1]


def _as_rows(human) -> np.ndarray:
    human = np.asarray(human, dtype=np.float64)
    if human.ndim == 1:
        human = human[None, :]
    if human.ndim != 2:
        raise ValueError(f"human values must be (n_readers, n_words), got {human.shape}")
    return human


def sentence_correlation(
    human,
    model,
    offsets,
    method: str = "spearman",
    chunk_elements: int = CHUNK_ELEMENTS,
) -> SentenceCorrelations:
    """Spearman's rho or Kendall's tau-b per sentence, every row against every unit.

    Parameters
    ----------
    human : (n_rows, n_words) or (n_words,) float, readers (and, as an extra row, the group
        mean from :func:`group_mean`); NaN where not read.
    model : (*units, n_words) float, units ``()``, ``(layers,)`` or ``(layers, heads)``.
    offsets : (n_sentences + 1,) int, see the module docstring.
    method : ``"spearman"`` or ``"kendall"``.
    chunk_elements : bound on the elements of one padded chunk's largest array.

    Returns
    -------
    SentenceCorrelations
        ``values`` (n_rows, n_sentences, *units). Spearman: Pearson correlation of the
        average ranks (ties share their mean rank), as ``scipy.stats.spearmanr``. Kendall:
        tau-b ``(n_c - n_d) / sqrt((n_0 - n_1)(n_0 - n_2))``, as
        ``scipy.stats.kendalltau``; computed as the cosine of the two vectors of pair signs
        ``sign(x_i - x_j)``, whose dot product is ``n_c - n_d`` and squared norms are the
        untied pairs ``n_0 - n_1`` and ``n_0 - n_2``.

    Notes
    -----
    Per chunk, the products over words are one batched matrix product
    ``(c, rows, words) @ (c, words, units)``, run on one BLAS thread; memory is
    ``O(chunk_elements)`` beyond the result (GECO's size, 15 rows x 5,000 sentences x 270
    units: about 2-5 s and 0.6 GB peak on this 2-core machine, against ~12 minutes for
    one ``scipy.stats.spearmanr`` call per sentence; ``benchmarks/bench_relative_importance.py``).
    """
    if method not in ("spearman", "kendall"):
        raise ValueError(f"method must be spearman or kendall, got {method!r}")
    human = _as_rows(human)
    n_rows, n_words = human.shape
    offsets = _check_offsets(offsets, n_words)
    units, unit_shape = _as_units(model, n_words)
    n_units = units.shape[0]
    n_sentences = offsets.size - 1
    lengths = np.diff(offsets)
    short = lengths < MIN_WORDS
    read = read_mask(human, offsets)

    values = np.full((n_rows, n_sentences, n_units), np.nan)
    constant_human = np.zeros((n_rows, n_sentences), dtype=bool)
    constant_model = np.zeros((n_sentences, n_units), dtype=bool)
    # a sentence's elements: its ranks (or pair signs) of every row and unit, and its
    # (rows x units) block of results
    rows_and_units, block = n_rows + n_units, n_rows * n_units
    if method == "spearman":
        cost = lambda w: rows_and_units * w + block  # noqa: E731
    else:
        cost = lambda w: rows_and_units * w * (w - 1) // 2 + block  # noqa: E731
    # the per-sentence products are small: OpenBLAS threads only spin against each other
    # on them (up to 100x slower on a loaded 2-core machine), so one thread
    with _blas().limit(limits=1, user_api="blas"):
        for chunk in _chunks(offsets, np.flatnonzero(~short), cost, chunk_elements):
            _correlate_chunk(
                chunk, human, units, read, method, values, constant_human, constant_model
            )
    return SentenceCorrelations(
        values=values.reshape(n_rows, n_sentences, *unit_shape),
        short=short,
        unread=~read,
        constant_human=constant_human,
        constant_model=constant_model.reshape(n_sentences, *unit_shape),
    )


def _correlate_chunk(
    chunk: _Chunk,
    human: np.ndarray,
    units: np.ndarray,
    read: np.ndarray,
    method: str,
    values: np.ndarray,
    constant_human: np.ndarray,
    constant_model: np.ndarray,
) -> None:
    """Fill the chunk's sentences of ``values`` (R, S, U) and of the two tie masks."""
    s = chunk.sentences
    chunk_read = read[:, s]  # (R, c)
    h = np.where(chunk_read[..., None], human[:, chunk.index], 0.0)  # (R, c, W)
    m = units[:, chunk.index]  # (U, c, W)
    if method == "spearman":
        a, b = _centred_ranks(h, chunk), _centred_ranks(m, chunk)
    else:
        a, b = _pair_signs(h, chunk), _pair_signs(m, chunk)
    # the words' axis is contracted by one batched product per sentence of the chunk
    dot = np.matmul(a.transpose(1, 0, 2), b.transpose(1, 2, 0)).astype(np.float64)
    norm_a = np.sqrt(np.einsum("rcw,rcw->rc", a, a, dtype=np.float64))  # (R, c)
    norm_b = np.sqrt(np.einsum("ucw,ucw->uc", b, b, dtype=np.float64))  # (U, c)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = dot / (norm_a.T[:, :, None] * norm_b.T[:, None, :])  # (c, R, U)
    flat_a = norm_a == 0
    flat_b = norm_b == 0
    bad = ~chunk_read.T[:, :, None] | flat_a.T[:, :, None] | flat_b.T[:, None, :]
    values[:, s, :] = np.clip(np.where(bad, np.nan, r), -1.0, 1.0).transpose(1, 0, 2)
    constant_human[:, s] = flat_a & chunk_read
    constant_model[s, :] = flat_b.T


# --------------------------------------------------------------------------- intervals


def bootstrap_sentence_interval(
    values,
    text_of_sentence,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of a mean over sentences, resampling sentences within texts.

    Each draw takes, in every text, as many sentences as it has, with replacement
    (:func:`readalike.study_a.inference.sentence_counts`), so every text keeps its size.

    Parameters
    ----------
    values : (n_sentences, *units) float, per-sentence correlations; NaN = left out.
    text_of_sentence : (n_sentences,) the text (any hashable label) of each sentence.

    Returns
    -------
    low, high : (*units) float, NaN where no draw has a defined sentence.
    """
    values = np.asarray(values, dtype=np.float64)
    n_sentences = values.shape[0]
    flat = values.reshape(n_sentences, -1)
    _, text = np.unique(np.asarray(text_of_sentence), return_inverse=True)
    counts = sentence_counts(text.ravel(), n_boot, seed).astype(np.float64)  # (D, S)
    defined = np.isfinite(flat)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (counts @ np.where(defined, flat, 0.0)) / (counts @ defined)
    tail = 100 * (1 - confidence) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        low, high = np.nanpercentile(means, [tail, 100 - tail], axis=0)
    return low.reshape(values.shape[1:]), high.reshape(values.shape[1:])


def bootstrap_reader_mean(
    values, n_boot: int = 1000, seed: int = 0, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean over readers and its percentile bootstrap interval, resampling readers.

    The draws are those of :func:`readalike.study_a.noise_ceiling.bootstrap_mean` (same
    seed, same readers drawn), applied to every unit at once; a reader without a value at a
    unit (NaN) is left out of that unit's draws.

    Parameters
    ----------
    values : (n_readers, *units) float, e.g. each reader's mean rho over sentences.

    Returns
    -------
    mean, low, high : (*units) float.
    n : (*units) int, readers with a value.
    """
    values = np.asarray(values, dtype=np.float64)
    n_readers = values.shape[0]
    flat = values.reshape(n_readers, -1)
    defined = np.isfinite(flat)
    n = defined.sum(axis=0)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_readers, (n_boot, n_readers))
    # multiplicity of every reader in every draw, so that all units share one product
    counts = np.zeros((n_boot, n_readers))
    np.add.at(counts, (np.arange(n_boot)[:, None], draws), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(defined, flat, 0.0).sum(axis=0) / n
        means = (counts @ np.where(defined, flat, 0.0)) / (counts @ defined)
    tail = 100 * (1 - confidence) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(means, [tail, 100 - tail], axis=0)
    shape = values.shape[1:]
    return mean.reshape(shape), low.reshape(shape), high.reshape(shape), n.reshape(shape)


# --------------------------------------------------------------------------- permutation


@dataclass(frozen=True)
class PermutationBaseline:
    """Mean Spearman over sentences against model values shuffled within sentences.

    Attributes
    ----------
    observed : (*units) float, the mean rho of the unshuffled values.
    null : (n_permutations, *units) float, the mean rho of every shuffle.
    p : (*units) float, ``(1 + #{null >= observed}) / (1 + n_permutations)``, one-sided
        (H1: the model agrees with the readers more than chance).
    n_sentences : (*units) int, sentences in the means.
    """

    observed: np.ndarray
    null: np.ndarray
    p: np.ndarray
    n_sentences: np.ndarray


def _normalised_ranks(
    values: np.ndarray, offsets: np.ndarray, usable: np.ndarray, chunk_elements: int
) -> tuple[np.ndarray, np.ndarray]:
    """Centred ranks scaled to unit norm within each sentence, flat like ``values``.

    ``values`` (rows, n_words); ``usable`` (n_sentences,) sentences to rank. Returns the
    (rows, n_words) scaled ranks, 0 in sentences not used or tied throughout, and the
    (rows, n_sentences) mask of sentences with a non-zero norm.
    """
    out = np.zeros_like(values)
    ok = np.zeros((values.shape[0], offsets.size - 1), dtype=bool)
    for chunk in _chunks(
        offsets, np.flatnonzero(usable), lambda w: values.shape[0] * w, chunk_elements
    ):
        ranks = _centred_ranks(values[:, chunk.index], chunk)  # (rows, c, W)
        norm = np.sqrt((ranks**2).sum(axis=-1))
        nonzero = norm > 0
        scaled = ranks / np.where(nonzero, norm, 1.0)[..., None]
        out[:, chunk.index[chunk.mask]] = scaled[:, chunk.mask]
        ok[:, chunk.sentences] = nonzero
    return out, ok


def within_sentence_permutations(
    offsets, n_permutations: int, rng: np.random.Generator
) -> np.ndarray:
    """Random permutations of the words within every sentence.

    Returns
    -------
    (n_permutations, n_words) int, row k maps each position to the word moved there;
    words never leave their sentence. Sorting random keys offset by the sentence number
    permutes inside all sentences at once.
    """
    sentence = sentence_of_word(offsets)
    keys = sentence[None, :] + rng.random((n_permutations, sentence.size))
    return np.argsort(keys, axis=1, kind="stable")


def permutation_baseline(
    human_mean,
    model,
    offsets,
    n_permutations: int = 1000,
    seed: int = 0,
    chunk_size: int = 64,
    chunk_elements: int = CHUNK_ELEMENTS,
) -> PermutationBaseline:
    """Mean Spearman over sentences, and its null with model values shuffled in sentences.

    Parameters
    ----------
    human_mean : (n_words,) float, the group's values (:func:`group_mean`); NaN = unread.
    model : (*units, n_words) float.
    n_permutations : shuffles (seeded); every shuffle permutes the words of every sentence
        independently and serves every unit (layers and heads see the same shuffle).

    Returns
    -------
    PermutationBaseline

    Notes
    -----
    Per sentence, rho is the dot product of the two vectors of centred ranks scaled to unit
    norm, and shuffling the model by a permutation gives the same rho as shuffling the
    human vector by its inverse; the inverse of a uniform random permutation is uniform, so
    shuffling the human side draws from the same null. It is much cheaper: the sum of rho
    over sentences becomes one dot product over all words, so the mean rho of
    ``chunk_size`` shuffles for every unit is one matrix product
    ``(chunk_size, n_words) @ (n_words, units)``. Ranks are not recomputed: the ranks of
    shuffled values are the shuffled ranks. Sentences left out (short, unread, tied on
    either side) are zero in the scaled ranks and do not count in ``n_sentences``; being
    tied survives any shuffle, so the observed and null means average the same sentences.
    """
    human_mean = np.asarray(human_mean, dtype=np.float64)
    n_words = human_mean.shape[-1]
    offsets = _check_offsets(offsets, n_words)
    units, unit_shape = _as_units(model, n_words)
    usable = (np.diff(offsets) >= MIN_WORDS) & read_mask(human_mean[None, :], offsets)[0]
    clean = np.where(np.isfinite(human_mean), human_mean, 0.0)[None, :]
    human_ranks, human_ok = _normalised_ranks(clean, offsets, usable, chunk_elements)
    model_ranks, model_ok = _normalised_ranks(units, offsets, usable, chunk_elements)
    n_sentences = (model_ok & human_ok).sum(axis=1)  # (U,)
    # human ranks are zero where the human side is tied or unread: those sentences drop out
    weights = np.ascontiguousarray(model_ranks.T)  # (n_words, U)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv_n = np.where(n_sentences > 0, 1.0 / np.maximum(n_sentences, 1), np.nan)
        observed = (human_ranks[0] @ weights) * inv_n
    rng = np.random.default_rng(seed)
    null = np.empty((n_permutations, units.shape[0]))
    # one thread: on GECO's size (1,000 shuffles x 54k words x 270 units) OpenBLAS's threads
    # made this 5x slower on a loaded 2-core machine (35 s against 7 s)
    with _blas().limit(limits=1, user_api="blas"):
        for start in range(0, n_permutations, chunk_size):
            size = min(chunk_size, n_permutations - start)
            order = within_sentence_permutations(offsets, size, rng)
            null[start : start + size] = (human_ranks[0][order] @ weights) * inv_n
    # differences within rounding count as ties (scipy.stats.permutation_test's tolerance)
    gamma = np.abs(observed) * np.finfo(np.float64).eps * 100
    p = (1 + (null >= observed - gamma).sum(axis=0)) / (1 + n_permutations)
    p = np.where(n_sentences > 0, p, np.nan)
    return PermutationBaseline(
        observed=observed.reshape(unit_shape),
        null=null.reshape(n_permutations, *unit_shape),
        p=p.reshape(unit_shape),
        n_sentences=n_sentences.reshape(unit_shape),
    )


# --------------------------------------------------------------------------- word baselines


def word_lengths(words: Sequence[str]) -> np.ndarray:
    """(n_words,) int, letters and digits of every word.

    Punctuation attached to a word (``"said,"``) is not read as part of it; a token of
    punctuation only keeps its full length so that it is not 0.
    """
    counts = np.array([sum(ch.isalnum() for ch in w) for w in words], dtype=np.int64)
    full = np.array([len(w) for w in words], dtype=np.int64)
    return np.where(counts > 0, counts, full)


def zipf_frequencies(words: Sequence[str], lang: str) -> np.ndarray:
    """(n_words,) float, ``wordfreq.zipf_frequency(word, lang)`` of every word.

    Zipf = log10 of frequency per billion words (about 1 to 8; 0 for a word wordfreq does
    not know). wordfreq tokenises and case-folds the word itself, so attached punctuation
    is ignored. Each distinct word is looked up once.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")
    import wordfreq  # here: only the jobs that build baselines need its word lists

    unique, inverse = np.unique(np.asarray(list(words), dtype=object), return_inverse=True)
    zipf = np.array([wordfreq.zipf_frequency(str(w), lang) for w in unique], dtype=np.float64)
    return zipf[inverse.ravel()] if unique.size else np.zeros(0)


def frequency_baseline(words: Sequence[str], lang: str) -> np.ndarray:
    """(n_words,) float, the frequency baseline measure: **minus** the Zipf frequency.

    Frequent words are read faster, so rarity (negated frequency) is the measure that,
    like length and like a model's importance, should correlate positively with reading.
    """
    return -zipf_frequencies(words, lang)


# --------------------------------------------------------------------------- mutual information


def _pooled(human_mean, model) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Words with a human value: (n,) human, (n_units, n) model, and the unit shape."""
    human_mean = np.asarray(human_mean, dtype=np.float64)
    units, unit_shape = _as_units(model, human_mean.shape[-1])
    keep = np.isfinite(human_mean)
    return human_mean[keep], units[:, keep], unit_shape


def mutual_information_knn(human_mean, model, n_neighbors: int = 3, seed: int = 0) -> np.ndarray:
    """Mutual information (nats) between human and model values pooled over all words.

    The k-nearest-neighbour estimator of Kraskov, Stoegbauer and Grassberger (2004,
    Phys. Rev. E 69, 066138; their first algorithm) as implemented by
    ``sklearn.feature_selection.mutual_info_regression``, one unit at a time: sklearn
    scales both variables to unit variance, adds noise of relative size 1e-10 (seeded by
    ``seed``) to break ties, and clips negative estimates to 0.

    Parameters
    ----------
    human_mean : (n_words,) float, NaN words (not read) are left out.
    model : (*units, n_words) float.

    Returns
    -------
    (*units) float, MI in nats.
    """
    from sklearn.feature_selection import mutual_info_regression  # heavy import, used here

    y, x, unit_shape = _pooled(human_mean, model)
    mi = mutual_info_regression(x.T, y, n_neighbors=n_neighbors, random_state=seed)
    return mi.reshape(unit_shape)


def _label_codes(values: np.ndarray) -> np.ndarray:
    """Integer labels of equal values along the last axis, (..., n) int64, from 0."""
    order = np.argsort(values, axis=-1, kind="stable")
    ranked = np.take_along_axis(values, order, axis=-1)
    new = np.concatenate(
        [np.zeros((*values.shape[:-1], 1), dtype=np.int64), (np.diff(ranked, axis=-1) != 0)],
        axis=-1,
    )
    codes = np.empty_like(order)
    np.put_along_axis(codes, order, np.cumsum(new, axis=-1), axis=-1)
    return codes


def mutual_information_labels_peers(human_mean, model) -> np.ndarray:
    """The peers' score: ``sklearn.metrics.mutual_info_score`` with values as labels.

    Every distinct value counts as a class, and MI (nats) is that of the contingency
    table of human and model classes over the pooled words.

    This is **not** a valid estimate of the mutual information of continuous variables.
    Continuous values are almost all distinct, so each word is its own class on both
    sides; the contingency table is then a permutation matrix and the score equals the
    entropy of the labels, ``log(n_words)``, whatever the relation between the two
    variables (any one-to-one relabelling, even a random shuffle, scores the same). It
    measures how many distinct values there are, grows with the sample size, and moves
    only through accidental ties (e.g. rounding). It is computed here only to set the
    peers' number beside the k-NN estimate of :func:`mutual_information_knn`.

    Parameters
    ----------
    human_mean : (n_words,) float, NaN words are left out.
    model : (*units, n_words) float.

    Returns
    -------
    (*units) float, equal to ``mutual_info_score(human, model_unit)`` for every unit.
    """
    y, x, unit_shape = _pooled(human_mean, model)
    n_units, n = x.shape
    if n == 0:
        return np.full(unit_shape, np.nan)
    human_code = _label_codes(y)
    model_code = _label_codes(x)  # (U, n)
    n_human = int(human_code.max()) + 1
    # one key per (unit, human class, model class): all contingency tables in one count
    key = (np.arange(n_units)[:, None] * n_human + human_code[None, :]) * n + model_code
    cells, count = np.unique(key.ravel(), return_counts=True)
    unit = cells // (n_human * n)
    human_class = (cells // n) % n_human
    model_class = cells % n
    human_count = np.bincount(human_code, minlength=n_human)[human_class]
    model_key = (np.arange(n_units)[:, None] * n + model_code).ravel()
    model_count = np.bincount(model_key, minlength=n_units * n)[unit * n + model_class]
    terms = count / n * (np.log(count) + np.log(n) - np.log(human_count) - np.log(model_count))
    mi = np.bincount(unit, weights=terms, minlength=n_units)
    return np.maximum(mi, 0.0).reshape(unit_shape)


# --------------------------------------------------------------------------- regression


def ols_r2(
    human_mean,
    model,
    offsets,
    text_of_sentence,
    n_folds: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Study A's regression: the group's value per word on the heads of one layer.

    OLS with an intercept of ``human_mean`` on the model values of each layer (the heads
    as regressors, or the one value of a layer without heads), over the pooled words,
    by :func:`readalike.study_a.resemblance.regression_r2`.

    Parameters
    ----------
    human_mean : (n_words,) float, NaN words (not read) are left out.
    model : (n_words,), (layers, n_words) or (layers, heads, n_words) float.
    text_of_sentence : (n_sentences,) the text of every sentence (any labels).
    n_folds : ``None`` for leave-one-text-out; otherwise the texts, in sorted order, are
        dealt round-robin into ``n_folds`` folds, and each fold is held out in turn.

    Returns
    -------
    r2_in_sample : () or (layers,) float, ``1 - SSE / SST`` of the fit on all words.
    r2_heldout : () or (layers,) float, ``1 - sum_f SSE_f / SST``: the squared errors of
        each fold's words predicted by the fit on the other folds, pooled, against the
        grand mean; can be negative; NaN with a single fold.
    """
    human_mean = np.asarray(human_mean, dtype=np.float64)
    n_words = human_mean.shape[-1]
    offsets = _check_offsets(offsets, n_words)
    model = np.asarray(model, dtype=np.float64)
    single = model.ndim == 1
    if model.shape[-1] != n_words or model.ndim > 3:
        raise ValueError(f"model values must end with n_words = {n_words}, got {model.shape}")
    design = model.reshape(1, 1, n_words) if single else model.reshape(model.shape[0], -1, n_words)
    _, text = np.unique(np.asarray(text_of_sentence), return_inverse=True)
    text = text.ravel()
    if text.size != offsets.size - 1:
        raise ValueError(f"{text.size} texts for {offsets.size - 1} sentences")
    fold = text if n_folds is None else text % n_folds
    fold_of_word = fold[sentence_of_word(offsets)]
    keep = np.isfinite(human_mean)
    # regression_r2 holds out contiguous blocks: order the words by fold
    order = np.flatnonzero(keep)[np.argsort(fold_of_word[keep], kind="stable")]
    counts = np.bincount(fold_of_word[order], minlength=int(fold.max(initial=-1)) + 1)
    counts = counts[counts > 0]
    start = np.concatenate([[0], np.cumsum(counts)])
    r2, heldout = regression_r2(np.swapaxes(design[:, :, order], 1, 2), human_mean[order], start)
    if single:
        return r2[0], heldout[0]
    return r2, heldout


# --------------------------------------------------------------------------- mixed model


@dataclass(frozen=True)
class MixedLMResult:
    """The model measure's effect on reading time beyond length and frequency.

    Attributes
    ----------
    coef, se : the measure's fixed-effect coefficient and its standard error (per
        standard deviation of the measure when standardised).
    lr, p : likelihood-ratio statistic ``2 (llf_full - llf_baseline)`` and its
        ``chi2(1)`` upper tail.
    llf_full, llf_baseline : maximised log-likelihoods (ML, not REML).
    n_obs, n_readers, n_sentences : rows, readers and sentences fitted.
    converged : both fits converged.
    """

    coef: float
    se: float
    lr: float
    p: float
    llf_full: float
    llf_baseline: float
    n_obs: int
    n_readers: int
    n_sentences: int
    converged: bool


def mixedlm_frame(
    reading_time,
    measure,
    length,
    frequency,
    offsets,
    standardize: bool = True,
    max_sentences: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """The long table a mixed model is fitted on: one row per reader and word read.

    Parameters
    ----------
    reading_time : (n_readers, n_words) float, NaN where not read (rows of a reader's
        sentence with any NaN are dropped, as everywhere in this module).
    measure, length, frequency : (n_words,) float, the model's importance, word length
        and Zipf frequency (not negated: a regression takes either sign).
    standardize : z-score the three predictors over the rows used, so coefficients are
        per standard deviation and comparable across layers and models.
    max_sentences : fit on this many sentences drawn at random (seeded) when the corpus
        has more: the crossed fit's cost grows faster than linearly in sentences.

    Returns
    -------
    pandas.DataFrame
        Columns ``y, measure, length, frequency, reader, sentence, group`` (``group`` is
        1 in every row: the single group of the crossed variance components).
    """
    reading_time = _as_rows(reading_time)
    n_readers, n_words = reading_time.shape
    offsets = _check_offsets(offsets, n_words)
    read = read_mask(reading_time, offsets)
    n_sentences = offsets.size - 1
    chosen = np.ones(n_sentences, dtype=bool)
    candidates = np.flatnonzero(read.any(axis=0))
    if max_sentences is not None and candidates.size > max_sentences:
        picked = np.random.default_rng(seed).choice(candidates, max_sentences, replace=False)
        chosen = np.zeros(n_sentences, dtype=bool)
        chosen[picked] = True
    sentence = sentence_of_word(offsets)
    used = np.repeat(read & chosen[None, :], np.diff(offsets), axis=1)  # (R, n_words)
    reader_index, word = np.nonzero(used)
    frame = pd.DataFrame(
        {
            "y": reading_time[reader_index, word],
            "measure": np.asarray(measure, dtype=np.float64)[word],
            "length": np.asarray(length, dtype=np.float64)[word],
            "frequency": np.asarray(frequency, dtype=np.float64)[word],
            "reader": reader_index,
            "sentence": sentence[word],
            "group": 1,
        }
    )
    if standardize:
        for column in ("measure", "length", "frequency"):
            sd = frame[column].std()
            frame[column] = (frame[column] - frame[column].mean()) / (sd if sd > 0 else 1.0)
    return frame


#: The crossed random intercepts: one group holding every row, with a variance component
#: for the readers and one for the sentences (statsmodels' formulation of crossed effects).
CROSSED_VC = {"reader": "0 + C(reader)", "sentence": "0 + C(sentence)"}


def _fit_crossed(formula: str, frame: pd.DataFrame, method: str):
    from statsmodels.regression.mixed_linear_model import MixedLM  # heavy import

    model = MixedLM.from_formula(
        formula,
        data=frame,
        groups="group",
        re_formula="0",
        vc_formula=CROSSED_VC,
        use_sparse=True,
    )
    with warnings.catch_warnings():
        # convergence is checked and reported by the caller, not printed per fit
        warnings.simplefilter("ignore")
        result = model.fit(reml=False, method=method)
    return result


def mixedlm_measure_test(
    reading_time,
    measure,
    length,
    frequency,
    offsets,
    standardize: bool = True,
    max_sentences: int | None = None,
    seed: int = 0,
    method: str = "powell",
) -> MixedLMResult:
    """Linear mixed model: reading time ~ measure + length + frequency, crossed intercepts.

    ``y ~ measure + length + frequency`` with random intercepts for reader and for
    sentence, **crossed** (every reader reads every sentence): statsmodels ``MixedLM``
    with a single group and two variance components (:data:`CROSSED_VC`), fitted by
    maximum likelihood, against the baseline ``y ~ length + frequency`` with the same
    random part, on the same rows (:func:`mixedlm_frame`).

    Parameters
    ----------
    reading_time : (n_readers, n_words) float, NaN = not read.
    measure, length, frequency : (n_words,) float.
    method : the optimizer of ``MixedLMResult.fit``. Powell needs no gradient: statsmodels'
        score loops over the columns of the sentence variance component, and with one
        group that made gradient methods 3-5x slower to the same optimum (1e-7 in llf).

    Returns
    -------
    MixedLMResult

    Notes
    -----
    Cost: the single-group fit handles an ``n_obs x (readers + sentences)`` sparse design
    and grew as about ``sentences^1.5`` here (14 readers x 11 words: 200 sentences 5 s,
    400 sentences 15 s on one core); hence ``max_sentences`` for corpora the size of GECO.
    """
    frame = mixedlm_frame(
        reading_time, measure, length, frequency, offsets, standardize, max_sentences, seed
    )
    full = _fit_crossed("y ~ measure + length + frequency", frame, method)
    baseline = _fit_crossed("y ~ length + frequency", frame, method)
    lr = max(0.0, 2.0 * (full.llf - baseline.llf))
    converged = bool(full.converged and baseline.converged)
    if not converged:
        logger.warning("mixed model did not converge (method %s, %d rows)", method, len(frame))
    return MixedLMResult(
        coef=float(full.fe_params["measure"]),
        se=float(full.bse_fe["measure"]),
        lr=float(lr),
        p=float(stats.chi2.sf(lr, 1)),
        llf_full=float(full.llf),
        llf_baseline=float(baseline.llf),
        n_obs=len(frame),
        n_readers=int(frame["reader"].nunique()),
        n_sentences=int(frame["sentence"].nunique()),
        converged=converged,
    )


# --------------------------------------------------------------------------- noise ceiling


def leave_one_reader_out_spearman(human, offsets, chunk_elements: int = CHUNK_ELEMENTS):
    """Spearman of each reader against the mean of the *other* readers, per sentence.

    Parameters
    ----------
    human : (n_readers, n_words) float, NaN = not read.

    Returns
    -------
    (n_readers, n_sentences) float; NaN where the reader did not read the sentence, no
    other reader did, the sentence is short, or either side is tied throughout.
    """
    human = _as_rows(human)
    n_readers, n_words = human.shape
    offsets = _check_offsets(offsets, n_words)
    read = read_mask(human, offsets)
    used = np.repeat(read, np.diff(offsets), axis=1)
    own = np.where(used, human, 0.0)
    count = used.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        others = (own.sum(axis=0)[None, :] - own) / (count[None, :] - 1)  # (R, n_words)
    others_read = read & (read.sum(axis=0) >= 2)[None, :]
    out = np.full((n_readers, offsets.size - 1), np.nan)
    usable = np.flatnonzero(np.diff(offsets) >= MIN_WORDS)
    for chunk in _chunks(offsets, usable, lambda w: 2 * n_readers * w, chunk_elements):
        ok = others_read[:, chunk.sentences]  # (R, c)
        a = _centred_ranks(np.where(ok[..., None], own[:, chunk.index], 0.0), chunk)
        b = _centred_ranks(np.where(ok[..., None], others[:, chunk.index], 0.0), chunk)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (a * b).sum(axis=-1) / np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
        out[:, chunk.sentences] = np.where(ok, np.clip(r, -1.0, 1.0), np.nan)
    return out


def noise_ceiling(
    human, offsets, n_boot: int = 1000, seed: int = 0, confidence: float = 0.95
) -> Ceiling:
    """Leave-one-reader-out ceiling of the per-reader Spearman score.

    Each reader's mean over sentences of rho against the others' mean
    (:func:`leave_one_reader_out_spearman`), then the mean over readers with a percentile
    bootstrap interval over readers (:func:`readalike.study_a.noise_ceiling.bootstrap_mean`,
    the same as Study A's ceilings). The others' mean is the best prediction of a reader
    the group offers, so a model's per-reader rho is to be read against it.

    Returns
    -------
    readalike.study_a.noise_ceiling.Ceiling
        ``kind`` ``leave_one_reader_out_spearman``; ``samples`` the (n_readers,) per-reader
        means (NaN for a reader without a defined sentence); NaN with a note for fewer than
        :data:`readalike.study_a.noise_ceiling.MIN_READERS` readers with a value.
    """
    kind = "leave_one_reader_out_spearman"
    per_sentence = leave_one_reader_out_spearman(human, offsets)
    defined = np.isfinite(per_sentence)
    with np.errstate(invalid="ignore", divide="ignore"):
        samples = np.where(defined, per_sentence, 0.0).sum(axis=1) / defined.sum(axis=1)
    finite = samples[np.isfinite(samples)]
    n_readers = int(read_mask(_as_rows(human), offsets).any(axis=1).sum())
    note = ""
    if finite.size < n_readers:
        note = f"{n_readers - finite.size} readers without a defined sentence left out"
    if finite.size < MIN_READERS:
        too_few = f"{finite.size} readers; a noise ceiling needs at least {MIN_READERS}"
        note = "; ".join(n for n in (note, too_few) if n)
        return Ceiling(kind, np.nan, np.nan, np.nan, n_readers, samples, note)
    value, low, high = bootstrap_mean(finite, n_boot, seed, confidence)
    return Ceiling(kind, value, low, high, n_readers, samples, note)


#: Random splits of the readers into halves for :func:`split_half_reliability`.
N_SPLITS = 100


def split_half_reliability(
    human, offsets, n_splits: int = N_SPLITS, seed: int = 0, confidence: float = 0.95
) -> Ceiling:
    """Split-half (Spearman-Brown) reliability of the group mean, in the score's own terms.

    The ceiling of ``spearman_mean`` (the group mean against a model), which the
    leave-one-reader-out :func:`noise_ceiling` is not: that one scores single readers.
    For every seeded random split of the readers who read anything into halves (sizes
    ``n // 2`` and ``n - n // 2``), ``r`` is the mean over sentences of Spearman's rho
    between the two halves' group means (:func:`group_mean`); the Spearman-Brown
    correction ``rho = 2 r / (1 + r)`` estimates the agreement of two independent groups
    of the full size, the reliability of the group mean (as Study A's
    ``split_half_spearman_brown``, there on Pearson over pairs). A model that predicts the
    readers' shared signal exactly correlates ``sqrt(rho)`` with the observed group mean:
    :func:`readalike.relative_importance.tables.noise_ceiling_rows` reports both.

    Returns
    -------
    readalike.study_a.noise_ceiling.Ceiling
        ``kind`` ``split_half_spearman_brown``; value = mean of ``rho`` over the splits,
        interval = its percentiles over the splits (the spread due to the split, not a
        sampling interval); ``samples`` (n_splits,) ``rho`` per split; NaN with a note for
        fewer than :data:`readalike.study_a.noise_ceiling.MIN_READERS` readers.
    """
    kind = "split_half_spearman_brown"
    human = _as_rows(human)
    offsets = _check_offsets(offsets, human.shape[-1])
    readers = np.flatnonzero(read_mask(human, offsets).any(axis=1))
    if readers.size < MIN_READERS:
        note = f"{readers.size} readers; a split-half reliability needs at least {MIN_READERS}"
        return Ceiling(kind, np.nan, np.nan, np.nan, int(readers.size), np.full(0, np.nan), note)
    rng = np.random.default_rng(seed)
    samples = np.full(n_splits, np.nan)
    for k in range(n_splits):  # one correlation pass per split; a pass is one batched call
        order = rng.permutation(readers)
        half_a = group_mean(human[order[: order.size // 2]], offsets)
        half_b = group_mean(human[order[order.size // 2 :]], offsets)
        # a sentence half b did not read becomes constant (NaN rho), so it drops out
        r = sentence_correlation(half_a, np.nan_to_num(half_b), offsets).mean()[0]
        samples[k] = 2 * r / (1 + r)
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return Ceiling(kind, np.nan, np.nan, np.nan, int(readers.size), samples, "no split")
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Ceiling(
        kind, float(finite.mean()), float(low), float(high), int(readers.size), samples, ""
    )


# --------------------------------------------------------------------------- groups


@dataclass(frozen=True)
class GroupComparison:
    """Two groups of readers compared on their per-reader scores, per unit.

    Attributes
    ----------
    mean_a, mean_b : (m,) float, group means of the per-reader scores.
    n_a, n_b : (m,) int, readers with a value.
    welch_t, welch_p : (m,) Welch's t of ``mean_a - mean_b`` and its p (``alternative``).
    welch_p_holm : (m,) Holm-adjusted over the m units of the call.
    permutation_difference, permutation_p, permutation_p_holm : (m,) the observed mean
        difference, its label-permutation p and the Holm-adjusted p over the m units.
    alternative : ``"two-sided"`` or ``"greater"`` (H1: group a resembles the model more).
    n_permutations : label permutations of the permutation test.
    """

    mean_a: np.ndarray
    mean_b: np.ndarray
    n_a: np.ndarray
    n_b: np.ndarray
    welch_t: np.ndarray
    welch_p: np.ndarray
    welch_p_holm: np.ndarray
    permutation_difference: np.ndarray
    permutation_p: np.ndarray
    permutation_p_holm: np.ndarray
    alternative: str
    n_permutations: int


def group_comparison(
    scores_a,
    scores_b,
    n_permutations: int = 10_000,
    seed: int = 0,
    alternative: str = "two-sided",
) -> GroupComparison:
    """Welch and permutation tests of two groups' per-reader scores, Holm over units.

    Parameters
    ----------
    scores_a : (n_a, m) or (n_a,) float, e.g. each expert's mean rho at m layers or heads;
        NaN = no value (left out of that unit).
    scores_b : (n_b, m) or (n_b,) float, the other group.
    alternative : ``"two-sided"`` (default: either group resembling the model more is a
        finding) or ``"greater"`` (H1: ``mean_a > mean_b``).

    Returns
    -------
    GroupComparison
        The tests of :mod:`readalike.study_a.inference` (``welch_one_sided``, whose
        one-sided p gives the two-sided ``2 min(p, 1 - p)``, and
        ``permutation_test_mean_difference``), each Holm-corrected over the m units:
        the family is every layer (or head) of the measure tested in the call.
    """
    if alternative not in ("two-sided", "greater"):
        raise ValueError(f"alternative must be two-sided or greater, got {alternative!r}")
    welch = welch_one_sided(scores_a, scores_b)
    welch_p = (
        welch.p
        if alternative == "greater"
        else np.minimum(1.0, 2 * np.minimum(welch.p, 1 - welch.p))
    )
    perm = permutation_test_mean_difference(
        scores_a, scores_b, n_permutations=n_permutations, seed=seed, alternative=alternative
    )
    return GroupComparison(
        mean_a=welch.mean_a,
        mean_b=welch.mean_b,
        n_a=welch.n_a,
        n_b=welch.n_b,
        welch_t=welch.statistic,
        welch_p=welch_p,
        welch_p_holm=holm(welch_p),
        permutation_difference=perm.statistic,
        permutation_p=perm.p,
        permutation_p_holm=holm(perm.p),
        alternative=alternative,
        n_permutations=n_permutations,
    )
