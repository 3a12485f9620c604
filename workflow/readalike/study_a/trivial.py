"""Trivial attention patterns and how much a model's heads rely on them.

Three fixed patterns over the word pairs ``(i, j <= i)`` of a sentence: attend to oneself
(``j == i``), to the previous word (``j == i - 1``), to the first word (``j == 0``). For
every head, ordinary least squares regresses its attention over all pairs on the three
patterns plus an intercept; its R^2 is the head's reliance on trivial patterns, and its
residual (attention minus the fitted trivial part) is the "non-trivial" attention whose
human resemblance the paper (arXiv 2310.19084) also reports.

The design matrix is the same for every head and layer, so one projection serves all heads
of a block of layers at once.
"""

from __future__ import annotations

import numpy as np

from readalike.core.pairs import PairIndex, as_float64

PATTERNS = ("self", "previous", "first")


def trivial_patterns(index: PairIndex) -> np.ndarray:
    """(P, 3) float64 indicator columns ``self``, ``previous`` and ``first`` over the pairs."""
    return np.stack(
        [index.col == index.row, index.col == index.row - 1, index.col == 0], axis=1
    ).astype(np.float64)


def trivial_fit(attention_pairs: np.ndarray, patterns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Regress every head's attention on the trivial patterns (with an intercept).

    Parameters
    ----------
    attention_pairs : (..., P) attention of any stack of heads (e.g. (B, H, P)).
    patterns : (P, K) regressors, normally :func:`trivial_patterns`.

    Returns
    -------
    r2 : (...,) float64 R^2 of each head; NaN for a head that is constant over all pairs.
    residual : (..., P) float32, attention minus its fitted trivial part.
    """
    y = as_float64(attention_pairs)
    shape, n_pairs = y.shape, y.shape[-1]
    y = y.reshape(-1, n_pairs)  # (N, P), one row per head
    z = np.concatenate([np.ones((n_pairs, 1)), patterns], axis=1)
    # the pattern design is tiny (P x 4): its pseudo-inverse (SVD, the solution lstsq gives)
    # serves every head as one (N, P) x (P, 4) product; lstsq itself took 5x longer on the
    # hundreds of right-hand sides of a layer block
    coef = y @ np.linalg.pinv(z).T  # (N, 4)
    # one (N, P) buffer holds the fit, then the residual, then the centred attention:
    # a block of layers is never held in float64 more than twice
    work = np.matmul(coef, z.T)
    np.subtract(y, work, out=work)
    sse = np.einsum("np,np->n", work, work)
    residual = work.astype(np.float32)
    yy = np.einsum("np,np->n", y, y)
    np.subtract(y, y.mean(axis=-1, keepdims=True), out=work)
    sst = np.einsum("np,np->n", work, work)
    del work
    # a head that is constant over all pairs has no variance to explain; rounding leaves
    # its SST at ~1e-17 rather than 0, hence the relative test
    varies = sst > 1e-12 * yy
    r2 = np.where(varies, 1.0 - sse / np.where(varies, sst, 1.0), np.nan)
    return r2.reshape(shape[:-1]), residual.reshape(shape)
