"""Tests of readalike.study_a.inference: tests across readers, corrections, paired tests,
bootstrap.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from readalike.study_a import inference

# --------------------------------------------------------------------------- t-tests


def test_student_and_welch_hand_worked():
    # a = [1, 2, 3]: mean 2, s^2 = 1; b = [0, 1]: mean 0.5, s^2 = 0.5
    # Student: s_p^2 = (2 * 1 + 1 * 0.5) / 3 = 5/6; se = sqrt(5/6 * (1/3 + 1/2)) = 5/6;
    #          t = 1.5 / (5/6) = 1.8, df = 3
    # Welch:   se^2 = 1/3 + 1/4 = 7/12; t = 1.5 / sqrt(7/12) = 1.963961...
    #          df = (7/12)^2 / ((1/3)^2 / 2 + (1/4)^2 / 1) = (49/144) / (17/144) = 49/17
    student = inference.student_t_one_sided([1, 2, 3], [0, 1])
    welch = inference.welch_one_sided([1, 2, 3], [0, 1])
    assert student.statistic[0] == pytest.approx(1.8)
    assert student.p[0] == pytest.approx(stats.t.sf(1.8, 3))
    assert welch.statistic[0] == pytest.approx(1.5 / np.sqrt(7 / 12))
    assert welch.p[0] == pytest.approx(stats.t.sf(1.5 / np.sqrt(7 / 12), 49 / 17))
    assert (welch.n_a[0], welch.n_b[0], welch.mean_a[0], welch.mean_b[0]) == (3, 2, 2.0, 0.5)


@pytest.mark.parametrize(
    ("ours", "equal_var"),
    [
        pytest.param(inference.welch_one_sided, False, id="welch"),
        pytest.param(inference.student_t_one_sided, True, id="student"),
    ],
)
def test_t_tests_against_scipy_per_column_with_nan(ours, equal_var):
    rng = np.random.default_rng(3)
    a = rng.normal(0.4, 1.0, (25, 7))
    b = rng.normal(0.0, 1.5, (21, 7))
    a[[0, 3], 2] = np.nan  # two L2 readers without a value at layer 2
    b[5, 6] = np.nan
    result = ours(a, b)
    for j in range(7):
        aj, bj = a[~np.isnan(a[:, j]), j], b[~np.isnan(b[:, j]), j]
        ref = stats.ttest_ind(aj, bj, equal_var=equal_var, alternative="greater")
        assert result.statistic[j] == pytest.approx(ref.statistic, abs=1e-12)
        assert result.p[j] == pytest.approx(ref.pvalue, abs=1e-12)
        assert (result.n_a[j], result.n_b[j]) == (aj.size, bj.size)
    assert list(result.note) == [""] * 7


def test_t_test_too_few_values_gives_nan_and_note():
    a = np.array([[1.0, 2.0], [np.nan, 3.0], [np.nan, 4.0]])
    b = np.array([[0.0, 1.0], [1.0, 0.0]])
    result = inference.welch_one_sided(a, b)
    assert np.isnan(result.statistic[0]) and np.isnan(result.p[0])
    assert "1 and 2" in result.note[0]
    assert np.isfinite(result.p[1]) and result.note[1] == ""


def test_t_test_constant_samples_give_nan_and_note():
    result = inference.student_t_one_sided([1.0, 1.0, 1.0], [0.0, 0.0])
    assert np.isnan(result.p[0]) and result.note[0] == "both samples have no variance"


def test_existing_scalar_welch_agrees():
    # Study B's scalar version (it moved from attribution to instruction_focus)
    module = pytest.importorskip("readalike.study_b.instruction_focus")
    scalar_welch = module.welch_one_sided

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=9), rng.normal(size=12)
    t, p = scalar_welch(a, b)
    result = inference.welch_one_sided(a, b)
    assert result.statistic[0] == pytest.approx(t) and result.p[0] == pytest.approx(p)


# --------------------------------------------------------------------------- permutation test


def _exact_p(a, b) -> float:
    """One-sided exact p: share of all relabellings with a mean difference >= observed."""
    values = np.concatenate([a, b])
    observed = a.mean() - b.mean()
    diffs = []
    for chosen in itertools.combinations(range(values.size), a.size):
        in_a = np.zeros(values.size, bool)
        in_a[list(chosen)] = True
        diffs.append(values[in_a].mean() - values[~in_a].mean())
    return float(np.mean(np.array(diffs) >= observed - 1e-12))


def test_permutation_test_against_exact_enumeration():
    a = np.array([1.2, 3.4, 2.2, 5.0])
    b = np.array([0.5, 1.1, 2.0])
    exact = _exact_p(a, b)  # 35 relabellings
    scipy_exact = stats.permutation_test(
        (a, b),
        lambda x, y: np.mean(x) - np.mean(y),
        permutation_type="independent",
        alternative="greater",
        n_resamples=np.inf,
    ).pvalue
    assert scipy_exact == pytest.approx(exact)
    n = 100_000
    result = inference.permutation_test_mean_difference(a, b, n_permutations=n, seed=1)
    assert result.statistic[0] == pytest.approx(a.mean() - b.mean())
    assert abs(result.p[0] - exact) < 5 * np.sqrt(exact * (1 - exact) / n)
    # the +1 correction: p >= 1 / (1 + n) even when no relabelling reaches the observed
    extreme = inference.permutation_test_mean_difference([10, 11, 12], [0, 1, 2], 50, seed=0)
    assert extreme.p[0] >= 1 / 51


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
def test_permutation_test_against_scipy_within_monte_carlo_error(alternative):
    rng = np.random.default_rng(7)
    a = rng.normal(0.3, 1.0, (20, 5))
    b = rng.normal(0.0, 1.0, (22, 5))
    n = 20_000
    ours = inference.permutation_test_mean_difference(a, b, n, seed=0, alternative=alternative)
    ref = stats.permutation_test(
        (a, b),
        lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis),
        permutation_type="independent",
        alternative=alternative,
        n_resamples=n,
        vectorized=True,
        axis=0,
        rng=np.random.default_rng(99),
    )
    np.testing.assert_allclose(ours.statistic, ref.statistic, atol=1e-12)
    # two independent Monte Carlo estimates of the same p: difference within ~5 SE
    se = np.sqrt(2 * ref.pvalue * (1 - ref.pvalue) / n) * (2 if alternative == "two-sided" else 1)
    assert np.all(np.abs(ours.p - ref.pvalue) <= 5 * se + 2 / n)


def test_permutation_test_nan_columns_and_chunks():
    rng = np.random.default_rng(2)
    a = rng.normal(0.5, 1.0, (8, 3))
    b = rng.normal(0.0, 1.0, (9, 3))
    a[1, 1] = np.nan
    b[[0, 4], 2] = np.nan
    result = inference.permutation_test_mean_difference(a, b, 4000, seed=5)
    # a column with missing readers is the plain test on the readers it has
    for j in range(3):
        alone = inference.permutation_test_mean_difference(
            a[~np.isnan(a[:, j]), j], b[~np.isnan(b[:, j]), j], 4000, seed=5
        )
        assert result.p[j] == alone.p[0]
        assert result.statistic[j] == pytest.approx(alone.statistic[0])
    # the chunk size changes memory, not the draws
    small = inference.permutation_test_mean_difference(a, b, 4000, seed=5, chunk_size=333)
    np.testing.assert_array_equal(small.p, result.p)
    few = inference.permutation_test_mean_difference([[1.0]], [[0.0], [2.0]], 100)
    assert np.isnan(few.p[0]) and "at least 2" in few.note[0]


def test_permutation_test_bad_alternative():
    with pytest.raises(ValueError, match="alternative"):
        inference.permutation_test_mean_difference([1, 2], [3, 4], alternative="bigger")


# --------------------------------------------------------------------------- corrections


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04;
        # the running maximum makes the last 0.06
        pytest.param([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02], id="hand"),
        pytest.param(
            [0.01, np.nan, 0.04, 0.03, 0.005],
            [0.03, np.nan, 0.06, 0.06, 0.02],
            id="nan-not-counted",
        ),
        pytest.param([0.5, 0.6], [1.0, 1.0], id="capped"),
        pytest.param([0.02, 0.021], [0.04, 0.04], id="monotone"),
        pytest.param([np.nan, np.nan], [np.nan, np.nan], id="all-nan"),
    ],
)
def test_holm_hand_worked(p, expected):
    np.testing.assert_allclose(inference.holm(p), expected)


def test_holm_along_last_axis_and_bonferroni():
    p = np.array([[0.01, 0.04, 0.03, 0.005], [0.2, 0.01, np.nan, 0.3]])
    # second row: m = 3, sorted 0.01, 0.2, 0.3 -> 0.03, 0.4, 0.3 -> running max 0.03, 0.4, 0.4
    np.testing.assert_allclose(
        inference.holm(p), [[0.03, 0.06, 0.06, 0.02], [0.4, 0.03, np.nan, 0.4]]
    )
    np.testing.assert_allclose(
        inference.bonferroni([0.01, np.nan, 0.3, 0.6]), [0.03, np.nan, 0.9, 1.0]
    )


def test_holm_against_statsmodels_if_installed():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = np.random.default_rng(0).uniform(0, 0.1, 12)
    np.testing.assert_allclose(inference.holm(p), multitest.multipletests(p, method="holm")[1])


# --------------------------------------------------------------------------- paired tests


def test_paired_tests_against_scipy():
    rng = np.random.default_rng(4)
    x = rng.normal(0.3, 0.1, (15, 4))
    y = x - rng.normal(0.02, 0.05, (15, 4))
    x[2, 1] = np.nan
    y[7, 3] = np.nan
    results = inference.paired_tests(x, y)
    t, w = results["paired_t_two_sided"], results["wilcoxon_signed_rank_two_sided"]
    for j in range(4):
        keep = ~np.isnan(x[:, j]) & ~np.isnan(y[:, j])
        ref_t = stats.ttest_rel(x[keep, j], y[keep, j])
        ref_w = stats.wilcoxon(x[keep, j], y[keep, j])
        assert t.statistic[j] == pytest.approx(ref_t.statistic, abs=1e-12)
        assert t.p[j] == pytest.approx(ref_t.pvalue, abs=1e-12)
        assert w.statistic[j] == pytest.approx(ref_w.statistic)
        assert w.p[j] == pytest.approx(ref_w.pvalue)
        assert t.n_a[j] == keep.sum()
        assert t.mean_a[j] == pytest.approx(x[keep, j].mean())


def test_paired_tests_degenerate():
    same = inference.paired_tests([[1.0], [2.0], [3.0]], [[1.0], [2.0], [3.0]])
    assert np.isnan(same["wilcoxon_signed_rank_two_sided"].p[0])
    assert same["wilcoxon_signed_rank_two_sided"].note[0] == "every paired difference is 0"
    assert np.isnan(same["paired_t_two_sided"].p[0])
    one = inference.paired_tests([[1.0], [np.nan]], [[0.0], [1.0]])
    assert one["paired_t_two_sided"].note[0] == "1 readers with both values; at least 2 needed"
    with pytest.raises(ValueError, match="same readers"):
        inference.paired_tests([1.0, 2.0], [1.0, 2.0, 3.0])


# --------------------------------------------------------------------------- tables


def test_l2_vs_l1_tests_table():
    rng = np.random.default_rng(5)
    l2 = rng.normal(0.5, 0.05, (12, 3))
    l1 = rng.normal(0.3, 0.05, (10, 3))
    l2[:, 2] = rng.normal(0.3, 0.05, 12)  # no difference at layer 12
    table = inference.l2_vs_l1_tests(
        l2, l1, [10, 11, 12], model="m", measure="num", n_permutations=2000
    )
    assert list(table.columns) == inference.TEST_COLUMNS
    assert len(table) == 9
    assert set(table["test"]) == {
        "welch_t_one_sided",
        "permutation_mean_difference",
        "student_t_one_sided_authors",
    }
    welch = table[table["test"] == "welch_t_one_sided"]
    np.testing.assert_allclose(welch["p_corrected"], inference.holm(welch["p"]))
    assert list(welch["holds"]) == [True, True, False]
    student = table[table["test"] == "student_t_one_sided_authors"]
    assert set(student["correction"]) == {"bonferroni_authors"}
    np.testing.assert_allclose(student["p_corrected"], np.minimum(1, 3 * student["p"]))
    assert list(table["n_a"]) == [12] * 9 and list(table["layer"][:3]) == [10, 11, 12]


def test_l2_vs_l1_too_few_readers_is_nan_with_note():
    l2 = np.array([[0.5, 0.4], [0.6, np.nan], [0.7, np.nan]])
    l1 = np.array([[0.1, 0.2], [0.2, 0.3], [0.3, 0.1]])
    table = inference.l2_vs_l1_tests(l2, l1, [0, 1], model="m", measure="dur", n_permutations=99)
    layer1 = table[table["layer"] == 1]
    assert layer1["p"].isna().all() and not layer1["holds"].any()
    assert all("L2 has 1 readers" in note for note in layer1["note"])
    layer0 = table[table["layer"] == 0]
    assert layer0["p"].notna().all() and (layer0["note"] == "").all()
    # the NaN layer is not counted by the corrections
    welch0 = layer0[layer0["test"] == "welch_t_one_sided"]
    assert welch0["p_corrected"].iloc[0] == pytest.approx(welch0["p"].iloc[0])


def test_quarters_and_paired_model_tests():
    r2 = np.array([[1.0, 3.0, 5.0, np.nan], [2.0, 2.0, 2.0, 2.0]])
    # layers 0, 1 of 4 -> quarters 0, 1; layers 2, 3 -> quarters 2, 3
    np.testing.assert_allclose(
        inference.quarter_means(r2, [0, 1, 2, 3], 4), [[1, 3, 5, np.nan], [2, 2, 2, 2]]
    )
    # two layers per quarter averaged first: (1 + 3) / 2 = 2, (5 + NaN) -> 5
    np.testing.assert_allclose(
        inference.quarter_means(r2, [0, 1, 6, 7], 8),
        [[2, np.nan, np.nan, 5], [2, np.nan, np.nan, 2]],
    )
    rng = np.random.default_rng(6)
    big = rng.normal(0.4, 0.05, (9, 8))
    # the small model: each reader's big-model quarter mean, 0.05 lower, a little noise
    small = big.reshape(9, 4, 2).mean(axis=2) - 0.05 + rng.normal(0, 0.01, (9, 4))
    table = inference.paired_model_tests(
        big,
        small,
        range(8),
        range(4),
        8,
        4,
        model="big",
        model_b="small",
        measure="num",
        group="L1",
    )
    assert list(table.columns) == inference.PAIRED_COLUMNS
    assert len(table) == 8 and list(table["depth_quarter"][:4]) == [0, 1, 2, 3]
    first = table[(table["test"] == "paired_t_two_sided") & (table["depth_quarter"] == 0)].iloc[0]
    ref = stats.ttest_rel(big[:, :2].mean(axis=1), small[:, 0])
    assert first["p"] == pytest.approx(ref.pvalue) and first["n"] == 9
    assert table["holds"].all()
    # a model with layers only in the first half: only those quarters are compared
    half = inference.paired_model_tests(
        big[:, :4],
        small,
        range(4),
        range(4),
        8,
        4,
        model="a",
        model_b="b",
        measure="num",
        group="L1",
    )
    assert sorted(set(half["depth_quarter"])) == [0, 1]


def test_paired_model_tests_readers_must_match():
    with pytest.raises(ValueError, match="must be the same"):
        inference.paired_model_tests(
            np.ones((3, 4)), np.ones((4, 4)), range(4), range(4), 4, 4,
            model="a", model_b="b", measure="num", group="L1",
        )  # fmt: skip


# --------------------------------------------------------------------------- bootstrap


def _lstsq_r2(x: np.ndarray, y: np.ndarray) -> float:
    design = np.column_stack([np.ones(len(y)), x])
    beta = np.linalg.lstsq(design, y, rcond=None)[0]
    residual = y - design @ beta
    return 1 - residual @ residual / ((y - y.mean()) ** 2).sum()


def test_sentence_blocks_all_counts_one_equal_plain_ols():
    rng = np.random.default_rng(8)
    lengths = np.array([3, 6, 1, 10, 4, 6])
    sentence = rng.permutation(np.repeat(np.arange(6), lengths))  # any pair order
    x = rng.random((3, sentence.size, 4))
    x[2, :, 3] = x[2, :, 0] + x[2, :, 1]  # collinear heads in one layer
    y = rng.random((2, sentence.size))
    r2 = inference.sentence_blocks(x, y, sentence, 6).r2(np.ones((1, 6)))[0]
    for layer, target in itertools.product(range(3), range(2)):
        assert r2[layer, target] == pytest.approx(_lstsq_r2(x[layer], y[target]), abs=1e-10)
    # a draw is the plain fit on the drawn sentences, repeated as drawn
    counts = np.array([2, 0, 1, 3, 0, 1])
    rows = np.concatenate([np.flatnonzero(sentence == s) for s in np.repeat(np.arange(6), counts)])
    drawn = inference.sentence_blocks(x, y, sentence, 6).r2(counts[None])[0]
    assert drawn[1, 0] == pytest.approx(_lstsq_r2(x[1, rows], y[0, rows]), abs=1e-10)
    assert drawn[2, 1] == pytest.approx(_lstsq_r2(x[2, rows], y[1, rows]), abs=1e-10)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # sentence 0: x = 0, 1, 2 and y = 0, 1, 2; sentence 1: x = 0, 2 and y = 1, 1.
        # both once: mean x = mean y = 1; Sxy = 1 + 0 + 1 + 0 + 0 = 2, Sxx = 4, Syy = 2,
        # R^2 = Sxy^2 / (Sxx Syy) = 4 / 8
        pytest.param([1, 1], 0.5, id="both-once"),
        # sentence 0 twice: a perfect line
        pytest.param([2, 0], 1.0, id="first-twice"),
        # sentence 1 twice: means still 1; Sxy = 2, Sxx = 6, Syy = 2 -> 4 / 12
        pytest.param([1, 2], 1 / 3, id="second-twice"),
    ],
)
def test_sentence_blocks_two_sentences_by_hand(counts, expected):
    x = np.array([0.0, 1.0, 2.0, 0.0, 2.0])[None, :, None]
    y = np.array([0.0, 1.0, 2.0, 1.0, 1.0])[None]
    blocks = inference.sentence_blocks(x, y, np.array([0, 0, 0, 1, 1]), 2)
    assert blocks.r2(np.array([counts]))[0, 0, 0] == pytest.approx(expected, abs=1e-12)


def test_sentence_counts_keep_article_sizes():
    article = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    counts = inference.sentence_counts(article, 50, seed=3)
    for a, size in zip(range(3), (3, 2, 4), strict=True):
        assert (counts[:, article == a].sum(axis=1) == size).all()
    np.testing.assert_array_equal(counts, inference.sentence_counts(article, 50, seed=3))


def _synthetic(rng, n_sentences=40, signal=1.0):
    lengths = rng.integers(3, 12, n_sentences)
    sentence = np.repeat(np.arange(n_sentences), lengths)
    article = np.arange(n_sentences) // 8
    x = rng.random((2, sentence.size, 3))
    y = signal * x[0] @ np.array([1.0, -0.5, 0.3]) + rng.normal(0, 0.2, sentence.size)
    return x, y, sentence, article


def test_bootstrap_interval_contains_point_and_is_seeded():
    rng = np.random.default_rng(9)
    x, y, sentence, article = _synthetic(rng)
    result = inference.bootstrap_r2_interval(x, y, sentence, article, n_draws=1000, seed=4)
    assert result.r2.shape == result.low.shape == (2,) and result.draws.shape == (1000, 2)
    assert result.r2[0] == pytest.approx(_lstsq_r2(x[0], y), abs=1e-10)
    assert np.all((result.low <= result.r2) & (result.r2 <= result.high))
    assert result.high[0] - result.low[0] < 0.2
    again = inference.bootstrap_r2_interval(x, y, sentence, article, n_draws=1000, seed=4)
    np.testing.assert_array_equal(again.low, result.low)
    np.testing.assert_array_equal(again.high, result.high)
    other = inference.bootstrap_r2_interval(x, y, sentence, article, n_draws=1000, seed=5)
    assert not np.array_equal(other.draws, result.draws)
    # a small memory budget splits layers and draws into pieces, not the result
    pieces = inference.bootstrap_r2_interval(
        x, y, sentence, article, n_draws=1000, seed=4, memory_mb=0.01
    )
    np.testing.assert_allclose(pieces.draws, result.draws, atol=1e-12)


def test_bootstrap_several_targets_and_bad_input():
    rng = np.random.default_rng(10)
    x, y, sentence, article = _synthetic(rng)
    targets = np.stack([y, -y, rng.random(y.size)])
    result = inference.bootstrap_r2_interval(x, targets, sentence, article, n_draws=200)
    assert result.r2.shape == (2, 3) and result.draws.shape == (200, 2, 3)
    # R^2 is blind to the sign of the target
    np.testing.assert_allclose(result.draws[..., 0], result.draws[..., 1], atol=1e-10)
    bad = y.copy()
    bad[5] = np.nan
    with pytest.raises(ValueError, match=f"pair 5 \\(sentence {int(sentence[5])}\\)"):
        inference.bootstrap_r2_interval(x, bad, sentence, article, n_draws=10)
    with pytest.raises(ValueError, match="disagree"):
        inference.bootstrap_r2_interval(x, y[:-1], sentence, article, n_draws=10)


# --------------------------------------------------------------------------- long tables


def _reader_rows(rng, models=("small", "big"), depth=(4, 8)):
    import pandas as pd

    rows = []
    for model, n_layers in zip(models, depth, strict=True):
        for group, n_readers, shift in (("L1", 5, 0.0), ("L2", 6, 0.1)):
            for reader in range(n_readers):
                for layer in range(n_layers):
                    rows.append(
                        {
                            "model": model,
                            "group": group,
                            "measure": "num",
                            "layer": layer,
                            "reader": f"{group}-{reader}",
                            "r2": 0.2 + shift + 0.05 * (model == "big") + rng.normal(0, 0.01),
                        }
                    )
    return pd.DataFrame(rows)


def test_resemblance_tests_table_from_reader_rows():
    rng = np.random.default_rng(11)
    readers = _reader_rows(rng)
    table = inference.resemblance_tests_table(readers, n_permutations=500)
    assert list(table.columns) == inference.TEST_COLUMNS
    assert len(table) == 3 * (4 + 8)
    big = table[(table["model"] == "big") & (table["test"] == "welch_t_one_sided")]
    l2 = readers[(readers["model"] == "big") & (readers["group"] == "L2")]
    l1 = readers[(readers["model"] == "big") & (readers["group"] == "L1")]
    ref = inference.welch_one_sided(
        l2.pivot(index="reader", columns="layer", values="r2").to_numpy(),
        l1.pivot(index="reader", columns="layer", values="r2").to_numpy(),
    )
    np.testing.assert_allclose(big["p"], ref.p)
    assert big["holds"].all() and (big["n_a"] == 6).all() and (big["n_b"] == 5).all()
    twice = readers.copy()
    twice.loc[twice["reader"] == "L1-0", "reader"] = "L2-0"
    with pytest.raises(ValueError, match="reader L2-0 is in both groups L2 and L1"):
        inference.resemblance_tests_table(twice, n_permutations=10)


def test_model_comparison_table_from_reader_rows():
    rng = np.random.default_rng(12)
    readers = _reader_rows(rng)
    readers = readers[readers["reader"] != "L1-4"].copy()  # one reader fewer in L1
    table = inference.paired_model_tests_table(readers, [("small", "big")], {"small": 4, "big": 8})
    assert list(table.columns) == inference.PAIRED_COLUMNS
    assert len(table) == 2 * 2 * 4  # groups x tests x quarters
    assert (table["model"] == "small").all() and (table["model_b"] == "big").all()
    l1 = table[table["group"] == "L1"]
    assert (l1["n"] == 4).all()
    assert (table["mean_b"] > table["mean_a"]).all()
    assert table.loc[table["test"] == "paired_t_two_sided", "holds"].all()
    # every reader gains: the exact Wilcoxon p is its smallest, 2 / 2^n (n = 4 in L1, 6 in L2)
    wilcoxon = table[table["test"] == "wilcoxon_signed_rank_two_sided"]
    np.testing.assert_allclose(wilcoxon["p"], 2.0 / 2.0 ** wilcoxon["n"])


def test_resemblance_ci_table():
    rng = np.random.default_rng(13)
    x, y, sentence, article = _synthetic(rng)
    targets = np.stack([y, y + rng.normal(0, 0.5, y.size)])
    result = inference.bootstrap_r2_interval(x, targets, sentence, article, n_draws=100)
    table = inference.bootstrap_interval_rows(result, "m", [3, 7], [("L1", "num"), ("L2", "num")])
    assert list(table.columns) == inference.CI_COLUMNS
    assert list(table["layer"]) == [3, 3, 7, 7] and list(table["group"]) == ["L1", "L2"] * 2
    assert table["r2"].iloc[2] == pytest.approx(result.r2[1, 0])
    assert table["ci_high"].iloc[1] == pytest.approx(result.high[0, 1])
    assert (table["n_draws"] == 100).all()
    with pytest.raises(ValueError, match="3 targets named for 2"):
        inference.bootstrap_interval_rows(result, "m", [3, 7], [("L1", "a")] * 3)


def test_shuffled_control_by_hand_and_against_scipy():
    # 4 readers, 2 layers; layer 0: every reader beats its shuffle by 0.1, 0.2, 0.3, 0.2
    rows = []
    observed = np.array([[0.5, 0.1], [0.6, 0.2], [0.7, 0.1], [0.6, 0.3]])
    shuffled = np.array([[0.4, 0.2], [0.4, 0.1], [0.4, 0.2], [0.4, 0.2]])
    for r in range(4):
        for layer in range(2):
            rows.append(
                {
                    "model": "m",
                    "measure": "num",
                    "group": "L1",
                    "layer": layer,
                    "reader": f"r{r}",
                    "r2": observed[r, layer],
                    "r2_shuffled": shuffled[r, layer],
                }
            )
    table = inference.shuffled_control_tests_table(pd.DataFrame(rows))
    assert list(table.columns) == inference.TEST_COLUMNS
    assert list(table["test"].unique()) == ["paired_t_one_sided_above_shuffled"]
    # layer 0: d = 0.1, 0.2, 0.3, 0.2; mean 0.2, sd sqrt(0.02/3); t = 0.2 / (sd / 2)
    t0 = 0.2 / (np.sqrt(0.02 / 3) / 2)
    assert table["statistic"].iloc[0] == pytest.approx(t0)
    for layer in range(2):
        ref = stats.ttest_rel(observed[:, layer], shuffled[:, layer], alternative="greater")
        assert table["p"].iloc[layer] == pytest.approx(ref.pvalue)
    # Holm over the two layers of the group
    np.testing.assert_allclose(table["p_corrected"], inference.holm(table["p"].to_numpy()))
    assert bool(table["holds"].iloc[0]) and not bool(table["holds"].iloc[1])
    assert table["group_b"].iloc[0] == "L1 shuffled within sentences"


def test_shuffled_control_too_few_readers_is_nan_with_note():
    rows = [
        {
            "model": "m",
            "measure": "num",
            "group": "L1",
            "layer": 0,
            "reader": r,
            "r2": v,
            "r2_shuffled": 0.0,
        }
        for r, v in (("a", 0.3), ("b", 0.5))
    ]
    table = inference.shuffled_control_tests_table(pd.DataFrame(rows))
    assert np.isnan(table["p"].iloc[0]) and "needs at least 3" in table["note"].iloc[0]
