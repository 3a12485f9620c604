"""Depth quarters: how models of different depth are compared layer group by layer group.

Every table that groups layers by depth (Study A divergence, Study B concept shares and
verb relations, per-reader model comparisons) uses :func:`depth_quarter` and calls the
column ``depth_quarter``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

N_QUARTERS = 4


def depth_quarter(
    layers: np.ndarray | Sequence[int], n_layers: int, n_quarters: int = N_QUARTERS
) -> np.ndarray:
    """Quarter of the depth of each layer: ``floor(n_quarters * layer / n_layers)``.

    32 layers: 0-7, 8-15, 16-23, 24-31; 30 layers: 0-7, 8-14, 15-22, 23-29. With fewer
    layers than quarters some quarters are empty and simply absent.

    Parameters
    ----------
    layers
        Layer indices, any shape, each in ``0..n_layers-1``.
    n_layers
        Depth of the model.
    n_quarters
        Number of equal parts (4 unless a caller says otherwise).

    Returns
    -------
    numpy.ndarray
        Same shape as ``layers``, int64 in ``0..n_quarters-1``.
    """
    layers = np.asarray(layers, dtype=np.int64)
    if layers.size and (layers.min() < 0 or layers.max() >= n_layers):
        raise ValueError(
            f"layer indices must lie in 0..{n_layers - 1}, got {int(layers.min())}.."
            f"{int(layers.max())}"
        )
    return (n_quarters * layers) // n_layers
