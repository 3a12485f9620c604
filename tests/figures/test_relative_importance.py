"""Tests of readalike.figures.relative_importance: drawn from a small hand-made table."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from readalike.figures import relative_importance as fr
from readalike.relative_importance.tables import COLUMNS


def _row(model, corpus, measure, statistic, value, layer=pd.NA, group="all"):
    return {
        "model": model,
        "corpus": corpus,
        "group": group,
        "measure": measure,
        "layer": layer,
        "statistic": statistic,
        "value": value,
        "interval_low": value - 0.05,
        "interval_high": value + 0.05,
        "sentences": 10,
        "readers": 5,
        "provenance": "real",
    }


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rows = []
    for corpus, shift in (("geco", 0.0), ("zuco1_nr", 0.1)):
        for statistic, scale in (("spearman_mean", 1.0), ("spearman_reader_mean", 0.5)):
            rows += [
                _row("m", corpus, "saliency", statistic, (0.4 + shift) * scale),
                _row("m", corpus, "rollout", statistic, (0.1 + shift) * scale, layer=0),
                _row("m", corpus, "rollout", statistic, (0.3 + shift) * scale, layer=1),
                _row("baseline", corpus, "word_length", statistic, 0.5 * scale),
                _row("baseline", corpus, "word_rarity", statistic, 0.2 * scale),
            ]
        rows += [
            _row("baseline", corpus, "word_length", "permutation_mean", 0.0),
            _row("human", corpus, "relfix", "noise_ceiling", 0.3),
            _row("human", corpus, "relfix", "split_half_reliability", 0.81),
            _row("human", corpus, "relfix", "split_half_ceiling", 0.9),
            # another group must not enter the drawing
            _row("m", corpus, "saliency", "spearman_mean", 0.99, group="expert"),
        ]
    frame = pd.DataFrame(rows)[COLUMNS]
    frame["layer"] = frame["layer"].astype("Int64")
    return frame


def test_best_units_take_each_measure_at_its_best_layer(table):
    best = fr.best_units(table, "geco", "spearman_mean")
    assert list(best["measure"]) == ["rollout", "saliency"]
    assert best.set_index("measure")["value"].to_dict() == pytest.approx(
        {"rollout": 0.3, "saliency": 0.4}
    )
    assert best.set_index("measure")["layer"]["rollout"] == 1


def test_reference_value(table):
    assert fr.reference_value(table, "geco", "human", None, "noise_ceiling") == 0.3
    assert fr.reference_value(table, "geco", "human", None, "split_half_ceiling") == 0.9
    value = fr.reference_value(table, "zuco1_nr", "baseline", "word_length", "spearman_mean")
    assert value == 0.5
    assert np.isnan(fr.reference_value(table, "rsc", "human", None, "noise_ceiling"))


def _lines(ax) -> dict[str, float]:
    return {line.get_label(): line.get_ydata()[0] for line in ax.get_lines()}


def test_by_measure_draws_each_score_against_its_own_ceiling(table):
    fig = fr.plot_by_measure(table)
    axes = np.array(fig.axes).reshape(2, 2)  # rows: PANELS; columns: corpora
    per_reader, group_mean = axes[0, 0], axes[1, 0]
    assert "spearman_reader_mean" in per_reader.get_title()
    assert "spearman_mean" in group_mean.get_title()
    # the per-reader row: bars halved, the leave-one-out ceiling, no permutation line
    heights = sorted(p.get_height() for p in per_reader.patches)
    assert heights == pytest.approx([0.15, 0.2])
    lines = _lines(per_reader)
    assert lines["ceiling: leave one reader out"] == pytest.approx(0.3)
    assert lines["word length"] == pytest.approx(0.25) and "permutation" not in lines
    # the group-mean row: the split-half ceiling, baselines of the same statistic
    lines = _lines(group_mean)
    assert lines["ceiling: split-half, sqrt(Spearman-Brown)"] == pytest.approx(0.9)
    assert lines["word length"] == pytest.approx(0.5) and lines["permutation"] == 0.0
    labels = [t.get_text() for t in group_mean.get_xticklabels()]
    assert labels == ["rollout (best layer)", "saliency"]
    plt.close(fig)


def test_by_layer_draws_per_reader_profiles(table):
    fig = fr.plot_by_layer(table)
    ax = fig.axes[0]
    profile = [line for line in ax.get_lines() if line.get_label() == "m rollout"]
    assert len(profile) == 1
    np.testing.assert_allclose(profile[0].get_ydata(), [0.05, 0.15])
    assert _lines(ax)["ceiling: leave one reader out"] == pytest.approx(0.3)
    plt.close(fig)


def test_empty_corpus_panel_does_not_fail(table):
    only_references = table[table["model"].isin(["baseline", "human"])]
    fig = fr.plot_by_measure(only_references)
    assert len(fig.axes) == 4
    plt.close(fig)
