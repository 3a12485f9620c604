"""Figures of the relative-importance comparison, from ``relative_importance.tsv`` (no torch).

Every score is drawn against the ceiling of the *same* statistic (:data:`PANELS`):

* ``spearman_reader_mean`` (each reader's mean rho over sentences, averaged over readers)
  against ``noise_ceiling`` (each reader against the mean of the others, the same
  per-reader statistic);
* ``spearman_mean`` (the peers' score: the group mean against the model) against
  ``split_half_ceiling`` (the square root of the split-half Spearman-Brown reliability of
  the group mean).

Drawing the group-mean score against the per-reader ceiling (as a first version did)
lets word length pass the "ceiling" on ZuCo: the group mean is less noisy than one reader.

:func:`plot_by_measure`: one row per statistic, one panel per corpus (group ``all``): bars
per model measure with their intervals (a layered measure at its best layer, an
optimistic choice the label says), lines for the ceiling, the word-length and
word-rarity baselines of the same statistic and, for the group mean, the permutation
mean. :func:`plot_by_layer`: the per-reader layer profiles with the per-reader ceiling.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from readalike.figures.study_a import save_figure  # noqa: E402,F401

#: (score statistic, its ceiling statistic, axis label, ceiling label), one figure row each
PANELS = (
    (
        "spearman_reader_mean",
        "noise_ceiling",
        "per-reader rho (mean over readers)",
        "ceiling: leave one reader out",
    ),
    (
        "spearman_mean",
        "split_half_ceiling",
        "group-mean rho (mean over sentences)",
        "ceiling: split-half, sqrt(Spearman-Brown)",
    ),
)

#: reference rows of the table: not model measures
REFERENCE_MODELS = ("baseline", "human")


def _corpora(table: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(table["corpus"]))


def _grid(n_rows: int, n_cols: int):
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4.6 * n_cols, 3.9 * n_rows), squeeze=False)
    return fig, axes


def reference_value(table: pd.DataFrame, corpus: str, model: str, measure: str | None, stat: str):
    """The value of one reference row (group ``all``), NaN if absent."""
    rows = table[
        (table["corpus"] == corpus)
        & (table["group"] == "all")
        & (table["model"] == model)
        & (table["statistic"] == stat)
    ]
    if measure is not None:
        rows = rows[rows["measure"] == measure]
    return float(rows["value"].iloc[0]) if len(rows) else np.nan


def best_units(table: pd.DataFrame, corpus: str, statistic: str) -> pd.DataFrame:
    """Each model measure's row at its best layer (group ``all``), in model, measure order."""
    rows = table[
        (table["corpus"] == corpus)
        & (table["group"] == "all")
        & (table["statistic"] == statistic)
        & ~table["model"].isin(REFERENCE_MODELS)
        & table["value"].notna()
    ]
    if rows.empty:
        return rows
    best = rows.loc[rows.groupby(["model", "measure"], sort=False)["value"].idxmax()]
    return best.sort_values(["model", "measure"], kind="stable")


def _bars(ax, best: pd.DataFrame) -> None:
    models = list(dict.fromkeys(best["model"]))
    measures = sorted(dict.fromkeys(best["measure"]))
    width = 0.8 / max(len(models), 1)
    for k, model in enumerate(models):
        part = best[best["model"] == model].set_index("measure").reindex(measures)
        x = np.arange(len(measures)) + k * width
        err = np.vstack(
            [part["value"] - part["interval_low"], part["interval_high"] - part["value"]]
        )
        ax.bar(x, part["value"], width, yerr=np.abs(np.nan_to_num(err)), label=model, capsize=2)
    layered = set(best.loc[best["layer"].notna(), "measure"])
    labels = [f"{m} (best layer)" if m in layered else m for m in measures]
    ax.set_xticks(np.arange(len(measures)) + 0.4 - width / 2, labels, rotation=60, ha="right")


def plot_by_measure(table: pd.DataFrame) -> plt.Figure:
    """Rows: :data:`PANELS`; columns: corpora. Bars per model measure, lines for references."""
    corpora = _corpora(table)
    fig, axes = _grid(len(PANELS), max(len(corpora), 1))
    for row, (statistic, ceiling, ylabel, ceiling_label) in enumerate(PANELS):
        for ax, corpus in zip(axes[row], corpora, strict=False):
            best = best_units(table, corpus, statistic)
            if len(best):
                _bars(ax, best)
            lines = {
                ceiling_label: reference_value(table, corpus, "human", None, ceiling),
                "word length": reference_value(table, corpus, "baseline", "word_length", statistic),
                "word rarity": reference_value(table, corpus, "baseline", "word_rarity", statistic),
            }
            if statistic == "spearman_mean":
                lines["permutation"] = reference_value(
                    table, corpus, "baseline", "word_length", "permutation_mean"
                )
            for (name, value), style in zip(lines.items(), ["-", "--", ":", "-."], strict=False):
                if np.isfinite(value):
                    ax.axhline(value, color="k", ls=style, lw=1, label=name)
            ax.set_title(f"{corpus}: {statistic}", fontsize="medium")
            ax.set_ylabel(ylabel)
            low, high = ax.get_ylim()
            ax.set_ylim(low, high + 0.5 * (high - low))  # room for the legend above the lines
            ax.legend(fontsize="xx-small", loc="upper left", ncol=2)
    fig.tight_layout()
    return fig


def plot_by_layer(table: pd.DataFrame) -> plt.Figure:
    """One panel per corpus: ``spearman_reader_mean`` per layer of every layered measure and
    model, with the leave-one-reader-out ceiling of the same statistic."""
    statistic, ceiling, ylabel, ceiling_label = PANELS[0]
    means = table[(table["statistic"] == statistic) & (table["group"] == "all")]
    layered = means[means["layer"].notna() & ~means["measure"].str.contains("/")]
    corpora = _corpora(table)
    fig, axes = _grid(1, max(len(corpora), 1))
    for ax, corpus in zip(axes[0], corpora, strict=False):
        part = layered[layered["corpus"] == corpus]
        for (model, measure), rows in part.groupby(["model", "measure"], sort=True):
            rows = rows.sort_values("layer")
            layer = rows["layer"].astype(float)
            ax.plot(layer, rows["value"], marker="o", ms=3, label=f"{model} {measure}")
            ax.fill_between(layer, rows["interval_low"], rows["interval_high"], alpha=0.15)
        value = reference_value(table, corpus, "human", None, ceiling)
        if np.isfinite(value):
            ax.axhline(value, color="k", lw=1, label=ceiling_label)
        ax.set_title(corpus)
        ax.set_xlabel("layer")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize="xx-small")
    fig.tight_layout()
    return fig
