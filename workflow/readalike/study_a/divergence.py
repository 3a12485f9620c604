"""Jensen-Shannon divergence between attention distributions, row by row.

For a query word ``i >= 1`` of a sentence, a model's head-averaged attention over the words
``0..i`` is renormalised to sum to 1 (the BOS and prefix columns are gone, so raw rows sum
to less than 1). Two such rows, from two models or two prompt conditions, are compared by
their Jensen-Shannon divergence in nats,

    JS(p, q) = 1/2 KL(p || m) + 1/2 KL(q || m),   m = (p + q) / 2,

which lies in [0, ln 2]. Row 0 is left out: with one key word it is always 1 and always
agrees. A corpus value is the plain mean over all rows of all sentences (pooled, so longer
sentences weigh more, as they hold more rows). Rows whose attention sums to 0 in either
input cannot be normalised; they are left out and counted.
"""

from __future__ import annotations

import numpy as np

from readalike.core.depth import N_QUARTERS, depth_quarter
from readalike.core.pairs import PairIndex


def row_normalise(values: np.ndarray, index: PairIndex) -> tuple[np.ndarray, np.ndarray]:
    """Renormalise every query row of stacked pairs to sum to 1.

    Parameters
    ----------
    values : (..., P) non-negative attention over the pairs of ``index``.

    Returns
    -------
    probabilities : (..., P) float64; rows that sum to 0 stay 0.
    row_sums : (..., R) float64 sum of each row before normalising.
    """
    values = np.asarray(values, dtype=np.float64)
    row_sums = np.add.reduceat(values, index.row_start, axis=-1)
    row_of_pair = np.repeat(
        np.arange(index.row_start.size), np.diff(np.append(index.row_start, index.n_pairs))
    )
    denom = row_sums[..., row_of_pair]
    probabilities = np.divide(values, denom, out=np.zeros_like(values), where=denom > 0)
    return probabilities, row_sums


def _xlogy_ratio(p: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``p * ln(p / m)`` with the convention ``0 ln 0 = 0`` (m > 0 wherever p > 0)."""
    safe_p = np.where(p > 0, p, 1.0)
    safe_m = np.where(p > 0, m, 1.0)
    return np.where(p > 0, p * np.log(safe_p / safe_m), 0.0)


def rowwise_js(a: np.ndarray, b: np.ndarray, index: PairIndex) -> np.ndarray:
    """JS divergence (nats) of every row of two stacked attentions.

    Parameters
    ----------
    a, b : (..., P) non-negative attention over the pairs of ``index`` (broadcastable).

    Returns
    -------
    (..., R) float64 per row; NaN for row 0 of each sentence and for rows that sum to 0 in
    ``a`` or ``b``.
    """
    p, sums_p = row_normalise(a, index)
    q, sums_q = row_normalise(b, index)
    m = 0.5 * (p + q)
    terms = 0.5 * (_xlogy_ratio(p, m) + _xlogy_ratio(q, m))
    js = np.add.reduceat(terms, index.row_start, axis=-1)
    valid = (sums_p > 0) & (sums_q > 0) & (index.row_query >= 1)
    # rounding can leave -1e-17 where the rows agree
    return np.where(valid, np.maximum(js, 0.0), np.nan)


def mean_js(a: np.ndarray, b: np.ndarray, index: PairIndex) -> tuple[np.ndarray, np.ndarray]:
    """Pooled mean row-wise JS over the corpus, and the number of rows it averages.

    Returns
    -------
    js : (...,) float64 mean over valid rows (NaN if none).
    n_rows : (...,) int number of valid rows.
    """
    rows = rowwise_js(a, b, index)
    n_rows = np.isfinite(rows).sum(axis=-1)
    with np.errstate(invalid="ignore"):
        js = np.nansum(rows, axis=-1) / np.where(n_rows > 0, n_rows, np.nan)
    return js, n_rows


def depth_quarter_means(
    layer_values: np.ndarray, n_quarters: int = N_QUARTERS
) -> tuple[np.ndarray, np.ndarray]:
    """Average layers within each quarter of the depth (:func:`readalike.core.depth.depth_quarter`).

    Parameters
    ----------
    layer_values : (L, P) head-averaged attention of each layer.

    Returns
    -------
    quarters : (n_present,) int, the quarters that hold at least one layer.
    means : (n_present, P) float64 mean over the layers of each quarter.
    """
    n_layers = layer_values.shape[0]
    layer_quarter = depth_quarter(np.arange(n_layers), n_layers, n_quarters)
    quarters = np.unique(layer_quarter)
    onehot = (layer_quarter[None, :] == quarters[:, None]).astype(np.float64)
    means = (onehot @ np.asarray(layer_values, dtype=np.float64)) / onehot.sum(1, keepdims=True)
    return quarters, means
