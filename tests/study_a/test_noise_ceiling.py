"""Tests of readalike.study_a.noise_ceiling: leave-one-out, inclusive and split-half ceilings."""

from __future__ import annotations

import numpy as np
import pytest

from readalike.study_a import noise_ceiling as nc

# Three readers, four pairs, worked by hand.
#
# Leave one reader out (R^2 of one regressor with intercept = squared correlation):
#   reader 0 = [1, 2, 3, 4]; others' mean (R1 + R2) / 2 = [1, 2, 3, 4]: a perfect line, R^2 = 1.
#   reader 1 = [2, 2, 4, 4]; others' mean (R0 + R2) / 2 = [0.5, 2, 2.5, 4].
#       centred: [-1, -1, 1, 1] and [-1.75, -0.25, 0.25, 1.75] (mean 2.25)
#       Sxy = 1.75 + 0.25 + 0.25 + 1.75 = 4, Sxx = 4, Syy = 2 * 3.0625 + 2 * 0.0625 = 6.25
#       R^2 = 16 / (4 * 6.25) = 0.64
#   reader 2 = [0, 2, 2, 4]; others' mean (R0 + R1) / 2 = [1.5, 2, 3.5, 4].
#       centred: [-2, 0, 0, 2] and [-1.25, -0.75, 0.75, 1.25] (mean 2.75)
#       Sxy = 2.5 + 2.5 = 5, Sxx = 8, Syy = 2 * 1.5625 + 2 * 0.5625 = 4.25
#       R^2 = 25 / (8 * 4.25) = 25 / 34
#   mean = (1 + 0.64 + 25/34) / 3 = 0.79176...
#
# Authors' inclusive: the mean of all three is [1, 2, 3, 4] (centred [-1.5, -0.5, 0.5, 1.5],
# sum of squares 5):
#   reader 0: R^2 = 1; reader 1: Sxy = 1.5 + 0.5 + 0.5 + 1.5 = 4, R^2 = 16 / (4 * 5) = 0.8;
#   reader 2: Sxy = 3 + 3 = 6, R^2 = 36 / (8 * 5) = 0.9; mean 0.9 > 0.79: inflated.
#
# Split halves of 3 readers are one reader against the other two, so the half correlation
# of each split is the leave-one-out correlation of the lone reader: r = 1, 0.8 or
# sqrt(25/34); Spearman-Brown 2r / (1 + r) = 1, 1.6 / 1.8 or 2r / (1 + r) with r = 0.857493.
HAND = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 4.0, 4.0], [0.0, 2.0, 2.0, 4.0]])
LOO = np.array([1.0, 0.64, 25 / 34])
INCLUSIVE = np.array([1.0, 0.8, 0.9])


def _spearman_brown(r):
    return 2 * r / (1 + r)


def test_leave_one_out_hand_worked():
    ceiling = nc.leave_one_out_ceiling(HAND, n_boot=500, seed=0)
    np.testing.assert_allclose(ceiling.samples, LOO)
    assert ceiling.value == pytest.approx(LOO.mean())
    assert ceiling.kind == "leave_one_reader_out" and ceiling.n_readers == 3
    assert LOO.min() <= ceiling.interval_low <= ceiling.value <= ceiling.interval_high <= 1
    assert ceiling.note == ""


def test_inclusive_hand_worked_and_inflated():
    ceiling = nc.inclusive_ceiling(HAND, n_boot=500, seed=0)
    np.testing.assert_allclose(ceiling.samples, INCLUSIVE)
    assert ceiling.value == pytest.approx(0.9)
    assert ceiling.value > nc.leave_one_out_ceiling(HAND).value


def test_split_half_hand_worked():
    ceiling = nc.split_half_ceiling(HAND, n_splits=300, seed=1)
    expected = _spearman_brown(np.sqrt(np.array([1.0, 0.64, 25 / 34])))
    # every split is one of the three, and with 300 splits each appears
    distance = np.abs(ceiling.samples[:, None] - expected[None, :]).min(axis=1)
    assert distance.max() < 1e-12
    nearest = np.abs(ceiling.samples[:, None] - expected[None, :]).argmin(axis=1)
    assert set(nearest) == {0, 1, 2}
    assert ceiling.value == pytest.approx(ceiling.samples.mean())
    assert ceiling.interval_low == pytest.approx(np.percentile(ceiling.samples, 2.5))
    again = nc.split_half_ceiling(HAND, n_splits=300, seed=1)
    np.testing.assert_array_equal(again.samples, ceiling.samples)
    chunked = nc.split_half_ceiling(HAND, n_splits=300, seed=1, chunk_size=7)
    np.testing.assert_array_equal(chunked.samples, ceiling.samples)


