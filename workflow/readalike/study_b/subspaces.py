"""How much of a layer's concept subspace survived tuning: principal angles (Study B).

Not in the paper (arXiv 2310.00492): a single number per layer for the feed-forward
components of :mod:`readalike.study_b.ffn_concepts`, independent of the order and sign of the
components. Needs no torch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from readalike.core.tables import columns as table_columns

#: Columns of :func:`subspace_similarity_table`.
SUBSPACE_COLUMNS = table_columns("subspace_similarity")


def subspace_similarity(
    components_base: np.ndarray, components_tuned: np.ndarray
) -> float | np.ndarray:
    """Mean cosine of the principal angles between two component subspaces.

    1 = the same subspace, 0 = orthogonal subspaces.

    Parameters
    ----------
    components_base
        ``(..., R_a, hidden)``: rows span the subspace (need not be orthonormal).
    components_tuned
        ``(..., R_b, hidden)`` with the same leading shape (e.g. layers).

    Returns
    -------
    float or numpy.ndarray
        The mean over the ``min(R_a, R_b)`` principal angles; an array of the leading
        shape when there is one. Computed in float64, all layers in one batched call.
    """
    a = np.asarray(components_base, dtype=np.float64)
    b = np.asarray(components_tuned, dtype=np.float64)
    qa, _ = np.linalg.qr(np.swapaxes(a, -1, -2))
    qb, _ = np.linalg.qr(np.swapaxes(b, -1, -2))
    # The singular values of Qa^T Qb are the cosines of the principal angles.
    cosines = np.clip(np.linalg.svd(np.swapaxes(qa, -1, -2) @ qb, compute_uv=False), 0.0, 1.0)
    mean = cosines.mean(axis=-1)
    return float(mean) if mean.ndim == 0 else mean


def subspace_similarity_table(
    components_base: np.ndarray,
    components_tuned: np.ndarray,
    model_base: str,
    model_tuned: str,
) -> pd.DataFrame:
    """Mean cosine of the principal angles between each layer's component subspaces.

    Parameters
    ----------
    components_base, components_tuned
        ``(n_layers, R, hidden)`` (:func:`readalike.core.formats.read_components`).

    Returns
    -------
    pandas.DataFrame
        :data:`SUBSPACE_COLUMNS`, one row per layer; 1 = the same subspace.
    """
    a, b = np.asarray(components_base), np.asarray(components_tuned)
    if a.ndim != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[2]:
        raise ValueError(
            f"components of {model_base!r} {a.shape} and {model_tuned!r} {b.shape} do not "
            "match in layers and hidden size"
        )
    similarity = np.atleast_1d(subspace_similarity(a, b))
    return pd.DataFrame(
        {
            "model_base": model_base,
            "model_tuned": model_tuned,
            "layer": np.arange(a.shape[0]),
            "mean_cosine_principal_angles": similarity,
        }
    )[SUBSPACE_COLUMNS]
