"""Replication summary of Study A: the paper's headline comparisons from the resemblance table.

arXiv 2310.19084 reports, per model and measure, how much of the human saccade matrices a
layer's heads explain, and finds that models resemble non-native (L2) readers more than
native (L1) readers. This module condenses ``human_resemblance.tsv`` into those numbers, with
the held-out R^2 beside the in-sample R^2 the paper reports.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FITS = {"in_sample": "r2", "heldout": "r2_heldout"}


def replication_summary(resemblance: pd.DataFrame, reference_group: str) -> pd.DataFrame:
    """Mean and maximum R^2 per model, measure, group and fit, against a reference group.

    Parameters
    ----------
    resemblance : the ``human_resemblance.tsv`` table (model, group, measure, layer, r2,
        r2_heldout).
    reference_group : the group others are compared with (L1 in the paper).

    Returns
    -------
    DataFrame with columns model, measure, group, fit (``in_sample`` or ``heldout``),
    n_layers, mean_r2, max_r2, layer_of_max, reference_group, layers_above_reference
    (layers where this group's R^2 exceeds the reference group's), exceeds_reference_every_layer
    (True/False; empty for the reference group itself).
    """
    if reference_group not in set(resemblance["group"]):
        raise ValueError(
            f"reference group {reference_group!r} not in the resemblance table "
            f"(groups: {sorted(set(resemblance['group']))})"
        )
    # a group and measure without one R^2 would read "exceeds the reference at 0 layers"
    finite = pd.Series(np.isfinite(resemblance["r2"].to_numpy(dtype=np.float64)))
    keys = [resemblance[c].to_numpy() for c in ("model", "measure", "group")]
    for (model, measure, group), usable in finite.groupby(keys).any().items():
        if not usable:
            raise ValueError(
                f"human_resemblance.tsv: model {model} measure {measure} group {group}: no "
                "layer has an R^2 (the human values do not vary); no summary is made from it"
            )
    rows = []
    for (model, measure), part in resemblance.groupby(["model", "measure"], sort=False):
        wide = {
            fit: part.pivot(index="layer", columns="group", values=col) for fit, col in FITS.items()
        }
        for fit, table in wide.items():
            reference = table[reference_group].to_numpy()
            for group in table.columns:
                values = table[group].to_numpy()
                best = int(np.nanargmax(values)) if np.isfinite(values).any() else -1
                above = values > reference
                rows.append(
                    {
                        "model": model,
                        "measure": measure,
                        "group": group,
                        "fit": fit,
                        "n_layers": int(values.size),
                        "mean_r2": float(np.nanmean(values)),
                        "max_r2": float(values[best]) if best >= 0 else np.nan,
                        "layer_of_max": int(table.index[best]) if best >= 0 else -1,
                        "reference_group": reference_group,
                        "layers_above_reference": (
                            int(above.sum()) if group != reference_group else np.nan
                        ),
                        "exceeds_reference_every_layer": (
                            bool(above.all()) if group != reference_group else ""
                        ),
                    }
                )
    return pd.DataFrame(rows)
