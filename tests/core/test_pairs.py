import numpy as np
import pytest

from readalike.core.pairs import (
    layer_blocks,
    pair_index,
    shuffle_sentences_of_equal_length,
    stack_pair_stream,
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


def test_stack_pair_stream_equals_stack_pairs():
    rng = np.random.default_rng(0)
    ragged = [[rng.random((2, 3, n, n)) for n in article] for article in ([2, 4], [1], [3])]
    lengths = [[m.shape[-1] for m in article] for article in ragged]
    stream = (m for article in ragged for m in article)
    out = stack_pair_stream(stream, lengths, (2, 3), np.float32)
    assert out.dtype == np.float32 and out.shape == (2, 3, 3 + 10 + 1 + 6)
    np.testing.assert_array_equal(out, stack_pairs(ragged).astype(np.float32))


def test_stack_pair_stream_refuses_a_sentence_of_another_shape():
    matrices = iter([np.zeros((1, 2, 2)), np.zeros((1, 2, 2))])
    with pytest.raises(ValueError, match=r"sentence 1: shape \(1, 2, 2\), expected \(1, 3, 3\)"):
        stack_pair_stream(matrices, [[2, 3]], (1,), np.float64)


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


def test_as_float64_equals_astype_for_every_float16():
    from readalike.core.pairs import as_float64

    # every bit pattern: zeros of both signs, subnormals, normals, infinities and NaNs
    every = np.arange(2**16, dtype=np.uint16).view(np.float16).reshape(256, 256)
    expected = every.astype(np.float64)
    found = as_float64(every[:, ::3])  # a strided view as well
    assert found.dtype == np.float64 and found.shape == (256, 86)
    assert np.array_equal(found.view(np.uint64), expected[:, ::3].view(np.uint64))
    x32 = np.linspace(-1, 1, 7, dtype=np.float32)
    assert np.array_equal(as_float64(x32), x32.astype(np.float64))


def test_stack_pairs_float16_and_float64_outputs():
    m2 = np.arange(2 * 4, dtype=np.float16).reshape(2, 2, 2)
    m3 = np.arange(2 * 9, dtype=np.float16).reshape(2, 3, 3) + 100
    # pairs (0,0) (1,0) (1,1) of the 2-word sentence, then the 6 of the 3-word one
    expected = [[0, 2, 3, 100, 103, 104, 106, 107, 108], [4, 6, 7, 109, 112, 113, 115, 116, 117]]
    out16 = stack_pairs([[m2], [m3]])
    out64 = stack_pairs([[m2], [m3]], np.float64)
    assert out16.dtype == np.float16 and out64.dtype == np.float64
    assert out16.tolist() == expected and out64.tolist() == expected
