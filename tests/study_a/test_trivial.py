import numpy as np
import pytest

from readalike.core.pairs import pair_index
from readalike.study_a.trivial import trivial_fit, trivial_patterns


def test_patterns_by_hand():
    # pairs of a 3-word sentence: (0,0) (1,0) (1,1) (2,0) (2,1) (2,2)
    z = trivial_patterns(pair_index([[3]]))
    assert z[:, 0].tolist() == [1, 0, 1, 0, 0, 1]  # self
    assert z[:, 1].tolist() == [0, 1, 0, 0, 1, 0]  # previous
    assert z[:, 2].tolist() == [1, 1, 0, 1, 0, 0]  # first


def test_trivial_fit_by_hand():
    # e is orthogonal to the intercept and the three patterns, so a head
    # 0.1 + 0.5 self + 0.2 previous + 0.05 e has residual exactly 0.05 e:
    # SSE = 4 * 0.05^2 = 0.01; y = .55 .35 .6 .1 .25 .65, SST = 1.28 - 2.5^2/6 = 143/600,
    # R^2 = 1 - 0.01 * 600/143 = 137/143.
    z = trivial_patterns(pair_index([[3]]))
    e = np.array([-1.0, 1.0, 0.0, 0.0, -1.0, 1.0])
    y = 0.1 + 0.5 * z[:, 0] + 0.2 * z[:, 1] + 0.05 * e
    r2, residual = trivial_fit(y[None, None], z)
    assert r2[0, 0] == pytest.approx(137 / 143, abs=1e-12)
    np.testing.assert_allclose(residual[0, 0], 0.05 * e, atol=1e-7)


@pytest.mark.parametrize("column", [0, 1, 2], ids=["self", "previous", "first"])
def test_patterns_explain_themselves(column):
    z = trivial_patterns(pair_index([[4, 6], [5]]))
    r2, residual = trivial_fit(z[:, column], z)
    assert r2 == pytest.approx(1.0)
    np.testing.assert_allclose(residual, 0, atol=1e-6)


def test_constant_head_has_undefined_r2():
    z = trivial_patterns(pair_index([[3]]))
    r2, _ = trivial_fit(np.full((1, 6), 0.2), z)
    assert np.isnan(r2[0])
