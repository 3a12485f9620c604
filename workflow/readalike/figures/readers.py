"""Figures of the per-reader analyses: bootstrap bands, ceilings, L2 vs L1, brain.

Every function takes the tidy tables of the workflow (as read from their TSV files, each
with its ``provenance`` column) and returns a :class:`matplotlib.figure.Figure`; nothing
here reads raw arrays or imports torch. :data:`READER_FIGURES` maps each figure's name to
its function and the names of the tables it reads, in the order of the arguments, so that
one rule per figure can pass ``tables/<name>.tsv`` files in that order.

Unlike the one-table figures of :mod:`readalike.figures.study_a`, these read several tables, so
each function stamps the figure itself (SYNTHETIC or MODIFIED across it) when any row of any
table it reads has that provenance: save them with
``figures.save_figure(fig, targets, synthetic=False)`` so the stamp is not drawn twice.

Colours are per reader group (the same in all three figures); in the brain figure line
styles tell in-sample, held-out, shuffled and ceiling apart. Lines carry a ``gid``
(``"r2:L1"``, ``"heldout:L1"``, ``"shuffled:L1"``, ``"ceiling:L1"``, ``"welch_holds"``) so
that tests and readers of the figure object can find them. ``reader_resemblance.tsv`` holds
the project's and the authors' definitions: the figures draw the project's rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from readalike.core.outputs import table_provenance  # noqa: E402
from readalike.figures.study_a import stamp  # noqa: E402

#: The columns of each registered table (:mod:`readalike.core.tables`) that the figures
#: read: a subset of the table's schema, so a figure draws from any table that has them.
_NEEDED = {
    "resemblance_ci": ["model", "group", "measure", "layer", "r2", "ci_low", "ci_high"],
    "noise_ceiling": ["group", "measure", "kind", "value"],
    "reader_resemblance": ["model", "group", "measure", "layer", "reader", "r2"],
    "resemblance_tests": ["model", "measure", "layer", "test", "group_a", "group_b", "holds"],
}


def empty_table(name: str) -> pd.DataFrame:
    """A table of no rows with the columns a figure reads (a run that does not make it)."""
    columns = [*_NEEDED[name], "provenance"]
    numeric = {"layer", "r2", "ci_low", "ci_high", "value"}
    return pd.DataFrame({c: pd.Series(dtype=float if c in numeric else object) for c in columns})


#: Prefix of the fMRI measures (``fmri_<region>``) in ``reader_resemblance.tsv``.
FMRI_PREFIX = "fmri_"
#: The test whose Holm-corrected rows mark layers in the L2-vs-L1 figure.
MARKED_TEST = "welch_t_one_sided"


# --------------------------------------------------------------------------- helpers


def _require(table: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    """One-line error naming the table and the columns it lacks."""
    missing = [c for c in [*columns, "provenance"] if c not in table.columns]
    if missing:
        raise ValueError(f"table {name}: missing column(s) {', '.join(missing)}")


def _stamp_if_synthetic(fig: plt.Figure, *tables: pd.DataFrame) -> plt.Figure:
    # a figure is synthetic as soon as one thing it shows rests on simulated readers, and
    # modified as soon as one rests on a modified copy of a release
    stamp(fig, table_provenance(*tables))
    return fig


def _project(reader_resemblance: pd.DataFrame) -> pd.DataFrame:
    """The project's rows: ``reader_resemblance.tsv`` also holds the authors' definition."""
    if "definition" not in reader_resemblance.columns:
        return reader_resemblance
    return reader_resemblance[reader_resemblance["definition"] == "project"]


def _order(values) -> list:
    return list(dict.fromkeys(values))


def group_colors(groups: Sequence[str]) -> dict[str, tuple]:
    """Colour of each reader group: tab10 in sorted order, so L1 and L2 keep theirs."""
    cmap = plt.get_cmap("tab10")
    return {g: cmap(i % 10) for i, g in enumerate(sorted(set(groups)))}


def _truthy(values: pd.Series) -> np.ndarray:
    """``holds`` as booleans whether pandas read it as bool or as the strings True/False."""
    if values.dtype == bool:
        return values.to_numpy()
    return values.astype(str).str.strip().str.lower().eq("true").to_numpy()


def _empty_figure(message: str, title: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(5.5, 3.0))
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    return fig


def _ceilings(noise_ceiling: pd.DataFrame, kind: str) -> dict[tuple[str, str], float]:
    """(group, measure) -> finite ceiling value of ``kind``."""
    rows = noise_ceiling[(noise_ceiling["kind"] == kind) & np.isfinite(noise_ceiling["value"])]
    keys = zip(rows["group"], rows["measure"], strict=True)
    return dict(zip(keys, rows["value"].astype(float), strict=True))


def reader_mean_se(reader_resemblance: pd.DataFrame, column: str = "r2") -> pd.DataFrame:
    """Mean per-reader R^2 and its standard error across readers, per model/group/measure/layer.

    Parameters
    ----------
    reader_resemblance : rows of ``reader_resemblance.tsv`` (one per reader and layer);
        a NaN value leaves that reader out of that layer only.
    column : the R^2 to summarise (``r2``, ``r2_heldout`` or ``r2_shuffled``).

    Returns
    -------
    pandas.DataFrame
        Columns ``model, group, measure, layer, mean, se, n``: ``n`` readers with a finite
        R^2, ``mean`` their mean, ``se = sd / sqrt(n)`` with the sample sd (ddof 1); NaN
        where ``n`` is 0 (mean) or below 2 (se).
    """
    keys = ["model", "group", "measure", "layer"]
    stats = (
        reader_resemblance.groupby(keys, sort=False)[column]
        .agg(["mean", "std", "count"])
        .reset_index()
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        se = stats["std"] / np.sqrt(stats["count"])
    return pd.DataFrame(
        {
            **{k: stats[k] for k in keys},
            "mean": stats["mean"].astype(float),
            "se": se.astype(float),
            "n": stats["count"].astype(np.int64),
        }
    ).sort_values(keys, kind="stable", ignore_index=True)


def _readers_per_group(reader_resemblance: pd.DataFrame) -> pd.Series:
    """(model, measure, group) -> readers with at least one finite R^2."""
    finite = reader_resemblance[np.isfinite(reader_resemblance["r2"])]
    return finite.groupby(["model", "measure", "group"])["reader"].nunique()


def _band(ax, x, low, high, color) -> None:
    ax.fill_between(x, low, high, color=color, alpha=0.22, lw=0)


def _finish(fig: plt.Figure, handles: list, title: str) -> None:
    """Title, one legend under it for all panels (so it never hides data), then layout."""
    height = fig.get_figheight()  # inches: the title and each legend row take a fixed height
    columns = min(len(handles), 3)
    rows = -(-len(handles) // columns)
    fig.suptitle(title, y=1 - 0.08 / height, va="top")
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.38 / height),
        ncol=columns,
        fontsize=7,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.15 + 0.15 * rows) / height))


# --------------------------------------------------------------------------- figures


def _ceiling_lines(ax, ceiling: dict, groups, measure: str, colors: dict) -> None:
    """Each group's ceiling of ``measure`` as a dashed line in the group's colour."""
    for group in groups:
        if (group, measure) in ceiling:
            ax.axhline(
                ceiling[group, measure], color=colors[group], ls="--", lw=1, gid=f"ceiling:{group}"
            )


def resemblance_ci_by_layer(
    resemblance_ci: pd.DataFrame, noise_ceiling: pd.DataFrame
) -> plt.Figure:
    """Group-mean R^2 by layer with its 95 % bootstrap band and the split-half ceiling.

    Rows = measures, columns = models. In each panel one line per reader group (colour by
    group) with the percentile interval ``ci_low .. ci_high`` shaded, and the group's
    ``split_half_spearman_brown`` ceiling of that measure as a dashed horizontal line in
    the group's colour where ``noise_ceiling`` has a finite one.

    Parameters
    ----------
    resemblance_ci : rows of ``resemblance_ci.tsv`` (model, group, measure, layer, r2,
        ci_low, ci_high, n_draws, provenance).
    noise_ceiling : rows of ``noise_ceiling.tsv`` (group, measure, kind, value, ...).
    """
    _require(resemblance_ci, "resemblance_ci", _NEEDED["resemblance_ci"])
    _require(noise_ceiling, "noise_ceiling", _NEEDED["noise_ceiling"])
    title = "Group-mean resemblance by layer, 95 % bootstrap band"
    if resemblance_ci.empty:
        fig = _empty_figure("no rows in resemblance_ci", title)
        return _stamp_if_synthetic(fig, resemblance_ci, noise_ceiling)
    table = resemblance_ci.sort_values(["model", "measure", "group", "layer"], kind="stable")
    measures = _order(resemblance_ci["measure"])
    models = _order(resemblance_ci["model"])
    groups = sorted(set(resemblance_ci["group"]))
    colors = group_colors(groups)
    ceiling = _ceilings(noise_ceiling, "split_half_spearman_brown")
    fig, axes = plt.subplots(
        len(measures),
        len(models),
        figsize=(max(6.0, 4.2 * len(models)), 2.8 * len(measures) + 0.6),
        squeeze=False,
    )
    panels = table.groupby(["measure", "model", "group"], sort=False)
    for (measure, model, group), rows in panels:
        ax = axes[measures.index(measure), models.index(model)]
        x = rows["layer"].to_numpy()
        ax.plot(x, rows["r2"], color=colors[group], lw=1.4, gid=f"r2:{group}")
        _band(ax, x, rows["ci_low"], rows["ci_high"], colors[group])
    for r, measure in enumerate(measures):
        for c, model in enumerate(models):
            ax = axes[r, c]
            _ceiling_lines(ax, ceiling, groups, measure, colors)
            ax.set_title(f"{model}, {measure}", fontsize=10)
            if c == 0:
                ax.set_ylabel("group-mean R$^2$")
            if r == len(measures) - 1:
                ax.set_xlabel("layer")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles = [Line2D([], [], color=colors[g], label=f"{g} readers") for g in groups]
    handles.append(Patch(color="grey", alpha=0.3, label="95 % bootstrap interval"))
    handles.append(Line2D([], [], color="grey", ls="--", label="split-half ceiling"))
    _finish(fig, handles, title)
    return _stamp_if_synthetic(fig, resemblance_ci, noise_ceiling)


def reader_resemblance_l2_vs_l1(
    reader_resemblance: pd.DataFrame,
    resemblance_tests: pd.DataFrame,
    noise_ceiling: pd.DataFrame,
) -> plt.Figure:
    """Mean per-reader R^2 by layer per group, ± 1 SE, ceilings and layers where L2 > L1.

    Rows = measures, columns = models. One line per group (mean in-sample R^2 over its
    readers) with a band of ± 1 standard error across readers; the group's
    ``leave_one_reader_out`` ceiling as a dashed line; a row of stars near the top of the
    panel at the layers where ``resemblance_tests`` has ``test == "welch_t_one_sided"``
    and ``holds`` (Holm-corrected over the layers of the model). Panel titles give the
    number of readers of each group.

    Parameters
    ----------
    reader_resemblance : rows of ``reader_resemblance.tsv``.
    resemblance_tests : rows of ``resemblance_tests.tsv``.
    noise_ceiling : rows of ``noise_ceiling.tsv``.
    """
    _require(reader_resemblance, "reader_resemblance", _NEEDED["reader_resemblance"])
    _require(resemblance_tests, "resemblance_tests", _NEEDED["resemblance_tests"])
    _require(noise_ceiling, "noise_ceiling", _NEEDED["noise_ceiling"])
    tables = (reader_resemblance, resemblance_tests, noise_ceiling)
    title = "Per-reader resemblance by layer, mean ± 1 SE across readers"
    reader_resemblance = _project(reader_resemblance)
    if reader_resemblance.empty:
        return _stamp_if_synthetic(_empty_figure("no rows in reader_resemblance", title), *tables)
    summary = reader_mean_se(reader_resemblance)
    n_readers = _readers_per_group(reader_resemblance)
    measures = _order(reader_resemblance["measure"])
    models = _order(reader_resemblance["model"])
    groups = sorted(set(reader_resemblance["group"]))
    colors = group_colors(groups)
    ceiling = _ceilings(noise_ceiling, "leave_one_reader_out")
    welch = resemblance_tests[resemblance_tests["test"] == MARKED_TEST]
    marked = welch[_truthy(welch["holds"])]
    # the direction tested, from the table (the workflow tests L2 > L1)
    pairs = _order(zip(welch["group_a"], welch["group_b"], strict=True))
    a, b = pairs[0] if len(pairs) == 1 else ("L2", "L1")
    star_label = f"Welch {a} > {b}, Holm p < 0.05"

    fig, axes = plt.subplots(
        len(measures),
        len(models),
        figsize=(max(6.0, 4.2 * len(models)), 3.0 * len(measures) + 0.6),
        squeeze=False,
    )
    for (measure, model, group), rows in summary.groupby(["measure", "model", "group"]):
        ax = axes[measures.index(measure), models.index(model)]
        x = rows["layer"].to_numpy()
        mean, se = rows["mean"].to_numpy(), rows["se"].to_numpy()
        ax.plot(x, mean, color=colors[group], lw=1.4, gid=f"r2:{group}")
        _band(ax, x, mean - se, mean + se, colors[group])
    for r, measure in enumerate(measures):
        for c, model in enumerate(models):
            ax = axes[r, c]
            _ceiling_lines(ax, ceiling, groups, measure, colors)
            low, high = ax.get_ylim()
            ax.set_ylim(low, high + 0.15 * (high - low))  # room for the stars
            here = marked[(marked["model"] == model) & (marked["measure"] == measure)]
            if not here.empty:
                layers = np.sort(here["layer"].to_numpy())
                ax.plot(
                    layers,
                    np.full(layers.size, 0.95),
                    ls="none",
                    marker="*",
                    ms=7,
                    color="black",
                    transform=ax.get_xaxis_transform(),  # x in layers, y in axes fraction
                    gid="welch_holds",
                )
            counts = ", ".join(
                f"{g} n={int(n_readers.get((model, measure, g), 0))}" for g in groups
            )
            ax.set_title(f"{model}, {measure}\n{counts} readers", fontsize=9)
            if c == 0:
                ax.set_ylabel("per-reader R$^2$")
            if r == len(measures) - 1:
                ax.set_xlabel("layer")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles = [Line2D([], [], color=colors[g], label=f"{g} readers (± 1 SE)") for g in groups]
    handles.append(Line2D([], [], color="grey", ls="--", label="leave-one-reader-out ceiling"))
    handles.append(Line2D([], [], color="black", ls="none", marker="*", label=star_label))
    _finish(fig, handles, title)
    return _stamp_if_synthetic(fig, *tables)


def brain_resemblance_by_layer(
    reader_resemblance: pd.DataFrame,
    noise_ceiling: pd.DataFrame | None = None,
    n_layers: Mapping[str, int] | None = None,
) -> plt.Figure:
    """Per-reader fMRI resemblance by relative depth, against its chance level and ceiling.

    Only measures ``fmri_<region>``; rows = regions, columns = models. The x axis is
    ``layer / (n_layers - 1)`` so that models of different depth share it. In each panel,
    per group (colour): the mean per-reader in-sample R^2 with a band of ± 1 standard
    error (solid), the mean held-out R^2 (held out by article, dashed), the mean in-sample
    R^2 of the same fit to the reader's values shuffled within sentences (dotted: the
    level an in-sample R^2 reaches by chance), and the group's ``leave_one_reader_out``
    ceiling (dash-dot). An in-sample curve means little until it clears the shuffled one;
    the held-out one says whether the fit carries to unseen articles. Only the project's
    rows are drawn (``definition == "project"`` where the table has that column).

    Parameters
    ----------
    reader_resemblance : rows of ``reader_resemblance.tsv``.
    noise_ceiling : rows of ``noise_ceiling.tsv``; None or empty: no ceiling.
    n_layers : depth of each model; a model not named is taken to end at its last layer
        in the table (give it for a copy that holds only the first layers, such as the
        release's LLaMA-30B, 30 of 60).

    Raises
    ------
    ValueError
        A layer at or beyond the ``n_layers`` given for its model.
    """
    _require(reader_resemblance, "reader_resemblance", _NEEDED["reader_resemblance"])
    if noise_ceiling is None:
        noise_ceiling = empty_table("noise_ceiling")
    _require(noise_ceiling, "noise_ceiling", _NEEDED["noise_ceiling"])
    tables = (reader_resemblance, noise_ceiling)
    title = "Brain resemblance by relative depth (per-reader fMRI)"
    readers = _project(reader_resemblance)
    brain = readers[readers["measure"].astype(str).str.startswith(FMRI_PREFIX)]
    if brain.empty:
        fig = _empty_figure(f"no fMRI measures ({FMRI_PREFIX}*) in these data", title)
        return _stamp_if_synthetic(fig, *tables)
    depth = brain.groupby("model")["layer"].max() + 1
    for model, n in (n_layers or {}).items():
        if model in depth.index:
            if depth[model] > n:
                raise ValueError(
                    f"reader_resemblance: model {model} has layer {int(depth[model]) - 1}, "
                    f"beyond its n_layers {int(n)}"
                )
            depth[model] = int(n)
    measures = _order(brain["measure"])
    models = _order(brain["model"])
    groups = sorted(set(brain["group"]))
    colors = group_colors(groups)
    ceiling = _ceilings(noise_ceiling, "leave_one_reader_out")
    # column -> (gid prefix, line style, width)
    curves = {
        "r2": ("r2", "-", 1.4),
        "r2_heldout": ("heldout", "--", 1.0),
        "r2_shuffled": ("shuffled", ":", 1.2),
    }
    fig, axes = plt.subplots(
        len(measures),
        len(models),
        figsize=(max(6.0, 4.2 * len(models)), 2.6 * len(measures) + 0.9),
        squeeze=False,
        sharex=True,
    )
    for column, (name, style, width) in curves.items():
        if column not in brain.columns:
            continue  # a table written before the held-out or shuffled fits existed
        summary = reader_mean_se(brain, column)
        summary["depth"] = summary["layer"] / np.maximum(summary["model"].map(depth) - 1, 1)
        for (measure, model, group), rows in summary.groupby(["measure", "model", "group"]):
            ax = axes[measures.index(measure), models.index(model)]
            x, mean = rows["depth"].to_numpy(), rows["mean"].to_numpy()
            ax.plot(x, mean, color=colors[group], ls=style, lw=width, gid=f"{name}:{group}")
            if column == "r2":
                se = rows["se"].to_numpy()
                _band(ax, x, mean - se, mean + se, colors[group])
    for r, measure in enumerate(measures):
        for c, model in enumerate(models):
            ax = axes[r, c]
            for group in groups:
                if (group, measure) in ceiling:
                    ax.axhline(
                        ceiling[group, measure],
                        color=colors[group],
                        ls="-.",
                        lw=1,
                        gid=f"ceiling:{group}",
                    )
            ax.axhline(0, color="grey", lw=0.5, zorder=0)
            ax.set_title(f"{measure[len(FMRI_PREFIX) :]}, {model}", fontsize=10)
            ax.set_xlim(0, 1)
            if c == 0:
                ax.set_ylabel("per-reader R$^2$")
            if r == len(measures) - 1:
                ax.set_xlabel("relative depth (layer / (layers - 1))")
    handles = [Line2D([], [], color=colors[g], label=f"{g} readers (± 1 SE)") for g in groups]
    handles += [
        Line2D([], [], color="grey", ls="--", label="held out by article"),
        Line2D([], [], color="grey", ls=":", label="shuffled within sentences (chance)"),
        Line2D([], [], color="grey", ls="-.", label="leave-one-reader-out ceiling"),
    ]
    _finish(fig, handles, title)
    return _stamp_if_synthetic(fig, *tables)


#: figure name -> (function, names of the tables it reads, in the order of its arguments).
READER_FIGURES: dict[str, tuple[Callable[..., plt.Figure], list[str]]] = {
    "resemblance_ci_by_layer": (resemblance_ci_by_layer, ["resemblance_ci", "noise_ceiling"]),
    "reader_resemblance_l2_vs_l1": (
        reader_resemblance_l2_vs_l1,
        ["reader_resemblance", "resemblance_tests", "noise_ceiling"],
    ),
    "brain_resemblance_by_layer": (
        brain_resemblance_by_layer,
        ["reader_resemblance", "noise_ceiling"],
    ),
}
