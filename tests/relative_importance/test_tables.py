"""Tests of readalike.relative_importance.tables: the long table and the peers' numbers."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from readalike.core.outputs import SYNTHETIC, read_tsv, write_tsv
from readalike.relative_importance import statistics as st
from readalike.relative_importance import tables as tb

WORDS = ["the", "house", "of", "cards,", "walked", "quickly", "to", "a", "strange", "town."]


@pytest.fixture(scope="module")
def corpus():
    """Six readers, 24 sentences in 3 texts, a model of 2 layers x 3 heads."""
    rng = np.random.default_rng(0)
    lengths = rng.integers(2, 10, 24)
    signal = [rng.random(n) for n in lengths]
    human = [np.clip(s + rng.normal(0, 0.3, (6, s.size)), 0, None) + 1e-3 for s in signal]
    human = [h / h.sum(axis=1, keepdims=True) for h in human]  # relative fixation
    human[4][2] = np.nan  # reader 2 skipped sentence 4
    model = [s + rng.normal(0, 0.5, (2, 3, s.size)) for s in signal]
    h, offsets = st.pack_sentences(human)
    m, _ = st.pack_sentences(model)
    words = [w for n in lengths for w in rng.choice(WORDS, n)]
    return {
        "human": h,
        "model": m,
        "offsets": offsets,
        "text": np.repeat([0, 1, 2], 8),
        "words": words,
    }


@pytest.fixture(scope="module")
def rows(corpus):
    return tb.model_rows(
        corpus["human"],
        {"attention": corpus["model"], "saliency": corpus["model"].mean(axis=1)},
        corpus["offsets"],
        corpus["text"],
        model="toy",
        corpus="demo",
        group="all",
        word_length=st.word_lengths(corpus["words"]).astype(float),
        zipf_frequency=st.zipf_frequencies(corpus["words"], "en"),
        synthetic=True,
        n_permutations=100,
        n_boot=100,
        mixedlm_max_sentences=10,
    )


def test_columns_and_statistic_names(rows):
    assert list(rows.columns) == tb.COLUMNS
    assert set(rows["statistic"]) <= set(tb.STATISTICS)
    assert (rows["provenance"] == SYNTHETIC).all()
    assert str(rows["layer"].dtype) == "Int64"
    assert rows["layer"].notna().all()  # both measures have layers


@pytest.mark.parametrize(
    ("measure", "statistic", "count"),
    [
        pytest.param("attention/head2", "spearman_mean", 2, id="head_rows_per_layer"),
        pytest.param("attention", "ols_r2_heldout", 2, id="ols_on_all_heads_per_layer"),
        pytest.param("attention/head_mean", "mixedlm_lr_p", 2, id="mixedlm_on_head_mean"),
        pytest.param("saliency", "permutation_p_holm", 2, id="layer_rows"),
        pytest.param("saliency", "mi_label_peers", 2, id="mi_rows"),
    ],
)
def test_row_layout(rows, measure, statistic, count):
    picked = rows[(rows["measure"] == measure) & (rows["statistic"] == statistic)]
    assert len(picked) == count
    assert list(picked["layer"]) == [0, 1]


def test_head_regression_rows_are_model_rows_regression(rows, corpus):
    alone = tb.head_regression_rows(
        corpus["human"],
        corpus["model"],
        corpus["offsets"],
        corpus["text"],
        model="toy",
        corpus="demo",
        group="all",
        synthetic=True,
    )
    assert list(alone.columns) == tb.COLUMNS
    assert sorted(set(alone["statistic"])) == ["ols_r2_heldout", "ols_r2_in_sample"]
    assert alone["measure"].eq("attention").all() and alone["layer"].tolist() == [0, 1] * 2
    within = rows[rows["statistic"].str.startswith("ols_r2") & (rows["measure"] == "attention")]
    pd.testing.assert_frame_equal(alone.reset_index(drop=True), within.reset_index(drop=True))
    # by hand: OLS of the group mean on the three heads of layer 0 with numpy's least squares
    mean = st.group_mean(corpus["human"], corpus["offsets"])
    x = np.column_stack([np.ones_like(mean), corpus["model"][0].T])
    beta = np.linalg.lstsq(x, mean, rcond=None)[0]
    r2 = 1 - ((mean - x @ beta) ** 2).sum() / ((mean - mean.mean()) ** 2).sum()
    first = alone.query("statistic == 'ols_r2_in_sample' and layer == 0")["value"].item()
    assert first == pytest.approx(r2)
    with pytest.raises(ValueError, match=r"attention must be \(layers, heads, n_words\)"):
        tb.head_regression_rows(
            corpus["human"],
            corpus["model"][0],
            corpus["offsets"],
            corpus["text"],
            model="toy",
            corpus="demo",
            group="all",
            synthetic=True,
        )


def test_values_are_the_statistics_functions(rows, corpus):
    h, m, offsets = corpus["human"], corpus["model"], corpus["offsets"]
    mean = st.group_mean(h, offsets)
    spearman = st.sentence_correlation(mean, m, offsets)
    picked = rows[rows["statistic"] == "spearman_mean"].set_index(["measure", "layer"])
    for layer in range(2):
        for head in range(3):
            row = picked.loc[(f"attention/head{head}", layer)]
            assert row["value"] == pytest.approx(spearman.mean()[0, layer, head])
            assert row["sentences"] == spearman.count()[0, layer, head]
            assert row["readers"] == 6
            assert row["interval_low"] <= row["value"] <= row["interval_high"]
    readers = st.sentence_correlation(h, m.mean(axis=1), offsets).mean()
    reader_rows = rows[(rows["statistic"] == "spearman_reader_mean") & (rows.measure == "saliency")]
    np.testing.assert_allclose(reader_rows["value"], readers.mean(axis=0))
    r2, heldout = st.ols_r2(mean, m, offsets, corpus["text"])
    ols = rows[(rows["statistic"] == "ols_r2_heldout") & (rows["measure"] == "attention")]
    np.testing.assert_allclose(ols["value"], heldout)
    mixed = rows[rows["statistic"] == "mixedlm_coef"]
    assert (mixed["sentences"] == 10).all()
    assert (
        (mixed["interval_low"] < mixed["value"]) & (mixed["value"] < mixed["interval_high"])
    ).all()


def test_measure_without_layers_has_empty_layer(corpus):
    table = tb.model_rows(
        corpus["human"],
        {"saliency": corpus["model"][1, 0]},
        corpus["offsets"],
        corpus["text"],
        model="toy",
        corpus="demo",
        group="all",
        synthetic=False,
        kendall=False,
        mutual_information=False,
        mixedlm=False,
        n_permutations=50,
        n_boot=50,
    )
    assert table["layer"].isna().all()
    assert (table["provenance"] == "real").all()
    assert set(table["statistic"]) == {
        "spearman_mean",
        "spearman_reader_mean",
        "permutation_mean",
        "permutation_p",
        "permutation_p_holm",
        "ols_r2_in_sample",
        "ols_r2_heldout",
    }


def test_mixedlm_needs_covariates(corpus):
    with pytest.raises(ValueError, match="word_length"):
        tb.model_rows(
            corpus["human"],
            {"saliency": corpus["model"][0, 0]},
            corpus["offsets"],
            corpus["text"],
            model="toy",
            corpus="demo",
            group="all",
            synthetic=True,
        )


def test_baseline_rows(corpus):
    table = tb.baseline_rows(
        corpus["human"],
        corpus["offsets"],
        corpus["text"],
        corpus["words"],
        "en",
        corpus="demo",
        group="all",
        synthetic=True,
        n_permutations=50,
        n_boot=50,
    )
    assert set(table["model"]) == {"baseline"}
    assert set(table["measure"]) == {"word_length", "word_rarity"}
    assert not table["statistic"].str.startswith("mixedlm").any()
    rarity = -st.zipf_frequencies(corpus["words"], "en")
    mean = st.group_mean(corpus["human"], corpus["offsets"])
    expected = st.sentence_correlation(mean, rarity, corpus["offsets"]).mean()[0]
    got = table.query("measure == 'word_rarity' and statistic == 'spearman_mean'")["value"]
    assert got.item() == pytest.approx(expected)


def test_noise_ceiling_row(corpus):
    table = tb.noise_ceiling_rows(
        corpus["human"],
        corpus["offsets"],
        corpus="demo",
        group="all",
        human_measure="relative_fixation",
        synthetic=True,
        n_boot=100,
    )
    assert list(table["statistic"]) == [
        "noise_ceiling",
        "split_half_reliability",
        "split_half_ceiling",
    ]
    assert list(table.columns) == tb.COLUMNS
    row = table.iloc[0]
    ceiling = st.noise_ceiling(corpus["human"], corpus["offsets"], n_boot=100)
    split = st.split_half_reliability(corpus["human"], corpus["offsets"])
    reliability, top = table.iloc[1], table.iloc[2]
    assert reliability["value"] == pytest.approx(split.value)
    assert top["value"] == pytest.approx(np.sqrt(max(split.value, 0.0)))
    assert top["interval_low"] <= top["value"] <= top["interval_high"]
    assert (row["model"], row["measure"], row["statistic"]) == (
        "human",
        "relative_fixation",
        "noise_ceiling",
    )
    assert row["value"] == pytest.approx(ceiling.value)
    assert row["readers"] == 6 and pd.isna(row["layer"])


def test_group_comparison_rows(corpus):
    h = corpus["human"]
    table = tb.group_comparison_rows(
        h[:3],
        h[3:],
        {"attention": corpus["model"]},
        corpus["offsets"],
        model="toy",
        corpus="demo",
        group_a="expert",
        group_b="beginner",
        synthetic=True,
        n_permutations=200,
    )
    assert set(table["group"]) == {"expert vs beginner"}
    assert (table["readers"] == 6).all()
    welch = table[table["statistic"] == "welch_p"]
    holm = table[table["statistic"] == "welch_p_holm"]
    assert len(welch) == 6  # 2 layers x 3 heads, one Holm family
    assert (holm["value"].to_numpy() >= welch["value"].to_numpy()).all()
    a = st.sentence_correlation(h[:3], corpus["model"], corpus["offsets"]).mean()
    b = st.sentence_correlation(h[3:], corpus["model"], corpus["offsets"]).mean()
    difference = table[table["statistic"] == "group_difference"]["value"]
    np.testing.assert_allclose(difference, (a.mean(axis=0) - b.mean(axis=0)).ravel())


def test_published_peers_table():
    table = tb.published_peers_table()
    assert list(table.columns) == tb.COLUMNS and len(table) == 12
    value = table.set_index(["corpus", "measure", "model"])["value"]
    assert value[("GECO", "saliency", "BERT")] == 0.54
    assert value[("GECO", "attention", "ALBERT")] == 0.26
    assert value[("ZuCo", "saliency", "DistilBERT")] == 0.64
    assert value[("ZuCo", "attention", "DistilBERT")] == 0.03
    assert table["provenance"].str.contains("Hollenstein and Beinborn").all()
    assert set(table["statistic"]) == {"spearman_mean"}


def test_table_round_trips_through_write_tsv(rows, tmp_path):
    path = tmp_path / "relative_importance.tsv"  # the registered table's name
    tb.write_relative_importance(rows, path)
    back = read_tsv(path)
    assert list(back.columns) == tb.COLUMNS
    assert len(back) == len(rows) and (back["provenance"] == SYNTHETIC).all()
    np.testing.assert_allclose(back["value"], rows["value"], rtol=1e-9)
    with pytest.raises(ValueError, match="registered table"):
        write_tsv(rows, path, synthetic=True)  # provenance is write_tsv's to add


def test_modules_import_without_torch():
    check = (
        "import sys\n"
        "import readalike.relative_importance.tables, readalike.relative_importance.statistics\n"
        "heavy = sorted(m for m in ('torch', 'transformers') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
