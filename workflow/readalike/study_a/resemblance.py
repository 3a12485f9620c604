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

from functools import cache

import numpy as np
from threadpoolctl import ThreadpoolController

from readalike.core.pairs import PairIndex, as_float64


@cache
def _blas_controller() -> ThreadpoolController:
    # made once: threadpool_limits() inspects the loaded libraries on every call (1.5 ms)
    return ThreadpoolController()


def gram_pinv(gram: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of a stack of symmetric positive semi-definite matrices.

    Heads can be collinear (two heads with identical attention, a head that is constant over
    all pairs), so an eigen-decomposition with a relative cut-off stands in for an inverse:
    the fitted values, and so R^2, are the same for every least-squares solution. One
    decomposition serves every target regressed on the same design.
    """
    v, inv_w = _eigen_inverse(gram)
    return np.matmul(v * inv_w[..., None, :], np.swapaxes(v, -1, -2))


def _eigen_inverse(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvectors ``V`` and cut-off inverse eigenvalues of a stack of PSD matrices."""
    # Tiny systems gain nothing from BLAS threads, and on a loaded machine OpenBLAS's
    # spinning threads made this batched eigh 50x slower: decompose single-threaded.
    with _blas_controller().limit(limits=1, user_api="blas"):
        w, v = np.linalg.eigh(gram)
    cutoff = np.abs(w).max(axis=-1, keepdims=True) * 1e-12
    inv_w = np.where(w > cutoff, 1.0 / np.where(w > cutoff, w, 1.0), 0.0)
    return v, inv_w


def _pinv_solve(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``pinv(gram) @ rhs_t`` for every row ``rhs_t``: gram (..., k, k), rhs (..., T, k).

    The same coefficients as :func:`gram_pinv` times ``rhs``, without forming the k x k
    pseudo-inverse: ``rhs V diag(1/w) V^T`` costs T k^2 per matrix instead of k^3.
    """
    v, inv_w = _eigen_inverse(gram)
    coords = np.matmul(rhs, v)
    coords *= inv_w[..., None, :]
    return np.matmul(coords, np.swapaxes(v, -1, -2))


def _sse(beta: np.ndarray, gram: np.ndarray, cross: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """``y'y - 2 b'X'y + b'X'Xb`` for coefficients ``beta`` (..., T, K) of T targets.

    At the exact optimum this is ``y'y - b'X'y``; the full form stays exact when the
    eigen cut-off drops a direction.
    """
    fitted_norm = np.einsum("...tk,...tk->...t", np.matmul(beta, gram), beta)
    return yy - 2 * np.einsum("...tk,...tk->...t", beta, cross) + fitted_norm


def regression_r2(
    regressors: np.ndarray, targets: np.ndarray, article_start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """In-sample and leave-one-article-out R^2 of OLS with an intercept, for stacks of designs.

    Parameters
    ----------
    regressors : (B, P, K) float, B independent designs (layers) of K regressors (heads)
        over P observations (word pairs), articles contiguous along P.
    targets : (P,) or (T, P) float, the human matrix entries (T targets: groups x measures,
        each regressed on every design; the Gram matrices are shared).
    article_start : (A + 1,) int, pair offsets of the articles.

    Returns
    -------
    r2 : (B,) or (B, T) in-sample ``1 - SSE / SST`` of the fit on all pairs.
    r2_heldout : (B,) or (B, T)
        ``1 - sum_a sum_{p in a} (y_p - x_p b_{-a})^2 / sum_p (y_p - ybar)^2``, where
        ``b_{-a}`` is fitted on every article but ``a`` and predicts the pairs of ``a``; the
        squared errors of all folds are pooled, and ``ybar`` is the mean of all pairs. It can
        be negative when predictions are worse than the grand mean. NaN with a single
        article.
    """
    return _regression_r2_rows(np.swapaxes(regressors, 1, 2), targets, article_start)


def _regression_r2_rows(
    regressors: np.ndarray, targets: np.ndarray, article_start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`regression_r2` for regressors laid out ``(B, K, P)``, pairs last.

    With the pairs last, an article's Gram block ``X_a^T X_a`` is one BLAS product of two
    row-major ``(K, P_a)`` slices, and the intercept's entries are row sums: no ``(B, P,
    K + 1)`` float64 copy with a column of ones is made.
    """
    x = as_float64(regressors)
    y = np.asarray(targets, dtype=np.float64)
    single = y.ndim == 1
    y = np.atleast_2d(y)
    n_blocks, n_regressors, _ = x.shape
    k = n_regressors + 1  # intercept first
    n_targets = y.shape[0]
    n_articles = article_start.size - 1
    grams = np.empty((n_blocks, n_articles, k, k))
    cross = np.empty((n_blocks, n_articles, n_targets, k))
    yy = np.empty((n_articles, n_targets))
    for a in range(n_articles):  # a handful of articles; each is a contiguous view
        lo, hi = article_start[a], article_start[a + 1]
        xa, ya = x[:, :, lo:hi], y[:, lo:hi]
        sums = xa.sum(axis=2)  # (B, K): X_a^T 1
        grams[:, a, 0, 0] = hi - lo
        grams[:, a, 0, 1:] = sums
        grams[:, a, 1:, 0] = sums
        grams[:, a, 1:, 1:] = np.matmul(xa, xa.transpose(0, 2, 1))
        cross[:, a, :, 0] = ya.sum(axis=1)
        cross[:, a, :, 1:] = np.matmul(ya, xa.transpose(0, 2, 1))
        yy[a] = (ya**2).sum(axis=1)
    sst = ((y - y.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv_sst = np.where(sst > 0, 1.0 / np.where(sst > 0, sst, 1.0), np.nan)

    gram_all, cross_all = grams.sum(axis=1), cross.sum(axis=1)
    beta = _pinv_solve(gram_all, cross_all)
    r2 = 1.0 - _sse(beta, gram_all, cross_all, yy.sum(axis=0)) * inv_sst

    if n_articles < 2:
        r2_heldout = np.full_like(r2, np.nan)
    else:
        beta_out = _pinv_solve(gram_all[:, None] - grams, cross_all[:, None] - cross)
        sse_out = _sse(beta_out, grams, cross, yy[None]).sum(axis=1)
        r2_heldout = 1.0 - sse_out * inv_sst
    if single:
        return r2[:, 0], r2_heldout[:, 0]
    return r2, r2_heldout


def layer_resemblance(
    attention_pairs: np.ndarray, human_pairs: np.ndarray, index: PairIndex
) -> tuple[np.ndarray, np.ndarray]:
    """R^2 of every layer of a block: heads' attention -> human matrix entries.

    Parameters
    ----------
    attention_pairs : (B, H, P) attention of B layers, H heads over the P pairs of ``index``.
    human_pairs : (P,) or (T, P) human matrix entries over the same pairs (T targets).

    Returns
    -------
    r2, r2_heldout : (B,) or (B, T) each; see :func:`regression_r2`.
    """
    return _regression_r2_rows(attention_pairs, human_pairs, index.article_start)


def shuffle_within_sentences(
    values: np.ndarray, index: PairIndex, rng: np.random.Generator
) -> np.ndarray:
    """Permute pair values at random within each sentence (a null for resemblance).

    Sorting random keys offset by the sentence number permutes inside every sentence in
    one vectorised step.
    """
    keys = index.sentence + rng.random(index.n_pairs)
    return np.asarray(values)[np.argsort(keys, kind="stable")]


def _sentence_padding(index: PairIndex) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of every sentence laid out in a padded ``(S, Q)`` grid, Q = most pairs.

    Returns
    -------
    gather : (S, Q) int, pair of slot ``q`` of sentence ``s`` (0 in padding slots).
    valid : (S, Q) bool, slots that hold a pair.
    """
    counts = np.bincount(index.sentence)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slots = np.arange(counts.max())
    valid = slots < counts[:, None]
    return np.where(valid, start[:, None] + slots, 0), valid


def reader_r2(
    attention_pairs: np.ndarray, targets: np.ndarray, present: np.ndarray, index: PairIndex
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """In-sample and leave-one-article-out R^2 of every layer for targets with missing sentences.

    The per-reader counterpart of :func:`regression_r2`, with the same definitions over each
    target's own pairs (those of the sentences where it is present): OLS of the target on
    the layer's heads plus an intercept; held out, the squared errors of predicting each
    article from a fit on the target's other articles, pooled over folds, over the target's
    sum of squares about its own mean.

    All targets share one design, so nothing is refitted per target: per-sentence sufficient
    statistics (``X_s'X_s``, ``X_s'y_s``, ``y_s'y_s``) are computed once on sentences padded
    to a common length, a target's Gram matrix is the sum of the sentence blocks weighted by
    its presence mask (targets with the same mask share it), and every target, fold and
    layer is solved in one batched pseudo-inverse.

    Parameters
    ----------
    attention_pairs : (B, H, P) attention of B layers, H heads over the P pairs of ``index``.
    targets : (N, P) float, e.g. readers x measures; entries of absent sentences are ignored.
    present : (N, S) bool, whether target ``n`` has data for sentence ``s`` (S sentences,
        numbered as ``index.sentence``).
    index : the pair index of the corpus.

    Returns
    -------
    r2 : (B, N) in-sample R^2; NaN where the target is constant over its pairs (or absent).
    r2_heldout : (B, N) held-out R^2; NaN also where the target is present in fewer than two
        articles (no fold has both training and test pairs).
    n_pairs : (N,) int, pairs of each target.
    """
    x = np.asarray(attention_pairs)
    present = np.asarray(present, dtype=bool)
    n_blocks, n_heads, _ = x.shape
    k = n_heads + 1
    gather, valid = _sentence_padding(index)
    n_sentences, width = gather.shape
    # Padded design (B, S, Q, k), intercept first; padding slots are all zero, intercept
    # included, so they add nothing to any sum.
    design = np.zeros((n_blocks, n_sentences, width, k))
    design[..., 0] = valid
    design[..., 1:] = np.moveaxis(x[:, :, gather], 1, -1)
    design *= valid[..., None]
    y = np.asarray(targets, dtype=np.float64)[:, gather] * (valid * present[:, :, None])  # (N,S,Q)

    grams_s = np.matmul(np.swapaxes(design, -1, -2), design)  # (B, S, k, k)
    cross_s = np.matmul(np.swapaxes(design, -1, -2), y.transpose(1, 2, 0))  # (B, S, k, N)
    yy_s = (y**2).sum(axis=-1)  # (N, S)
    pairs_s = valid.sum(axis=1)  # (S,)
    n_pairs = present @ pairs_s

    # Articles are contiguous runs of sentences.
    first_pair = np.concatenate([[0], np.cumsum(pairs_s)[:-1]])
    sentence_article = index.article[first_pair]
    article_first = np.flatnonzero(np.r_[True, sentence_article[1:] != sentence_article[:-1]])
    n_articles = article_first.size
    masks, mask_of = np.unique(present, axis=0, return_inverse=True)  # shared Gram per mask
    mask_of = mask_of.reshape(-1)
    weights = masks.astype(np.float64)
    bounds = np.r_[article_first, n_sentences]
    # Sentence blocks as one (S, B*k*k) matrix, so that a mask-weighted sum over an
    # article's sentences is one plain matrix product (contiguous operands keep it in BLAS).
    flat_grams = np.ascontiguousarray(grams_s.transpose(1, 0, 2, 3)).reshape(n_sentences, -1)
    grams_a = np.stack(
        [  # a handful of articles, each a contiguous run of sentences: (U, S_a) @ (S_a, B*k*k)
            np.ascontiguousarray(weights[:, bounds[a] : bounds[a + 1]])
            @ flat_grams[bounds[a] : bounds[a + 1]]
            for a in range(n_articles)
        ]
    ).reshape(n_articles, -1, n_blocks, k, k)
    grams_a = grams_a.transpose(2, 0, 1, 3, 4)  # (B, A, U, k, k)
    cross_a = np.add.reduceat(cross_s, article_first, axis=1).swapaxes(-1, -2)  # (B, A, N, k)
    yy_a = np.add.reduceat(yy_s, article_first, axis=1).T  # (A, N)
    present_a = np.add.reduceat(present, article_first, axis=1) > 0  # (N, A)

    sum_y = cross_a[0, :, :, 0].sum(axis=0)  # (N,), the intercept column
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sum_y / n_pairs
        sst = (((y - mean[:, None, None]) * (valid * present[:, :, None])) ** 2).sum(axis=(1, 2))
        inv_sst = np.where(sst > 0, 1.0 / np.where(sst > 0, sst, 1.0), np.nan)

    gram_all, cross_all, yy_all = grams_a.sum(axis=1), cross_a.sum(axis=1), yy_a.sum(axis=0)
    pinv_all = gram_pinv(gram_all)[:, mask_of]  # (B, N, k, k)
    beta = np.einsum("bnkl,bnl->bnk", pinv_all, cross_all)
    fitted = np.einsum("bnk,bnkl,bnl->bn", beta, gram_all[:, mask_of], beta)
    sse = yy_all - 2 * np.einsum("bnk,bnk->bn", beta, cross_all) + fitted
    r2 = 1.0 - sse * inv_sst

    if n_articles < 2:
        return r2, np.full_like(r2, np.nan), n_pairs
    pinv_out = gram_pinv(gram_all[:, None] - grams_a)[:, :, mask_of]  # (B, A, N, k, k)
    beta_out = np.einsum("bankl,banl->bank", pinv_out, cross_all[:, None] - cross_a)
    gram_test = grams_a[:, :, mask_of]
    fitted_out = np.einsum("bank,bankl,banl->ban", beta_out, gram_test, beta_out)
    sse_out = yy_a - 2 * np.einsum("bank,bank->ban", beta_out, cross_a) + fitted_out
    r2_heldout = 1.0 - sse_out.sum(axis=1) * inv_sst
    r2_heldout[:, present_a.sum(axis=1) < 2] = np.nan
    return r2, r2_heldout, n_pairs
