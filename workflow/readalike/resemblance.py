"""Human resemblance: how well a layer's heads linearly predict human saccade matrices.

For one layer, every word pair ``(i, j <= i)`` of every sentence is an observation; the
regressors are that layer's heads' attention ``A[h, i, j]`` (one per head) plus an
intercept, and the target is the human group's saccade matrix entry ``M[i, j]``. The
in-sample coefficient of determination is what the paper (arXiv 2310.19084) reports; the
held-out one, which it did not, leaves whole articles out.

The fit uses the normal equations on per-article sufficient statistics (Gram matrices
``X_a^T X_a``, ``X_a^T y_a``), stacked over a block of layers, so all layers of a block
and all folds are solved at once with batched linear algebra and no loop over heads,
layers or rows.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from .pairs import PairIndex


def _pinv_solve(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Minimum-norm solution of ``gram @ beta = rhs`` for a stack of symmetric PSD systems.

    Heads can be collinear (two heads with identical attention, a head that is constant over
    all pairs), so an eigen-decomposition with a relative cut-off stands in for ``solve``:
    the fitted values, and so R^2, are the same for every least-squares solution.
    """
    # Tiny systems gain nothing from BLAS threads, and on a loaded machine OpenBLAS's
    # spinning threads made this batched eigh 50x slower: decompose single-threaded.
    with threadpool_limits(limits=1, user_api="blas"):
        w, v = np.linalg.eigh(gram)
    cutoff = np.abs(w).max(axis=-1, keepdims=True) * 1e-12
    inv_w = np.where(w > cutoff, 1.0 / np.where(w > cutoff, w, 1.0), 0.0)
    return np.einsum("...ij,...j,...kj,...k->...i", v, inv_w, v, rhs)


def regression_r2(
    regressors: np.ndarray, target: np.ndarray, article_start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """In-sample and leave-one-article-out R^2 of OLS with an intercept, for a stack of designs.

    Parameters
    ----------
    regressors : (B, P, K) float, B independent designs (layers) of K regressors (heads)
        over P observations (word pairs), articles contiguous along P.
    target : (P,) float, the human matrix entries.
    article_start : (A + 1,) int, pair offsets of the articles.

    Returns
    -------
    r2 : (B,) in-sample ``1 - SSE / SST`` of the fit on all pairs.
    r2_heldout : (B,) ``1 - sum_a sum_{p in a} (y_p - x_p b_{-a})^2 / sum_p (y_p - ybar)^2``,
        where ``b_{-a}`` is fitted on every article but ``a`` and predicts the pairs of ``a``;
        the squared errors of all folds are pooled, and ``ybar`` is the mean of all pairs.
        It can be negative when predictions are worse than the grand mean. NaN with a single
        article.
    """
    x = np.asarray(regressors, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    n_blocks, _, _ = x.shape
    ones = np.ones((n_blocks, y.size, 1))
    x = np.concatenate([ones, x], axis=2)  # intercept first
    n_articles = article_start.size - 1
    grams = np.empty((n_blocks, n_articles, x.shape[2], x.shape[2]))
    cross = np.empty((n_blocks, n_articles, x.shape[2]))
    yy = np.empty(n_articles)
    for a in range(n_articles):  # a handful of articles; each is a contiguous view
        xa = x[:, article_start[a] : article_start[a + 1]]
        ya = y[article_start[a] : article_start[a + 1]]
        grams[:, a] = np.matmul(xa.transpose(0, 2, 1), xa)
        cross[:, a] = np.matmul(xa.transpose(0, 2, 1), ya)
        yy[a] = ya @ ya
    sst = float(((y - y.mean()) ** 2).sum())

    gram_all, cross_all = grams.sum(axis=1), cross.sum(axis=1)
    beta = _pinv_solve(gram_all, cross_all)
    # SSE = y'y - 2 b'X'y + b'X'Xb, which at the optimum is y'y - b'X'y; keep the full form,
    # which stays exact when the eigen cut-off drops a direction.
    sse = (
        yy.sum()
        - 2 * np.einsum("bk,bk->b", beta, cross_all)
        + np.einsum("bk,bkl,bl->b", beta, gram_all, beta)
    )
    r2 = 1.0 - sse / sst if sst > 0 else np.full(n_blocks, np.nan)

    if n_articles < 2:
        return r2, np.full(n_blocks, np.nan)
    beta_out = _pinv_solve(gram_all[:, None] - grams, cross_all[:, None] - cross)
    sse_out = (
        yy[None, :]
        - 2 * np.einsum("bak,bak->ba", beta_out, cross)
        + np.einsum("bak,bakl,bal->ba", beta_out, grams, beta_out)
    ).sum(axis=1)
    r2_heldout = 1.0 - sse_out / sst if sst > 0 else np.full(n_blocks, np.nan)
    return r2, r2_heldout


def layer_resemblance(
    attention_pairs: np.ndarray, human_pairs: np.ndarray, index: PairIndex
) -> tuple[np.ndarray, np.ndarray]:
    """R^2 of every layer of a block: heads' attention -> human matrix entries.

    Parameters
    ----------
    attention_pairs : (B, H, P) attention of B layers, H heads over the P pairs of ``index``.
    human_pairs : (P,) human matrix entries over the same pairs.

    Returns
    -------
    r2, r2_heldout : (B,) each; see :func:`regression_r2`.
    """
    design = np.asarray(attention_pairs, dtype=np.float64).transpose(0, 2, 1)
    return regression_r2(design, human_pairs, index.article_start)


def shuffle_within_sentences(
    values: np.ndarray, index: PairIndex, rng: np.random.Generator
) -> np.ndarray:
    """Permute pair values at random within each sentence (a null for resemblance).

    Sorting random keys offset by the sentence number permutes inside every sentence in
    one vectorised step.
    """
    keys = index.sentence + rng.random(index.n_pairs)
    return np.asarray(values)[np.argsort(keys, kind="stable")]
