"""Concepts of the feed-forward layers: principal components of their value vectors.

After the feed-forward analysis of arXiv 2310.00492: the rows of ``down_proj.weight.T``
are the value vectors a layer writes into the residual stream, one per neuron (where they
live in each model family, and how a norm after the block folds into them, is
:mod:`readalike.models.architectures`; they are read from the checkpoint one layer at a time).
Their top
principal components are read as "concepts" by the vocabulary words whose output
embeddings they point to most (:func:`concept_table`), and each concept is labelled with a
task and a linguistic level by :func:`readalike.study_b.concept_labels.label_component`. Comparing
the labels of a pre-trained and an instruction-tuned model by depth
(:func:`readalike.study_b.concept_labels.concept_shift_table`) shows what tuning shifted.

Differences from the paper and the authors' code, on purpose:

* PCA uses randomised subspace iteration on the Gram matrix of the centred value
  vectors (:func:`principal_components`) instead of a full SVD; the explained-variance
  ratios keep the full total variance (the squared Frobenius norm) as denominator, so
  they equal the full SVD's to the iteration's accuracy.
* Components are labelled by a deterministic rule-based labeller
  (:mod:`readalike.study_b.concept_labels`) instead of ChatGPT runs with five seeds.
* :func:`readalike.study_b.subspaces.subspace_similarity` (principal angles between the component
  subspaces of two models) is an addition, not in the paper.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from readalike.models.architectures import ModelWeights
from readalike.study_b.concept_labels import label_component

logger = logging.getLogger(__name__)


def value_vectors(down_proj_weight: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Value vectors of a feed-forward layer, one row per neuron.

    Parameters
    ----------
    down_proj_weight
        ``(hidden, intermediate)``: ``nn.Linear`` stores ``(out_features, in_features)``.

    Returns
    -------
    torch.Tensor
        ``(intermediate, hidden)`` float32: row ``j`` is what neuron ``j`` adds to the
        residual stream per unit of activation.
    """
    return torch.as_tensor(down_proj_weight).detach().float().T