def test_split_half_complete_data_shortcut_equals_pairwise_path():
    # complete data takes the reader-covariance shortcut; one extra pair that nobody has
    # sends the same data through the per-pair path, where that pair drops out
    rng = np.random.default_rng(4)
    y = rng.random(50) + rng.normal(0, 0.4, (9, 50))
    shortcut = nc.split_half_ceiling(y, n_splits=50, seed=2)
    pairwise = nc.split_half_ceiling(np.column_stack([y, np.full(9, np.nan)]), 50, seed=2)
    np.testing.assert_allclose(shortcut.samples, pairwise.samples, atol=1e-12)
    # and the first split by hand: correlation of the two half-means with numpy
    order = np.random.default_rng(2).permuted(np.tile(np.arange(9), (50, 1)), axis=1)[0]
    half_a, half_b = y[order[:4]].mean(axis=0), y[order[4:]].mean(axis=0)
    r = np.corrcoef(half_a, half_b)[0, 1]
    assert shortcut.samples[0] == pytest.approx(2 * r / (1 + r), abs=1e-12)


def _lstsq_r2(x, y):
    design = np.column_stack([np.ones(len(y)), x])
    beta = np.linalg.lstsq(design, y, rcond=None)[0]
    residual = y - design @ beta
    return 1 - residual @ residual / ((y - y.mean()) ** 2).sum()


def _readers_with_gaps(rng, n_readers=7, n_pairs=60):
    signal = rng.random(n_pairs)
    y = signal + rng.normal(0, 0.3, (n_readers, n_pairs))
    y[0, :10] = np.nan  # reader 0 did not read the first sentence
    y[3, 25:40] = np.nan
    y[1:, 50:55] = np.nan  # only reader 0 has these pairs: no other reader to compare with
    return y


@pytest.mark.parametrize("include_self", [False, True], ids=["leave-one-out", "inclusive"])
def test_per_reader_against_lstsq_loop_with_missing_readers(include_self):
    y = _readers_with_gaps(np.random.default_rng(0))
    ceiling = (nc.inclusive_ceiling if include_self else nc.leave_one_out_ceiling)(y)
    for reader in range(y.shape[0]):
        others = np.delete(y, reader, axis=0)
        n_others = (~np.isnan(others)).sum(axis=0)
        pairs = ~np.isnan(y[reader]) & (n_others >= 1)
        pool = y if include_self else others
        predictor = np.nanmean(pool[:, pairs], axis=0)
        expected = _lstsq_r2(predictor, y[reader, pairs])
        assert ceiling.samples[reader] == pytest.approx(expected, abs=1e-10)


def test_split_half_recovers_known_reliability():
    # readers = shared signal (variance 1) + own noise (variance 4): a mean of 20 readers has
    # reliability 1 / (1 + 4 / 20) = 0.8333
    rng = np.random.default_rng(2)
    y = rng.normal(0, 1, 4000) + rng.normal(0, 2, (20, 4000))
    ceiling = nc.split_half_ceiling(y, n_splits=200, seed=0)
    assert ceiling.value == pytest.approx(1 / (1 + 4 / 20), abs=0.02)
    assert ceiling.interval_low < ceiling.value < ceiling.interval_high


def test_too_few_readers_is_nan_with_note():
    table = nc.noise_ceiling_table(HAND[:2], "L1", "num")
    assert table["value"].isna().all() and (table["n_readers"] == 2).all()
    assert all("2 readers; a noise ceiling needs at least 3" in n for n in table["note"])


def test_reader_without_values_is_left_out_and_noted():
    y = np.vstack([HAND, np.full(4, np.nan)])
    ceiling = nc.leave_one_out_ceiling(y)
    np.testing.assert_allclose(ceiling.samples, LOO)
    assert ceiling.n_readers == 3 and "readers without any value left out: 3" in ceiling.note
    with pytest.raises(ValueError, match="infinite for reader 1 at pair 2"):
        nc.leave_one_out_ceiling(np.where(np.arange(12).reshape(3, 4) == 6, np.inf, HAND))


def test_table_rows():
    y = _readers_with_gaps(np.random.default_rng(3))
    table = nc.noise_ceiling_table(y, "L2", "dur", n_boot=200, n_splits=100)
    assert list(table.columns) == nc.CEILING_COLUMNS
    assert list(table["kind"]) == [
        "leave_one_reader_out",
        "authors_inclusive",
        "split_half_spearman_brown",
    ]
    assert (table["group"] == "L2").all() and (table["n_readers"] == 7).all()
    loo, inclusive = table["value"].iloc[0], table["value"].iloc[1]
    assert 0 < loo < inclusive < 1
    assert (table["interval_low"] <= table["value"]).all()
    assert (table["value"] <= table["interval_high"]).all()
