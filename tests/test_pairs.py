import numpy as np
import pytest

from readalike.pairs import (
    layer_blocks,
    pair_index,
    shuffle_sentences_of_equal_length,
    stack_pairs,
)


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


def test_layer_blocks_cover_all_layers():
    assert layer_blocks(5, 2) == [slice(0, 2), slice(2, 4), slice(4, 5)]


def test_shuffle_sentences_of_equal_length_by_hand():
    # sentences of 2, 3 and 2 words: pairs 0-2, 3-8 and 9-11; the two 2-word sentences swap
    # (whatever the seed) and the only 3-word sentence, with no partner, is left out
    index = pair_index([[2, 3], [2]])
    kept, source, kept_index = shuffle_sentences_of_equal_length(index, np.random.default_rng(0))
    assert kept.tolist() == [0, 1, 2, 9, 10, 11]
    assert source.tolist() == [9, 10, 11, 0, 1, 2]
    assert kept_index.lengths == ((2,), (2,))
    assert kept_index.article_start.tolist() == [0, 3, 6]


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in range(3)])
def test_shuffle_sentences_of_equal_length_never_keeps_a_sentence(seed):
    lengths = [[3, 4, 3], [3, 5], [4, 3, 3]]
    index = pair_index(lengths)
    kept, source, kept_index = shuffle_sentences_of_equal_length(index, np.random.default_rng(seed))
    assert kept_index.lengths == ((3, 4, 3), (3,), (4, 3, 3))  # the 5-word sentence has no partner
    assert sorted(source.tolist()) == kept.tolist()  # a permutation of the kept pairs
    assert (index.sentence[source] != index.sentence[kept]).all()
    assert (index.row[source] == index.row[kept]).all()
    assert (index.col[source] == index.col[kept]).all()
