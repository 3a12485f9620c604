"""Figures of the workflow, drawn from the tidy tables (never from raw arrays).

Every figure is saved as PNG and PDF through :func:`save_figure` (atomic); a figure built
on simulated readers or toy models carries a large SYNTHETIC stamp.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from readalike.core.outputs import MODIFIED, SYNTHETIC, atomic_path, provenance  # noqa: E402

STAMP = "SYNTHETIC: simulated readers, toy models"
MODIFIED_STAMP = "MODIFIED: a released file differs from its pinned manifest"


def stamp_synthetic(fig: plt.Figure, word: str = "SYNTHETIC", note: str = STAMP) -> None:
    """Write SYNTHETIC (or ``word``) across the figure so it cannot be mistaken for a result."""
    fig.text(
        0.5,
        0.5,
        word,
        fontsize=60,
        color="red",
        alpha=0.18,
        ha="center",
        va="center",
        rotation=25,
        zorder=100,
    )
    fig.text(0.99, 0.005, note, fontsize=8, color="red", ha="right", va="bottom")


def stamp(fig: plt.Figure, synthetic: bool | str) -> None:
    """Stamp ``fig`` as its data's provenance says: SYNTHETIC, MODIFIED, or nothing if real."""
    found = provenance(synthetic)
    if found == SYNTHETIC:
        stamp_synthetic(fig)
    elif found == MODIFIED:
        stamp_synthetic(fig, "MODIFIED", MODIFIED_STAMP)


def save_figure(
    fig: plt.Figure, targets: Sequence[str | os.PathLike], synthetic: bool | str
) -> None:
    """Save ``fig`` to each target (format from the suffix), atomically, then close it.

    ``synthetic``: the run's flag or a provenance stamp (:func:`stamp`).
    """
    stamp(fig, synthetic)
    for target in targets:
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=os.path.splitext(str(target))[1][1:], dpi=150)
    plt.close(fig)


def _model_colors(models: Sequence[str]) -> dict[str, tuple]:
    cmap = plt.get_cmap("tab10")
    return {m: cmap(i % 10) for i, m in enumerate(models)}


def resemblance_figure(table: pd.DataFrame) -> plt.Figure:
    """R^2 per layer: rows = measures, columns = reader groups (L1 and L2 side by side).

    Solid lines are in-sample R^2 (as the paper reports), dashed lines held-out R^2.
    """
    measures = list(dict.fromkeys(table["measure"]))
    groups = list(dict.fromkeys(table["group"]))
    colors = _model_colors(list(dict.fromkeys(table["model"])))
    fig, axes = plt.subplots(
        len(measures),
        len(groups),
        figsize=(4.2 * len(groups), 2.8 * len(measures)),
        sharex=True,
        squeeze=False,
    )
    for r, measure in enumerate(measures):
        for c, group in enumerate(groups):
            ax = axes[r, c]
            part = table[(table["measure"] == measure) & (table["group"] == group)]
            for model, rows in part.groupby("model", sort=False):
                ax.plot(rows["layer"], rows["r2"], color=colors[model], label=model)
                ax.plot(rows["layer"], rows["r2_heldout"], color=colors[model], ls="--", lw=1)
            ax.axhline(0, color="grey", lw=0.5)
            ax.set_title(f"{group} readers, {measure}", fontsize=10)
            if c == 0:
                ax.set_ylabel("R$^2$")
            if r == len(measures) - 1:
                ax.set_xlabel("layer")
    axes[0, -1].legend(fontsize=7, title="solid: in-sample\ndashed: held-out", title_fontsize=7)
    fig.suptitle("Human resemblance of each layer's attention")
    fig.tight_layout()
    return fig


