"""Figures of Study B (arXiv 2310.00492), drawn from the tidy tables and attribution records.

Each function returns a matplotlib Figure; the workflow saves it with
:func:`readalike.figures.study_a.save_figure` (PNG and PDF, atomic, SYNTHETIC stamp for the demo).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from readalike.core.formats import PromptAttribution  # noqa: E402
from readalike.study_b.instruction_focus import ALL_SOURCES, SOURCES, discretise  # noqa: E402
from readalike.study_b.instruction_tokens import piece_bytes  # noqa: E402

#: Colour of instruction tokens in the heat map's labels and margin.
INSTRUCTION_COLOR = "tab:red"
#: More token labels than this are thinned out so that they stay legible.
MAX_LABELS = 120


def _token_label(token: str) -> str:
    """A token as readable text: ``▁`` -> space, byte pieces decoded, newline shown as ``\\n``."""
    text = piece_bytes(token).decode("utf-8", "replace")
    return text.replace("\n", "\\n").replace("\t", "\\t") or token


def _label_every(n: int) -> int:
    return max(1, int(np.ceil(n / MAX_LABELS)))


def attribution_heatmap_figure(
    record_base: PromptAttribution, record_tuned: PromptAttribution
) -> plt.Figure:
    """One prompt's importance for a base and a tuned model, side by side.

    Each matrix is discretised with ``L = 10, b = 0`` (the paper's heat-map form: every
    positive level kept); prompt tokens run down the y axis, response tokens along x.
    Instruction tokens have red labels and a red bar in the left margin.

    Parameters
    ----------
    record_base, record_tuned
        The same prompt (same ID and prompt tokens) answered by the two models.
    """
    if record_base.prompt_id != record_tuned.prompt_id:
        raise ValueError(
            f"heat map of two prompts: {record_base.prompt_id!r} and {record_tuned.prompt_id!r}"
        )
    records = (record_base, record_tuned)
    n_prompt = len(record_base.prompt_tokens)
    widest = max(len(r.response_tokens) for r in records)
    fig, axes = plt.subplots(
        1,
        2,
        figsize=(min(24, 3 + 2 * (2 + 0.16 * widest)), min(30, 2.5 + 0.16 * n_prompt)),
        squeeze=False,
        layout="constrained",
        gridspec_kw={"width_ratios": [max(1, len(r.response_tokens)) for r in records]},
    )
    image = None
    for ax, record in zip(axes[0], records, strict=True):
        levels = discretise(record.importance, L=10, b=0)
        image = ax.imshow(levels, aspect="auto", cmap="viridis", vmin=0, vmax=10)
        n_rows, n_cols = levels.shape
        rows = np.arange(0, n_rows, _label_every(n_rows))
        cols = np.arange(0, n_cols, _label_every(n_cols))
        ax.set_yticks(rows, [_token_label(record.prompt_tokens[i]) for i in rows], fontsize=6)
        ax.set_xticks(
            cols, [_token_label(record.response_tokens[j]) for j in cols], fontsize=6, rotation=90
        )
        for label, i in zip(ax.get_yticklabels(), rows, strict=True):
            if record.instruction_mask[i]:
                label.set_color(INSTRUCTION_COLOR)
        # a margin bar marks every instruction row, also those whose label was thinned out
        marked = np.flatnonzero(record.instruction_mask)
        ax.scatter(
            np.full(len(marked), -0.9),
            marked,
            marker="s",
            s=8,
            color=INSTRUCTION_COLOR,
            clip_on=False,
        )
        ax.set_xlim(-1.2, n_cols - 0.5)
        ax.set_title(f"{record.model}", fontsize=10)
        ax.set_xlabel("response token")
    axes[0, 0].set_ylabel("prompt token (red: instruction)")
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.6, label="importance level (L=10, b=0)")
    fig.suptitle(f"Input-output attribution of {record_base.prompt_id} ({record_base.source})")
    return fig


def _source_order(present) -> list[str]:
    known = [s for s in (*SOURCES.values(), ALL_SOURCES) if s in set(present)]
    return known + sorted(set(present) - set(known))


def instruction_scores_figure(scores: pd.DataFrame) -> plt.Figure:
    """Instruction scores per source, one box (and its points) per model.

    Parameters
    ----------
    scores
        ``model``, ``source``, ``score``
        (:func:`readalike.study_b.instruction_focus.attribution_scores_table` of several models,
        concatenated).
    """
    models = list(dict.fromkeys(scores["model"]))
    sources = _source_order(scores["source"].unique())
    cmap = plt.get_cmap("tab10")
    width = 0.8 / max(1, len(models))
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(sources) * max(1, len(models)) / 2, 3.8))
    rng = np.random.default_rng(0)  # fixed jitter: reruns draw the same figure
    for m, model in enumerate(models):
        color = cmap(m % 10)
        positions = np.arange(len(sources)) + (m - (len(models) - 1) / 2) * width
        data = [
            scores.loc[(scores["model"] == model) & (scores["source"] == s), "score"].to_numpy()
            for s in sources
        ]
        kept = [(p, d) for p, d in zip(positions, data, strict=True) if d.size]
        if kept:
            box = ax.boxplot(
                [d for _, d in kept],
                positions=[p for p, _ in kept],
                widths=width * 0.8,
                patch_artist=True,
                showfliers=False,
                manage_ticks=False,
            )
            for patch in box["boxes"]:
                patch.set(facecolor=(*color[:3], 0.25), edgecolor=color)
            for key in ("medians", "whiskers", "caps"):
                for line in box[key]:
                    line.set_color(color)
        for p, d in kept:
            jitter = rng.uniform(-width * 0.25, width * 0.25, d.size)
            ax.scatter(p + jitter, d, s=9, color=color, alpha=0.7, linewidths=0)
        ax.plot([], [], "s", color=color, label=model)
    ax.set_xticks(np.arange(len(sources)), sources)
    ax.set_ylabel("instruction score")
    ax.set_title("Attribution to the instruction, by prompt source")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def concept_shares_figure(shift_table: pd.DataFrame) -> plt.Figure:
    """Shares of tasks and linguistic levels per depth quarter, base and tuned bars stacked.

    Parameters
    ----------
    shift_table
        :func:`readalike.study_b.concept_labels.concept_shift_table`: one row of panels per model
        pair.
    """
    pairs = shift_table[["model_base", "model_tuned"]].drop_duplicates()
    dimensions = [d for d in ("task", "level") if d in set(shift_table["dimension"])]
    quarters = sorted(shift_table["depth_quarter"].unique())
    fig, axes = plt.subplots(
        len(pairs),
        len(dimensions),
        figsize=(5 * len(dimensions), 3.8 * len(pairs)),
        squeeze=False,
    )
    x = np.arange(len(quarters))
    panels = [
        (axes[r, c], base, tuned, dimension)
        for r, (base, tuned) in enumerate(pairs.itertuples(index=False))
        for c, dimension in enumerate(dimensions)
    ]
    for ax, base, tuned, dimension in panels:
        of_pair = (shift_table["model_base"] == base) & (shift_table["model_tuned"] == tuned)
        part = shift_table[of_pair & (shift_table["dimension"] == dimension)]
        categories = list(dict.fromkeys(part["category"]))
        cmap = plt.get_cmap("tab10")
        for offset, column, hatch in ((-0.2, "share_base", ""), (0.2, "share_tuned", "//")):
            wide = part.pivot(index="depth_quarter", columns="category", values=column)
            wide = wide.reindex(index=quarters, columns=categories)
            # a quarter without any explainable component has no shares (NaN): say so
            for xi in x[wide.isna().all(axis=1).to_numpy()]:
                ax.text(xi + offset, 0.02, "none\nexpl.", ha="center", fontsize=6, color="grey")
            wide = wide.fillna(0.0)
            bottom = np.zeros(len(quarters))
            for c, category in enumerate(categories):
                values = wide[category].to_numpy()
                ax.bar(
                    x + offset,
                    values,
                    0.38,
                    bottom=bottom,
                    color=cmap(c % 10),
                    hatch=hatch,
                    edgecolor="white",
                    label=category if column == "share_base" else None,
                )
                bottom += values
        ax.set_xticks(x, [f"Q{q + 1}\nbase | tuned" for q in quarters], fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel(f"share of explainable components ({dimension})")
        ax.set_title(f"{dimension}: {base} (left), {tuned} (right, hatched)", fontsize=9)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle("Feed-forward concepts by depth quarter (shallow to deep)")
    fig.tight_layout()
    return fig


def verb_relations_figure(table: pd.DataFrame) -> plt.Figure:
    """Fraction of changed heads that gained verb pairs, per depth quarter and verb list.

    Parameters
    ----------
    table
        :func:`readalike.study_b.verb_relations.verb_relations_table` (one or more model pairs,
        one panel
        each); the Welch ``p`` of each quarter is written above its bars.
    """
    pairs = list(dict.fromkeys(zip(table["model_base"], table["model_tuned"], strict=True)))
    fig, axes = plt.subplots(
        1, max(1, len(pairs)), figsize=(4.8 * max(1, len(pairs)), 3.6), squeeze=False
    )
    lists = list(dict.fromkeys(table["verb_list"]))
    cmap = plt.get_cmap("tab10")
    for ax, (base, tuned) in zip(axes[0], pairs, strict=False):
        part = table[(table["model_base"] == base) & (table["model_tuned"] == tuned)]
        quarters = sorted(part["depth_quarter"].unique())
        x = np.arange(len(quarters))
        width = 0.8 / max(1, len(lists))
        for i, name in enumerate(lists):
            rows = part[part["verb_list"] == name].set_index("depth_quarter").reindex(quarters)
            positions = x + (i - (len(lists) - 1) / 2) * width
            heights = rows["fraction_gained"].fillna(0.0).to_numpy()
            ax.bar(positions, heights, width, color=cmap(i % 10), label=f"{name} verbs")
            # how many verbs each mean rests on (0: no head changed for any verb of the list)
            for xp, height, n in zip(positions, heights, rows["n_verbs"].fillna(0), strict=True):
                ax.text(xp, height + 0.01, f"n={int(n)}", ha="center", fontsize=6)
        for xi, quarter in zip(x, quarters, strict=True):
            p = part.loc[part["depth_quarter"] == quarter, "p"].iloc[0]
            ax.text(xi, 1.06, "p=n/a" if pd.isna(p) else f"p={p:.2g}", ha="center", fontsize=7)
        ax.axhline(0.5, color="grey", lw=0.6, ls="--")
        ax.set_xticks(x, [f"Q{q + 1}" for q in quarters])
        ax.set_ylim(0, 1.14)
        ax.set_xlabel("depth quarter")
        ax.set_title(f"{base} -> {tuned}", fontsize=9)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axes[0, 0].set_ylabel("fraction of changed heads\nthat gained pairs (mean over verbs)")
    fig.suptitle("Verb relations of attention heads after tuning")
    fig.tight_layout()
    return fig
