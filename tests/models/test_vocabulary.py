"""Tests of readalike.models.vocabulary: vocabulary files, word token ids, word vectors, modules."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, decoders, models, normalizers
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    PreTrainedTokenizerFast,
)

from readalike.models.vocabulary import (
    modules_of,
    read_vocabulary,
    vocabulary_from_text,
    word_token_ids,
    word_vectors,
)

#: tiny models run faster on one torch thread (see conftest._torch_threads)
TORCH_THREADS = 1


# ---------------------------------------------------------------- read_vocabulary


def test_read_vocabulary_sorts_and_merges_case(tmp_path):
    path = tmp_path / "vocab.tsv"
    path.write_text("the\t0.5\nwrite\t0.2\nThe\t0.1\nCode\t0.25\ncode\t0.3\n\n", encoding="utf-8")
    vocab = read_vocabulary(path)
    # "The" merges into "the"; "code" merges into "Code", the form seen first (as the authors).
    assert vocab.words == ["the", "Code", "write"]
    np.testing.assert_allclose(vocab.frequency, [0.6, 0.55, 0.2])
    assert vocab.most_frequent(2) == ["the", "Code"]


def test_read_vocabulary_without_merging(tmp_path):
    path = tmp_path / "vocab.tsv"
    path.write_text("the\t0.5\nThe\t0.1\n", encoding="utf-8")
    vocab = read_vocabulary(path, merge_case=False)
    assert vocab.words == ["the", "The"]
    assert len(vocab) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("the\t0.5\nwrite\n", "line 2", id="one-field"),
        pytest.param("the\t0.5\ta\n", "line 1", id="three-fields"),
        pytest.param("the\tabc\n", "not a number", id="not-a-number"),
        pytest.param("the\t-1\n", "non-negative", id="negative"),
        pytest.param("the\tnan\n", "finite", id="nan"),
        pytest.param("\t0.5\n", "empty word", id="empty-word"),
        pytest.param("the cat\t0.5\n", "whitespace", id="word-with-space"),
        pytest.param("the\t0.5\nthe\t0.1\n", "repeats line 1", id="duplicate"),
        pytest.param("\n\n", "no word", id="empty-file"),
    ],
)
def test_read_vocabulary_errors_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad_vocab.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as err:
        read_vocabulary(path)
    assert "bad_vocab.tsv" in str(err.value)


def test_vocabulary_from_text_strips_punctuation_and_counts():
    vocab = vocabulary_from_text(
        ["Write a poem, then write it again.", "Don't write; well-known (write)!"], min_count=1
    )
    assert vocab.words[0] == "write"
    assert vocab.frequency[0] == 4
    assert "don't" in vocab.words and "well-known" in vocab.words
    assert all(word == word.lower() and "," not in word for word in vocab.words)
    frequent = vocabulary_from_text(["a b a c a b"], min_count=2)
    assert frequent.words == ["a", "b"]
    np.testing.assert_array_equal(frequent.frequency, [3, 2])
    with pytest.raises(ValueError, match="min_count=5"):
        vocabulary_from_text(["a b"], min_count=5)


# ---------------------------------------------------------------- token ids


@pytest.fixture(scope="module")
def sentencepiece_tokenizer() -> PreTrainedTokenizerFast:
    """A LLaMA-style (legacy SentencePiece) tokenizer: " write" -> ["▁", "▁write"]."""
    pieces = [
        ("<unk>", 0.0),
        ("<s>", 0.0),
        ("</s>", 0.0),
        ("\u2581", -2.0),
        ("\u2581write", -3.0),
        ("\u2581wr", -4.0),
        ("ite", -4.0),
        ("s", -3.0),
        ("\u2581the", -2.0),
        ("\u2581a", -3.0),
        ("b", -3.0),
        ("c", -3.0),
    ]
    tokenizer = Tokenizer(models.Unigram(pieces, unk_id=0))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")]
    )
    tokenizer.decoder = decoders.Metaspace()
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )


def test_word_token_ids_drop_lone_space_piece(sentencepiece_tokenizer):
    # Check the premise: the tokenizer emits a lone "▁" before the word.
    raw = sentencepiece_tokenizer(" write", add_special_tokens=False)["input_ids"]
    assert sentencepiece_tokenizer.convert_ids_to_tokens(raw) == ["\u2581", "\u2581write"]
    ids = word_token_ids(sentencepiece_tokenizer, ["write", "writes", "the", "abc"])
    assert ids == [[4], [4, 7], [8], [9, 10, 11]]


@pytest.mark.parametrize("word", [pytest.param("", id="empty"), pytest.param(" ", id="space")])
def test_word_token_ids_reject_words_without_tokens(sentencepiece_tokenizer, word):
    with pytest.raises(ValueError, match=repr(word)):
        word_token_ids(sentencepiece_tokenizer, ["write", word])


# ---------------------------------------------------------------- word vectors


def test_word_vectors_mean_of_sub_tokens():
    embedding = torch.tensor([[1.0, 0.0], [0.0, 2.0], [4.0, 2.0], [3.0, 3.0], [6.0, 0.0]])
    ids = [[0], [1, 2], [3, 4, 4]]
    vectors = word_vectors(embedding, ids)
    expected = torch.tensor([[1.0, 0.0], [2.0, 2.0], [5.0, 1.0]])
    torch.testing.assert_close(vectors, expected)
    assert vectors.dtype == torch.float32


def test_word_vectors_numpy_half_and_normalised():
    embedding = np.array([[3.0, 4.0], [0.0, 2.0], [0.0, 0.0]], dtype=np.float16)
    vectors = word_vectors(embedding, [[0], [1, 1], [2]], normalize=True)
    torch.testing.assert_close(vectors, torch.tensor([[0.6, 0.8], [0.0, 1.0], [0.0, 0.0]]))


# ---------------------------------------------------------------- modules_of


def tiny_llama(**overrides) -> LlamaForCausalLM:
    config = dict(
        vocab_size=40,
        hidden_size=16,
        intermediate_size=24,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=32,
    )
    config.update(overrides)
    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(**config)).eval()


def test_modules_of_llama_with_grouped_query_attention():
    model = tiny_llama()
    found = modules_of(model, "tiny-llama")
    assert (found.n_layers, found.n_heads, found.n_kv_heads, found.head_dim) == (2, 4, 2, 4)
    assert found.hidden_size == 16
    layer = model.model.layers[1]
    assert found.layers[1].down_proj is layer.mlp.down_proj
    assert found.layers[1].q_proj is layer.self_attn.q_proj
    assert found.layers[1].k_proj is layer.self_attn.k_proj
    assert found.layers[1].input_layernorm is layer.input_layernorm
    assert found.input_embeddings.shape == (40, 16)
    assert found.output_embeddings.shape == (40, 16)


def test_modules_of_mistral():
    config = MistralConfig(
        vocab_size=40,
        hidden_size=16,
        intermediate_size=24,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=1,
        max_position_embeddings=32,
    )
    found = modules_of(MistralForCausalLM(config), "tiny-mistral")
    assert (found.n_heads, found.n_kv_heads, found.head_dim) == (4, 1, 4)


class _NoMlp(torch.nn.Module):
    """A decoder whose layers lack the feed-forward block."""

    def __init__(self):
        super().__init__()
        self.config = LlamaConfig(hidden_size=8, num_attention_heads=2)
        self.model = torch.nn.Module()
        layer = torch.nn.Module()
        layer.self_attn = torch.nn.Module()
        layer.self_attn.q_proj = torch.nn.Linear(8, 8, bias=False)
        layer.self_attn.k_proj = torch.nn.Linear(8, 8, bias=False)
        layer.input_layernorm = torch.nn.LayerNorm(8)
        self.model.layers = torch.nn.ModuleList([layer])


@pytest.mark.parametrize(
    ("build", "missing"),
    [
        pytest.param(
            lambda: GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=8, vocab_size=20)),
            "model.layers",
            id="gpt2",
        ),
        pytest.param(_NoMlp, "mlp.down_proj", id="no-mlp"),
    ],
)
def test_modules_of_names_model_and_missing_module(build, missing):
    with pytest.raises(ValueError, match="my-model") as err:
        modules_of(build(), "my-model")
    assert repr(missing) in str(err.value)


def test_modules_of_rejects_biased_projections():
    with pytest.raises(ValueError, match="q_proj has a bias"):
        modules_of(tiny_llama(attention_bias=True), "biased")