def trivial_reliance_figure(table: pd.DataFrame) -> plt.Figure:
    """Mean over heads of the R^2 on the trivial patterns (self, previous, first word)."""
    colors = _model_colors(list(dict.fromkeys(table["model"])))
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for model, rows in table.groupby("model", sort=False):
        ax.plot(rows["layer"], rows["r2"], marker="o", ms=3, color=colors[model], label=model)
    ax.set_xlabel("layer")
    ax.set_ylabel("R$^2$ on trivial patterns\n(mean over heads)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    ax.set_title("Reliance on trivial patterns")
    fig.tight_layout()
    return fig


def instruction_sensitivity_figure(table: pd.DataFrame) -> plt.Figure:
    """Row-wise JS per layer: instruction vs plain, and control vs plain."""
    colors = _model_colors(list(dict.fromkeys(table["model"])))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
    for ax, column, title in zip(
        axes,
        ("js_instruction", "js_control"),
        ("instruction vs plain", "control prefix vs plain"),
        strict=True,
    ):
        for model, rows in table.groupby("model", sort=False):
            if rows[column].notna().any():
                ax.plot(
                    rows["layer"], rows[column], marker="o", ms=3, color=colors[model], label=model
                )
        if not table[column].notna().any():
            ax.text(
                0.5,
                0.5,
                "no such condition\nin these data",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="grey",
            )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("layer")
    axes[0].set_ylabel("JS divergence (nats)")
    axes[0].legend(fontsize=7)
    fig.suptitle("Instruction sensitivity")
    fig.tight_layout()
    return fig


def divergence_figure(table: pd.DataFrame) -> plt.Figure:
    """Grouped bars: JS between compared models for each quarter of the depth."""
    conditions = list(dict.fromkeys(table["condition"]))
    labels = list(
        dict.fromkeys(
            f"{k}: {a} vs {b}"
            for k, a, b in zip(table["comparison"], table["model_a"], table["model_b"], strict=True)
        )
    )
    fig, axes = plt.subplots(
        1, len(conditions), figsize=(4.5 * len(conditions), 3.6), sharey=True, squeeze=False
    )
    width = 0.8 / max(1, len(labels))
    cmap = plt.get_cmap("tab10")
    for ax, condition in zip(axes[0], conditions, strict=True):
        subset = table[table["condition"] == condition]
        for i, label in enumerate(labels):
            kind, models = label.split(": ", 1)
            a, b = models.split(" vs ")
            rows = subset[
                (subset["comparison"] == kind) & (subset["model_a"] == a) & (subset["model_b"] == b)
            ]
            ax.bar(
                rows["depth_quarter"] + (i - (len(labels) - 1) / 2) * width,
                rows["js"],
                width,
                color=cmap(i % 10),
                label=label,
            )
        ax.set_xticks(np.arange(4), ["1st", "2nd", "3rd", "4th"])
        ax.set_xlabel("quarter of the depth")
        ax.set_title(f"condition: {condition}", fontsize=10)
    axes[0, 0].set_ylabel("JS divergence (nats)")
    axes[0, -1].legend(fontsize=7)
    # the kinds the table holds: across_families is neither scaling nor tuning
    kinds = list(dict.fromkeys(table["comparison"]))
    fig.suptitle(f"Attention divergence: {', '.join(k.replace('_', ' ') for k in kinds)}")
    fig.tight_layout()
    return fig


def replication_figure(table: pd.DataFrame) -> plt.Figure:
    """Mean and best-layer R^2 per measure for each reader group, in-sample and held-out."""
    models = list(dict.fromkeys(table["model"]))
    fits = ["in_sample", "heldout"]
    groups = list(dict.fromkeys(table["group"]))
    fig, axes = plt.subplots(
        len(models), 2, figsize=(10, 3.4 * len(models)), squeeze=False, sharey="row"
    )
    cmap = plt.get_cmap("tab10")
    width = 0.8 / (2 * len(groups))
    for r, model in enumerate(models):
        for c, fit in enumerate(fits):
            ax = axes[r, c]
            part = table[(table["model"] == model) & (table["fit"] == fit)]
            measures = list(dict.fromkeys(part["measure"]))
            x = np.arange(len(measures))
            for g, group in enumerate(groups):
                rows = part[part["group"] == group].set_index("measure").loc[measures]
                offset = (2 * g - len(groups) + 0.5) * width
                ax.bar(
                    x + offset,
                    rows["mean_r2"],
                    width,
                    color=cmap(g),
                    alpha=0.55,
                    label=f"{group} mean over layers",
                )
                ax.bar(
                    x + offset + width,
                    rows["max_r2"],
                    width,
                    color=cmap(g),
                    label=f"{group} best layer",
                )
            ax.set_xticks(x, measures, fontsize=8)
            ax.axhline(0, color="grey", lw=0.5)
            ax.set_title(f"{model}: {fit.replace('_', '-')} R$^2$", fontsize=10)
        axes[r, 0].set_ylabel("R$^2$")
    axes[0, -1].legend(fontsize=7)
    fig.suptitle("Replication: resemblance to native (L1) and non-native (L2) readers")
    fig.tight_layout()
    return fig