def principal_components(
    W: torch.Tensor | np.ndarray,
    R: int = 300,
    seed: int = 0,
    n_oversamples: int | None = None,
    n_iter: int = 12,
    device: str | torch.device | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top principal components of the rows of ``W`` and their explained-variance ratios.

    Randomised subspace iteration on the Gram matrix of the centred rows ``Wc`` (the
    smaller of ``Wc^T Wc`` and ``Wc Wc^T``), orthonormalised by Cholesky QR, then
    Rayleigh-Ritz on the projection of ``Wc`` itself. One Gram product costs about three
    power iterations on ``Wc``, after which every iteration is a small
    ``(m, m) @ (m, R + n_oversamples)`` product, and each counts as two powers of
    ``Wc``; that buys the iterations a flat spectrum such as a random matrix's needs
    (seconds for an 11008 x 4096 layer, see ``benchmarks/bench_internals.py``). When
    ``R + n_oversamples`` reaches ``min(n, hidden)`` a full SVD is used, exact.

    Parameters
    ----------
    W
        ``(n, hidden)`` rows to decompose (value vectors: ``n`` = neurons).
    R
        Number of components, ``1 <= R <= min(n, hidden)``. The paper uses 300.
    seed
        Seed of the random starting block; the result is deterministic given it.
    n_oversamples
        Extra columns of the iterated block; default ``R``.
    n_iter
        Subspace iterations after the first product.
    device
        Where to compute (default: ``W``'s device).

    Returns
    -------
    components : numpy.ndarray
        ``(R, hidden)`` float32, orthonormal rows, largest variance first; each row's
        sign makes its largest-magnitude entry positive, so reruns agree exactly.
    evr : numpy.ndarray
        ``(R,)`` float64: variance along each component divided by the *total* variance
        of the centred rows (squared Frobenius norm), not by the top-R sum.
    """
    A = torch.as_tensor(W).detach().to(device=device, dtype=torch.float32)
    n, hidden = A.shape
    if not 0 < R <= min(n, hidden):
        raise ValueError(f"R={R} components asked of a {n} x {hidden} matrix")
    A = A - A.mean(dim=0, keepdim=True)
    total = float(torch.linalg.vector_norm(A, dtype=torch.float64) ** 2)
    block = min(n, hidden, R + (R if n_oversamples is None else n_oversamples))
    if block >= min(n, hidden):
        # The block would span everything: a full SVD is exact and no dearer.
        _, singular, vh = torch.linalg.svd(A, full_matrices=False)
        return _finish(vh[:R], singular[:R], total)
    gram_of_columns = hidden <= n
    C = A.T @ A if gram_of_columns else A @ A.T
    generator = torch.Generator(device=C.device).manual_seed(seed)
    start = torch.randn(C.shape[0], block, generator=generator, device=C.device)
    Q = _orthonormalise(C @ start)
    for _ in range(n_iter):
        Q = _orthonormalise(C @ Q)
    Q = _orthonormalise(Q)  # a second pass (CholeskyQR2) makes Q orthonormal to rounding
    # Rayleigh-Ritz on A's projection B, in float64: the block's Gram matrix is small.
    B = A @ Q if gram_of_columns else Q.T @ A
    B64 = B.double()
    eigenvalues, W = torch.linalg.eigh(B64.T @ B64 if gram_of_columns else B64 @ B64.T)
    top = torch.arange(block - 1, block - 1 - R, -1, device=W.device)
    singular = eigenvalues[top].clamp_min(0.0).sqrt()
    W = W[:, top].to(A.dtype)
    if gram_of_columns:
        components = (Q @ W).T
    else:
        # Right singular vectors are B^T w / s; normalising the rows instead of dividing
        # by s also copes with zero singular values.
        components = torch.nn.functional.normalize(W.T @ B, dim=1)
    return _finish(components, singular, total)


def _orthonormalise(Y: torch.Tensor) -> torch.Tensor:
    """An orthonormal basis of the columns of tall ``Y`` by Cholesky QR.

    ``Y^T Y = R^T R`` in float64, then ``Y R^-1``: two matrix products instead of a
    Householder QR, which is several times slower on a few CPU cores. Falls back to
    Householder QR if ``Y^T Y`` is not numerically positive definite.
    """
    Y64 = Y.double()
    R, info = torch.linalg.cholesky_ex(Y64.T @ Y64, upper=True)
    if int(info) != 0:
        return torch.linalg.qr(Y)[0]
    return torch.linalg.solve_triangular(R.to(Y.dtype), Y, upper=True, left=False)


def _finish(
    components: torch.Tensor, singular: torch.Tensor, total: float
) -> tuple[np.ndarray, np.ndarray]:
    """Fix each component's sign (largest-magnitude entry positive) and form the ratios."""
    largest = components.abs().argmax(dim=1)
    signs = torch.sign(components.gather(1, largest[:, None]))
    components = components * torch.where(signs == 0, 1.0, signs)
    variance = singular.double().cpu().numpy() ** 2
    evr = variance / total if total > 0 else np.zeros_like(variance)
    return components.contiguous().cpu().numpy(), evr


def ffn_components(
    weights: ModelWeights,
    R: int = 300,
    seed: int = 0,
    layers: Sequence[int] | None = None,
    device: str | torch.device | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Principal components of every layer's value vectors, one layer at a time.

    Parameters
    ----------
    weights
        From :func:`readalike.models.architectures.open_checkpoint`: each layer's value vectors
        are read from the checkpoint when its turn comes, so memory holds one layer.
    R, seed, device
        As in :func:`principal_components` (the same seed for every layer).
    layers
        Layer indices (default: all).

    Returns
    -------
    components : numpy.ndarray
        ``(n_selected_layers, R, hidden)`` float32.
    evr : numpy.ndarray
        ``(n_selected_layers, R)`` float64.
    """
    layers = range(weights.n_layers) if layers is None else layers
    components, ratios = [], []
    for layer in tqdm(layers, desc="FFN principal components", unit="layer"):
        values = weights.value_vectors(layer)
        comp, evr = principal_components(values, R=R, seed=seed, device=device)
        components.append(comp)
        ratios.append(evr)
        logger.debug("layer %d: top-%d components explain %.3f", layer, R, evr.sum())
    return np.stack(components), np.stack(ratios)


def top_words(
    components: torch.Tensor | np.ndarray,
    word_vecs: torch.Tensor | np.ndarray,
    words: Sequence[str],
    k: int = 50,
    chunk_rows: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """The vocabulary words each component points to most, by ``|component . word|``.

    Parameters
    ----------
    components
        ``(..., R, hidden)`` unit vectors (any leading shape, e.g. layers).
    word_vecs
        ``(n_words, hidden)`` word vectors, L2-normalised (the paper: mean of the
        sub-tokens' *output* embedding rows), so the score is a cosine.
    words
        ``n_words`` words in the rows' order.
    k
        Words per component (the paper: 50).
    chunk_rows
        Components scored at once; bounds the ``(chunk_rows, n_words)`` score block.

    Returns
    -------
    top : numpy.ndarray
        ``(..., R, k)`` object array of words, best first.
    scores : numpy.ndarray
        ``(..., R, k)`` float32 absolute cosines, non-increasing along the last axis.
    """
    comps = torch.as_tensor(components).float()
    E = torch.as_tensor(word_vecs).float().to(comps.device)
    if E.shape[0] != len(words):
        raise ValueError(f"{E.shape[0]} word vectors for {len(words)} words")
    k = min(k, len(words))
    flat = comps.reshape(-1, comps.shape[-1])
    indices, scores = [], []
    for start in range(0, flat.shape[0], chunk_rows):
        block = (flat[start : start + chunk_rows] @ E.T).abs()
        best = torch.topk(block, k, dim=1)
        indices.append(best.indices.cpu())
        scores.append(best.values.cpu())
    index = torch.cat(indices).numpy()
    word_array = np.asarray(words, dtype=object)
    shape = (*comps.shape[:-1], k)
    return word_array[index].reshape(shape), torch.cat(scores).numpy().reshape(shape)


def concept_table(
    components: np.ndarray,
    evr: np.ndarray,
    word_vecs: torch.Tensor | np.ndarray,
    words: Sequence[str],
    k: int = 50,
    layers: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Top words and labels of every component of every layer, as a tidy table.

    Parameters
    ----------
    components
        ``(n_layers, R, hidden)`` from :func:`ffn_components`.
    evr
        ``(n_layers, R)``.
    word_vecs, words, k
        As in :func:`top_words`.
    layers
        The model layer index of each row of ``components`` (default ``0..n_layers-1``).

    Returns
    -------
    pandas.DataFrame
        One row per (layer, component): ``layer``, ``component`` (0 = largest variance),
        ``evr``, ``top_words`` (space-separated, best first; vocabulary words hold no
        whitespace), ``task``, ``level``.
    """
    n_layers, R = evr.shape
    layers = np.arange(n_layers) if layers is None else np.asarray(layers)
    top, _ = top_words(components, word_vecs, words, k=k)
    labels = [label_component(row) for row in top.reshape(-1, top.shape[-1])]
    return pd.DataFrame(
        {
            "layer": np.repeat(layers, R),
            "component": np.tile(np.arange(R), n_layers),
            "evr": evr.reshape(-1),
            "top_words": [" ".join(row) for row in top.reshape(-1, top.shape[-1])],
            "task": [task for task, _ in labels],
            "level": [level for _, level in labels],
        }
    )
