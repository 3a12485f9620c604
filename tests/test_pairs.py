import numpy as np
import pytest

from readalike.pairs import depth_parts, layer_blocks, pair_index, stack_pairs


def test_pair_index_orders_pairs_row_by_row():
    index = pair_index([[2], [3]])
    # sentence of 2 words: (0,0) (1,0) (1,1); of 3 words: (0,0) (1,0) (1,1) (2,0) (2,1) (2,2)
    assert index.row.tolist() == [0, 1, 1, 0, 1, 1, 2, 2, 2]
    assert index.col.tolist() == [0, 0, 1, 0, 0, 1, 0, 1, 2]
    assert index.article.tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 1]
    assert index.sentence.tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 1]
    assert index.row_start.tolist() == [0, 1, 3, 4, 6]
    assert index.row_query.tolist() == [0, 1, 0, 1, 2]
    assert index.article_start.tolist() == [0, 3, 9]


def test_stack_pairs_keeps_leading_axes():
    m = np.arange(2 * 9).reshape(2, 3, 3)
    out = stack_pairs([[m]])
    assert out.tolist() == [[0, 3, 4, 6, 7, 8], [9, 12, 13, 15, 16, 17]]


@pytest.mark.parametrize(
    ("n_layers", "expected"),
    [
        pytest.param(4, [0, 1, 2, 3], id="one-per-quarter"),
        pytest.param(6, [0, 0, 1, 2, 2, 3], id="six-layers"),
        pytest.param(2, [0, 2], id="fewer-than-four"),
    ],
)
def test_depth_parts(n_layers, expected):
    assert depth_parts(n_layers).tolist() == expected


def test_layer_blocks_cover_all_layers():
    assert layer_blocks(5, 2) == [slice(0, 2), slice(2, 4), slice(4, 5)]
