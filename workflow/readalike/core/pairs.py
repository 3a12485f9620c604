"""Flattening ragged per-sentence matrices into one vector of word pairs.

Every Study A analysis works on the same set of word pairs: in each sentence, query word
``i`` and key word ``j <= i`` (the lower triangle with the diagonal: what a causal model can
attend to). Pairs are ordered article by article, sentence by sentence, and row by row
within a sentence (``np.tril_indices`` order), so each article and each row is a contiguous
slice of the pair axis, which lets folds and row sums use views and ``np.add.reduceat``
instead of masks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from readalike.core.formats import Ragged


@cache
def _tril(n: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.tril_indices(n)
    rows.setflags(write=False)
    cols.setflags(write=False)
    return rows, cols


@cache
def _tril_flat(n: int) -> np.ndarray:
    """Positions of the lower-triangle pairs in a row-major ``(n, n)`` matrix, pair order."""
    rows, cols = _tril(n)
    flat = rows * n + cols
    flat.setflags(write=False)
    return flat


@dataclass(frozen=True)
class PairIndex:
    """Where each word pair of a corpus comes from.

    Attributes
    ----------
    lengths : words per sentence, ``lengths[a][s]``.
    article : (P,) int, article of each pair.
    sentence : (P,) int, running sentence number over the corpus.
    row, col : (P,) int, query word ``i`` and key word ``j <= i`` of each pair.
    row_start : (R,) int, first pair of each query row (all rows of all sentences).
    article_start : (A + 1,) int, pair offsets of the articles (``article_start[-1] == P``).
    """

    lengths: tuple[tuple[int, ...], ...]
    article: np.ndarray
    sentence: np.ndarray
    row: np.ndarray
    col: np.ndarray
    row_start: np.ndarray
    article_start: np.ndarray

    @property
    def n_pairs(self) -> int:
        return int(self.row.size)

    @property
    def row_query(self) -> np.ndarray:
        """(R,) query word index ``i`` of every row."""
        return self.row[self.row_start]


def pair_index(lengths: list[list[int]]) -> PairIndex:
    """Index of the lower-triangle pairs (``j <= i``) of every sentence."""
    rows, cols, articles, sentences = [], [], [], []
    article_start = [0]
    sentence_no = 0
    for a, article in enumerate(lengths):
        for n in article:
            r, c = _tril(int(n))
            rows.append(r)
            cols.append(c)
            articles.append(np.full(r.size, a))
            sentences.append(np.full(r.size, sentence_no))
            sentence_no += 1
        article_start.append(article_start[-1] + sum(n * (n + 1) // 2 for n in article))
    row = np.concatenate(rows)
    col = np.concatenate(cols)
    # a new row starts wherever the key index returns to 0
    row_start = np.flatnonzero(col == 0)
    return PairIndex(
        lengths=tuple(tuple(int(n) for n in article) for article in lengths),
        article=np.concatenate(articles),
        sentence=np.concatenate(sentences),
        row=row,
        col=col,
        row_start=row_start,
        article_start=np.asarray(article_start),
    )


def stack_pairs(ragged: Ragged, dtype: np.dtype | type | None = None) -> np.ndarray:
    """Stack the lower-triangle pairs of every sentence along a last axis.

    Parameters
    ----------
    ragged : ``ragged[a][s]`` of shape ``(..., n, n)``; leading axes (layers, heads) are kept
        and must be the same for every sentence.
    dtype : output dtype (default: that of the input arrays).

    Returns
    -------
    (..., P) array, pairs in :func:`pair_index` order.
    """
    matrices = [matrix for article in ragged for matrix in article]
    if dtype is None:
        dtype = np.result_type(*matrices)
    lengths = [[m.shape[-1] for m in article] for article in ragged]
    return stack_pair_stream(iter(matrices), lengths, matrices[0].shape[:-2], dtype)


def stack_pair_stream(
    matrices: Iterator[np.ndarray],
    lengths: Sequence[Sequence[int]],
    leading: tuple[int, ...],
    dtype: np.dtype | type,
) -> np.ndarray:
    """:func:`stack_pairs` of sentences that arrive one at a time (e.g. read from a file).

    Only the output and one sentence are held: a caller that reads sentence by sentence
    never holds the whole ragged set next to its pairs (for LLaMA-30B's 60 layers, 110 MB
    of float16 matrices beside 56 MB of pairs).

    Parameters
    ----------
    matrices : the sentences in corpus order, each ``(*leading, n, n)``.
    lengths : ``lengths[a][s]``, the words of each sentence, which size the output.
    leading : the kept leading axes, e.g. ``(layers, heads)``.
    dtype : output dtype.

    Raises
    ------
    ValueError
        A sentence of another shape than its length and ``leading`` say, or another number
        of sentences than ``lengths`` holds.
    """
    words = [n for article in lengths for n in article]
    out = np.empty((*leading, sum(n * (n + 1) // 2 for n in words)), dtype=dtype)
    flat_out = out.reshape(-1, out.shape[-1])
    start = 0
    for count, (n, matrix) in enumerate(zip(words, matrices, strict=True)):
        if matrix.shape != (*leading, n, n):
            raise ValueError(f"sentence {count}: shape {matrix.shape}, expected {(*leading, n, n)}")
        # one gather of the flattened (n * n) axis per sentence, written straight into its
        # columns of the output: no list of blocks and no concatenation copy
        size = n * (n + 1) // 2
        flat_out[:, start : start + size] = np.asarray(matrix).reshape(-1, n * n)[:, _tril_flat(n)]
        start += size
    return out


#: float16 bit pattern -> float64 value (exact); numpy casts float16 element by element
#: without SIMD, and a table look-up is 3-4x faster
_FLOAT16_TO_FLOAT64 = np.arange(2**16, dtype=np.uint16).view(np.float16).astype(np.float64)


def as_float64(values: np.ndarray) -> np.ndarray:
    """``np.asarray(values, dtype=np.float64)``, the same numbers, faster for float16."""
    values = np.asarray(values)
    if values.dtype == np.float16:
        # every uint16 is a valid index; mode="clip" skips the bounds check
        return np.take(_FLOAT16_TO_FLOAT64, values.view(np.uint16), mode="clip")
    return np.asarray(values, dtype=np.float64)


#: Layers analysed at once in float64 (config ``analysis.layer_block``'s default): the
#: Study A analyses hold a few float64 copies of a block. 4 measured best on LLaMA-30B's
#: release (60 x 52 heads, 8,917 pairs), one group x measure: peak RSS 186 MiB and 0.80 s
#: for the resemblance table, against 229 MiB and 0.96 s with 8 (bench_study_a_release.py)
LAYER_BLOCK = 4


def layer_blocks(n_layers: int, block_size: int) -> list[slice]:
    """Consecutive layer slices of at most ``block_size`` layers."""
    return [slice(s, min(s + block_size, n_layers)) for s in range(0, n_layers, block_size)]


def shuffle_sentences_of_equal_length(
    index: PairIndex, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, PairIndex]:
    """Give every sentence the word pairs of another sentence of the same length.

    Within each length, the sentences are put in random order and each takes the pairs of
    the next (a cycle, so no sentence keeps its own); a sentence whose length no other
    sentence shares has no partner and is left out. The pair layout of two sentences of
    equal length is the same, so pair ``k`` of a sentence takes pair ``k`` of its partner.

    Returns
    -------
    kept : (P_kept,) int, the pairs of the sentences that have a partner, in corpus order.
    source : (P_kept,) int, the pair whose value each kept pair takes (another sentence's
        pair at the same ``(row, col)``).
    kept_index : PairIndex of the kept sentences (articles left without one are dropped).
    """
    lengths = np.array([n for article in index.lengths for n in article], dtype=np.int64)
    sizes = lengths * (lengths + 1) // 2
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    partner = np.full(lengths.size, -1)
    for n in np.unique(lengths):  # one draw per distinct length, not per sentence
        members = rng.permutation(np.flatnonzero(lengths == n))
        if members.size > 1:
            partner[members] = np.roll(members, -1)
    kept = np.flatnonzero(partner[index.sentence] >= 0)
    sentence = index.sentence[kept]
    source = start[partner[sentence]] + (kept - start[sentence])
    has_partner = iter(partner >= 0)
    kept_lengths = [[n for n in article if next(has_partner)] for article in index.lengths]
    return kept, source, pair_index([a for a in kept_lengths if a])
