import numpy as np
import pytest

from readalike.core.pairs import pair_index
from readalike.study_a.resemblance import layer_resemblance, regression_r2, shuffle_within_sentences


def test_r2_by_hand_one_regressor_two_articles():
    # x = 0 1 2 3, y = 1 2 2 4: slope Sxy/Sxx = 4.5/5 = 0.9, SST = 4.75, SSR = 0.9*4.5 = 4.05,
    # R^2 = 4.05/4.75. Held out: fit on (2,2),(3,4) -> y = 2x - 2 predicts -2, 0 for y = 1, 2
    # (SSE 9 + 4); fit on (0,1),(1,2) -> y = x + 1 predicts 3, 4 for y = 2, 4 (SSE 1 + 0);
    # pooled R^2 = 1 - 14/4.75.
    x = np.array([[[0.0], [1.0], [2.0], [3.0]]])
    y = np.array([1.0, 2.0, 2.0, 4.0])
    r2, r2_out = regression_r2(x, y, np.array([0, 2, 4]))
    assert r2[0] == pytest.approx(4.05 / 4.75, abs=1e-12)
    assert r2_out[0] == pytest.approx(1 - 14 / 4.75, abs=1e-12)


def test_r2_single_article_has_no_heldout():
    x = np.array([[[0.0], [1.0], [2.0]]])
    r2, r2_out = regression_r2(x, np.array([0.0, 2.0, 4.0]), np.array([0, 3]))
    assert r2[0] == pytest.approx(1.0)
    assert np.isnan(r2_out[0])


def test_collinear_heads_give_the_same_r2_as_one_head():
    rng = np.random.default_rng(0)
    head = rng.random(40)
    y = 0.3 * head + rng.normal(0, 0.05, 40)
    one = regression_r2(head[None, :, None], y, np.array([0, 20, 40]))
    twin = regression_r2(np.stack([head, head], axis=1)[None], y, np.array([0, 20, 40]))
    np.testing.assert_allclose(twin, one, atol=1e-9)


def test_matches_direct_least_squares_per_layer():
    rng = np.random.default_rng(1)
    index = pair_index([[4, 5, 6], [3, 7]])
    attention = rng.random((3, 5, index.n_pairs))
    y = rng.random(index.n_pairs)
    r2, r2_out = layer_resemblance(attention, y, index)
    for layer in range(3):
        design = np.column_stack([np.ones(index.n_pairs), attention[layer].T])
        beta = np.linalg.lstsq(design, y, rcond=None)[0]
        sse = ((y - design @ beta) ** 2).sum()
        assert r2[layer] == pytest.approx(1 - sse / ((y - y.mean()) ** 2).sum(), abs=1e-10)
        # held out: fit on one article, predict the other
        pred = np.empty_like(y)
        for a in range(2):
            test = index.article == a
            b = np.linalg.lstsq(design[~test], y[~test], rcond=None)[0]
            pred[test] = design[test] @ b
        expected = 1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum()
        assert r2_out[layer] == pytest.approx(expected, abs=1e-10)


def test_shuffle_stays_within_sentences():
    index = pair_index([[3, 4], [5]])
    values = index.sentence * 100.0 + np.arange(index.n_pairs)
    shuffled = shuffle_within_sentences(values, index, np.random.default_rng(0))
    assert not np.array_equal(shuffled, values)
    for s in np.unique(index.sentence):
        mask = index.sentence == s
        assert sorted(shuffled[mask]) == sorted(values[mask])


def test_several_targets_at_once_equal_one_at_a_time():
    rng = np.random.default_rng(2)
    index = pair_index([[4, 5], [6], [3, 7]])
    attention = rng.random((2, 3, index.n_pairs))
    targets = rng.random((3, index.n_pairs))
    r2, r2_out = layer_resemblance(attention, targets, index)
    assert r2.shape == r2_out.shape == (2, 3)
    for t in range(3):
        one, one_out = layer_resemblance(attention, targets[t], index)
        np.testing.assert_allclose(r2[:, t], one, atol=1e-12)
        np.testing.assert_allclose(r2_out[:, t], one_out, atol=1e-12)
