import numpy as np
import pytest

from readalike.core.depth import depth_quarter


@pytest.mark.parametrize(
    ("n_layers", "expected"),
    [
        pytest.param(32, [0] * 8 + [1] * 8 + [2] * 8 + [3] * 8, id="32-layers"),
        pytest.param(30, [0] * 8 + [1] * 7 + [2] * 8 + [3] * 7, id="30-layers"),
        pytest.param(4, [0, 1, 2, 3], id="4-layers"),
        pytest.param(2, [0, 2], id="fewer-layers-than-quarters"),
    ],
)
def test_depth_quarter_by_hand(n_layers, expected):
    assert depth_quarter(np.arange(n_layers), n_layers).tolist() == expected


def test_depth_quarter_refuses_layer_outside_model():
    with pytest.raises(ValueError, match=r"0\.\.3, got 0\.\.4"):
        depth_quarter([0, 4], 4)
