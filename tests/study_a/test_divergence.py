import numpy as np
import pytest

from readalike.core.pairs import pair_index
from readalike.study_a.divergence import depth_quarter_means, mean_js, row_normalise, rowwise_js

# Row 1 of a 2-word sentence: A = [0.2, 0.2] -> p = [1/2, 1/2]; B = [0.3, 0.1] -> q = [3/4, 1/4];
# m = [5/8, 3/8]; KL(p||m) = 1/2 ln(4/5) + 1/2 ln(4/3); KL(q||m) = 3/4 ln(6/5) + 1/4 ln(2/3).
KL_P = 0.5 * np.log(4 / 5) + 0.5 * np.log(4 / 3)
KL_Q = 0.75 * np.log(6 / 5) + 0.25 * np.log(2 / 3)
JS_BY_HAND = 0.5 * (KL_P + KL_Q)  # = 0.033822...


def test_js_by_hand():
    index = pair_index([[2]])
    a = np.array([0.9, 0.2, 0.2])
    b = np.array([0.5, 0.3, 0.1])
    rows = rowwise_js(a, b, index)
    assert np.isnan(rows[0])  # row 0 has one key word: left out
    assert rows[1] == pytest.approx(JS_BY_HAND, abs=1e-12)
    assert JS_BY_HAND == pytest.approx(0.0338221, abs=1e-7)
    js, n = mean_js(a, b, index)
    assert js == pytest.approx(JS_BY_HAND) and n == 1


def test_js_bounds_and_symmetry():
    index = pair_index([[2]])
    a = np.array([1.0, 1.0, 0.0])
    b = np.array([1.0, 0.0, 1.0])
    assert rowwise_js(a, b, index)[1] == pytest.approx(np.log(2))  # disjoint support
    rng = np.random.default_rng(0)
    idx = pair_index([[5, 6]])
    x, y = rng.random(idx.n_pairs), rng.random(idx.n_pairs)
    np.testing.assert_allclose(rowwise_js(x, y, idx), rowwise_js(y, x, idx))
    np.testing.assert_allclose(mean_js(x, x, idx)[0], 0, atol=1e-15)


def test_zero_rows_are_left_out_and_counted():
    index = pair_index([[3]])
    a = np.array([1.0, 0.0, 0.0, 0.2, 0.3, 0.5])  # row 1 sums to 0
    b = np.array([1.0, 0.4, 0.6, 0.2, 0.3, 0.5])
    probs, sums = row_normalise(a, index)
    assert sums.tolist() == pytest.approx([1.0, 0.0, 1.0])
    assert probs[1:3].tolist() == [0.0, 0.0]
    js, n = mean_js(a, b, index)
    assert n == 1 and js == pytest.approx(0.0)


def test_pooled_mean_weighs_rows_not_sentences():
    index = pair_index([[2], [3]])
    a = np.array([1, 0.2, 0.2, 1, 0.5, 0.5, 0.2, 0.3, 0.5])
    b = np.array([1, 0.3, 0.1, 1, 0.5, 0.5, 0.2, 0.3, 0.5])
    js, n = mean_js(a, b, index)
    assert n == 3
    assert js == pytest.approx(JS_BY_HAND / 3)


def test_depth_quarter_means_average_layers_of_each_quarter():
    # six layers: quarters 0 0 1 2 2 3
    values = np.arange(6, dtype=float)[:, None] * np.ones((1, 2))
    quarters, means = depth_quarter_means(values)
    assert quarters.tolist() == [0, 1, 2, 3]
    assert means[:, 0].tolist() == [0.5, 2.0, 3.5, 5.0]
