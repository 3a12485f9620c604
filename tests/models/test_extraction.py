"""Tests of word-level attention extraction on a real (tiny, trained) LLaMA checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import sentencepiece as spm
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from readalike.core.formats import read_attention, write_attention
from readalike.models import extraction as ex

INSTRUCTION = "Please translate this sentence into German:"
CONTROL = "Cigarette first steel convenience champion."
CONDITIONS = [
    pytest.param("", id="plain"),
    pytest.param(INSTRUCTION, id="instruction"),
    pytest.param(CONTROL, id="control"),
]
#: words the 400-piece test tokenizer splits into several pieces, some unseen characters
#: (Z, Ø: a lone "▁" piece, then byte pieces)
SPLIT = "Zebras graze quietly near Øresund glaciers.".split()
SENTENCES = [
    "Honey bees live in colonies of many thousands of workers.".split(),
    SPLIT,
    "Thick ice slowly flows downhill under its own weight.".split(),
    "Veins bring the blood back.".split(),
    "Paper!".split(),
    "Recycled paper saves trees and uses less water and energy.".split(),
]


#: tiny models run faster on one torch thread (see conftest._torch_threads)
TORCH_THREADS = 1


@pytest.fixture(scope="module")
def lm(tiny_model):
    path, _ = tiny_model
    return ex.load_causal_lm(path)


def _token_attention(model, input_ids: np.ndarray) -> np.ndarray:
    """``(layers, heads, tokens, tokens)`` float64 attention of one prompt, straight from HF."""
    with torch.no_grad():
        out = model(input_ids=torch.from_numpy(input_ids)[None], output_attentions=True)
    assert len(out.attentions) == model.config.num_hidden_layers
    return torch.stack(out.attentions, dim=1)[0].double().numpy()


# ------------------------------------------------------------------------------ loading


def test_load_causal_lm_uses_eager_attention_in_eval_mode(lm):
    model, tokenizer = lm
    assert model.config._attn_implementation == "eager"
    assert not model.training
    assert tokenizer.is_fast and model.dtype == torch.float32


def test_load_causal_lm_rejects_an_unknown_dtype(tiny_model):
    with pytest.raises(ValueError, match="unknown dtype 'float8'"):
        ex.load_causal_lm(tiny_model[0], dtype="float8")


# ------------------------------------------------------------------------------ tokens to words


@pytest.mark.parametrize(
    ("words", "prefix", "text", "spans"),
    [
        pytest.param(["Bees", "fly."], "", "Bees fly.", [[0, 4], [5, 9]], id="plain"),
        pytest.param(["Bees", "fly."], "Say:", "Say: Bees fly.", [[5, 9], [10, 14]], id="prefix"),
    ],
)
def test_prompt_text(words, prefix, text, spans):
    got_text, got_spans = ex.prompt_text(words, prefix)
    assert got_text == text
    np.testing.assert_array_equal(got_spans, spans)
    assert [got_text[s:e] for s, e in got_spans] == words


@pytest.mark.parametrize(
    ("offsets", "sentence_start", "expected"),
    [
        # "Bees fly." pieces: "▁Be"(0,2) "es"(2,4) "▁fly"(4,8) "."(8,9)
        pytest.param([[0, 2], [2, 4], [4, 8], [8, 9]], 0, [0, 0, 1, 1], id="metaspace-pieces"),
        # lone "▁" (4,5) before "fly" goes to the following word
        pytest.param([[0, 4], [4, 5], [5, 8], [8, 9]], 0, [0, 1, 1, 1], id="lone-space"),
        # the leading "▁" mapped onto the first character, as the LLaMA tokenizer reports it
        pytest.param([[0, 1], [0, 1], [1, 4], [4, 9]], 0, [0, 0, 0, 1], id="leading-space"),
        # byte-level BPE: offsets trimmed to exclude the space
        pytest.param([[0, 4], [5, 8], [8, 9]], 0, [0, 1, 1], id="trimmed-offsets"),
    ],
)
def test_assign_tokens_plain(offsets, sentence_start, expected):
    spans = np.array([[0, 4], [5, 9]])  # "Bees fly."
    got = ex.assign_tokens(np.array(offsets), spans, sentence_start, name="s")
    np.testing.assert_array_equal(got, expected)


def test_assign_tokens_with_prefix():
    # "Say: Bees fly." -> "▁Say"(0,3) ":"(3,4) "▁"(4,5) "Bees"(5,9) "▁fly"(9,13) "."(13,14)
    offsets = np.array([[0, 3], [3, 4], [4, 5], [5, 9], [9, 13], [13, 14]])
    spans = np.array([[5, 9], [10, 14]])
    got = ex.assign_tokens(offsets, spans, sentence_start=4, name="s")
    np.testing.assert_array_equal(got, [-1, -1, 0, 0, 1, 1])


@pytest.mark.parametrize(
    ("offsets", "message"),
    [
        pytest.param([[0, 2], [6, 8]], "sentence 7 'ab cd ef': word 1 got no token", id="no-token"),
        pytest.param([[0, 5], [5, 8]], "token 0 at characters 0:5 does not lie", id="spans-words"),
        pytest.param([[0, 2], [2, 5], [5, 9]], "token 2 at characters 5:9", id="past-the-end"),
    ],
)
def test_assign_tokens_raises_naming_the_sentence(offsets, message):
    spans = np.array([[0, 2], [3, 5], [6, 8]])  # "ab cd ef"
    with pytest.raises(ValueError, match=message):
        ex.assign_tokens(np.array(offsets), spans, 0, name="sentence 7 'ab cd ef'")


class _SkippingTokenizer:
    """A broken tokenizer that gives no token to the middle word of any three-word text."""

    bos_token_id = 1

    def __call__(self, text, add_special_tokens, return_offsets_mapping):
        first, _, last = text.split(" ")
        end = len(text)
        return {"input_ids": [5, 6], "offset_mapping": [(0, len(first)), (end - len(last), end)]}


def test_a_word_without_a_token_raises():
    with pytest.raises(ValueError, match=r"sentence 'ab cd ef': word 1 got no token"):
        ex.word_token_spans(_SkippingTokenizer(), ["ab", "cd", "ef"])


@pytest.mark.parametrize("prefix", CONDITIONS)
def test_token_ids_have_bos_exactly_once(tiny_tokenizer_dir, prefix):
    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    sp = spm.SentencePieceProcessor(model_file=str(tiny_tokenizer_dir / "tokenizer.model"))
    text, _ = ex.prompt_text(SPLIT, prefix)
    enc = ex.word_token_spans(tokenizer, SPLIT, prefix)
    # the ids worked out independently: BOS, then SentencePiece's own pieces of the prompt
    assert enc.input_ids.tolist() == [1, *sp.encode(text)]
    assert enc.input_ids.tolist().count(tokenizer.bos_token_id) == 1
    # BOS and exactly the prefix's own pieces belong to no word
    n_prefix = len(sp.encode(prefix)) if prefix else 0
    np.testing.assert_array_equal(enc.token_word[: 1 + n_prefix], -1)
    assert (enc.token_word[1 + n_prefix :] >= 0).all()
    assert np.all(np.diff(enc.token_word[1 + n_prefix :]) >= 0)  # words in order
    assert enc.n_words == len(SPLIT)


def test_pieces_of_each_word_spell_the_word(tiny_tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    enc = ex.word_token_spans(tokenizer, SPLIT, INSTRUCTION)
    pieces = tokenizer.convert_ids_to_tokens(enc.input_ids.tolist())
    counts = np.bincount(enc.token_word[enc.token_word >= 0])
    assert counts.max() >= 3  # the test is about words split into several pieces
    lone = [t for t, p in enumerate(pieces) if p == "▁"]
    # a lone "▁" goes with the piece after it (prefix pieces stay -1)
    assert all(enc.token_word[t] == enc.token_word[t + 1] for t in lone)
    assert any(enc.token_word[t] >= 0 for t in lone), "expected a lone '▁' piece in a word"
    for w, word in enumerate(SPLIT):
        ids = enc.input_ids[enc.token_word == w].tolist()
        assert tokenizer.decode(ids).strip() == word


def test_assignment_matrix():
    matrix = ex.assignment_matrix(np.array([-1, 0, 0, 1]), 2, n_tokens=5)
    np.testing.assert_array_equal(matrix, [[0, 1, 1, 0, 0], [0, 0, 0, 1, 0]])
    assert matrix.dtype == np.float32


# ------------------------------------------------------------------------------ reduction


def test_reduce_to_words_by_hand():
    # tokens BOS, a1, a2, b1; word 0 = a1 a2, word 1 = b1; head 0 spread, head 1 on itself
    spread = [
        [1.0, 0.0, 0.0, 0.0],
        [0.5, 0.5, 0.0, 0.0],
        [0.2, 0.3, 0.5, 0.0],
        [0.1, 0.2, 0.3, 0.4],
    ]
    attention = torch.tensor([spread, np.eye(4).tolist()])  # (heads, tokens, tokens)
    assignment = torch.tensor([[0.0, 1, 1, 0], [0, 0, 0, 1]])
    words = ex.reduce_to_words(attention, assignment)
    # row 0: query mean over a1, a2 of the key sum over a1, a2: mean(0.5 + 0, 0.3 + 0.5) = 0.65
    # row 1: b1's keys summed over a1, a2: 0.2 + 0.3 = 0.5, and 0.4 on itself
    expected = [[[0.65, 0.0], [0.5, 0.4]], [[1.0, 0.0], [0.0, 1.0]]]
    np.testing.assert_allclose(words.numpy(), expected, atol=1e-6)
    # rows lose the (query-averaged) attention on BOS: 1 - mean(0.5, 0.2), 1 - 0.1
    np.testing.assert_allclose(words[0].sum(-1).numpy(), [0.65, 0.9], atol=1e-6)


def test_padding_words_and_tokens_reduce_to_zero():
    attention = torch.rand(2, 3, 5, 5).softmax(-1)
    assignment = torch.zeros(2, 1, 3, 5)
    assignment[:, 0, 0, 1] = 1
    words = ex.reduce_to_words(attention, assignment)
    assert words.shape == (2, 3, 3, 3)
    assert torch.isfinite(words).all()
    assert (words[:, :, 1:] == 0).all() and (words[:, :, :, 1:] == 0).all()


# ------------------------------------------------------------------------------ extraction


@pytest.mark.parametrize("prefix", CONDITIONS)
def test_word_attention_is_query_mean_key_sum_of_model_attention(lm, prefix):
    model, tokenizer = lm
    (words,) = ex.extract_attention(model, tokenizer, [SPLIT], prefix, progress=False)
    enc = ex.word_token_spans(tokenizer, SPLIT, prefix)
    tokens = _token_attention(model, enc.input_ids[None][0])
    n = len(SPLIT)
    assert words.shape == (3, 2, n, n) and words.dtype == np.float16
    expected = np.zeros((3, 2, n, n))
    for i in range(n):  # by hand, loop by loop, the definition
        queries = np.flatnonzero(enc.token_word == i)
        for j in range(n):
            keys = np.flatnonzero(enc.token_word == j)
            expected[:, :, i, j] = tokens[:, :, queries][:, :, :, keys].sum(-1).mean(-1)
    np.testing.assert_allclose(words, expected, atol=1e-3)
    assert np.triu(words, 1).max() == 0  # causal: no word attends to a later word


@pytest.mark.parametrize("prefix", CONDITIONS)
def test_rows_sum_to_one_minus_the_dropped_attention(lm, prefix):
    # BOS (and prefix) keys are dropped, so a row sums to 1 minus the query-averaged attention
    # on them: below 1, and exactly that, since every other token belongs to a word
    model, tokenizer = lm
    (words,) = ex.extract_attention(model, tokenizer, [SPLIT], prefix, progress=False)
    enc = ex.word_token_spans(tokenizer, SPLIT, prefix)
    tokens = _token_attention(model, enc.input_ids)
    dropped = tokens[..., enc.token_word < 0].sum(-1)  # (layers, heads, tokens)
    expected = np.stack(
        [dropped[..., enc.token_word == w].mean(-1) for w in range(len(SPLIT))], axis=-1
    )
    rows = words.astype(np.float64).sum(-1)
    np.testing.assert_allclose(rows, 1 - expected, atol=3e-3)
    assert (rows <= 1 + 1e-3).all() and (words >= 0).all()


def test_prefix_positions_are_gone(lm):
    model, tokenizer = lm
    plain, instructed = (
        ex.extract_attention(model, tokenizer, [SPLIT], prefix, progress=False)[0]
        for prefix in ("", INSTRUCTION)
    )
    assert plain.shape == instructed.shape == (3, 2, len(SPLIT), len(SPLIT))
    # the same words, read after a different context: the attention differs
    assert np.abs(plain.astype(np.float32) - instructed).max() > 1e-2


@pytest.mark.parametrize("prefix", CONDITIONS)
def test_batched_extraction_equals_one_sentence_at_a_time(lm, prefix):
    model, tokenizer = lm
    batched = ex.extract_attention(
        model, tokenizer, SENTENCES, prefix, batch_size=4, progress=False
    )
    for words, got in zip(SENTENCES, batched, strict=True):
        (alone,) = ex.extract_attention(model, tokenizer, [words], prefix, progress=False)
        assert got.shape == (3, 2, len(words), len(words))
        np.testing.assert_allclose(got, alone, atol=1e-3)


def test_sdpa_model_fails_loudly(tiny_model):
    path, _ = tiny_model
    model = AutoModelForCausalLM.from_pretrained(path, attn_implementation="sdpa").eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    with pytest.raises(RuntimeError, match=r"0 of 3 layers \(attention implementation 'sdpa'\)"):
        ex.extract_attention(model, tokenizer, SENTENCES[:2], "", progress=False)
    assert not any(m._forward_hooks for m in model.modules())  # hooks removed on error


def test_nan_attention_raises_naming_the_sentence(tiny_model):
    model, tokenizer = ex.load_causal_lm(tiny_model[0])
    with torch.no_grad():
        model.model.layers[1].self_attn.q_proj.weight.fill_(float("nan"))
    with pytest.raises(ValueError, match=r"sentence 0 'Honey bees .*holds NaN or inf"):
        ex.extract_attention(model, tokenizer, SENTENCES[:1], "", progress=False)


def test_extract_conditions_regroups_articles_and_round_trips(tmp_path, tiny_model):
    stimuli = [SENTENCES[:2], SENTENCES[2:5], SENTENCES[5:]]
    attention = ex.extract_conditions(
        tiny_model[0],
        stimuli,
        {"instruction": INSTRUCTION},
        model_name="tiny",
        batch_size=3,
        progress=False,
    )["instruction"]
    assert (attention.n_layers, attention.n_heads) == (3, 2)
    assert attention.lengths() == [[len(w) for w in article] for article in stimuli]
    write_attention(tmp_path / "a.h5", attention)
    back = read_attention(tmp_path / "a.h5")
    assert (back.model, back.condition, back.attrs["prefix"]) == (
        "tiny",
        "instruction",
        INSTRUCTION,
    )
    np.testing.assert_array_equal(back.sentences[1][2], attention.sentences[1][2])


def test_extract_conditions_loads_once_and_keeps_condition_order(tiny_model):
    conditions = {"plain": "", "instruction": INSTRUCTION, "control": CONTROL}
    stimuli = [SENTENCES[:3], SENTENCES[3:]]
    sets = ex.extract_conditions(
        tiny_model[0], stimuli, conditions, model_name="tiny", batch_size=4, progress=False
    )
    assert list(sets) == list(conditions)
    for name, prefix in conditions.items():
        assert (sets[name].condition, sets[name].attrs["prefix"]) == (name, prefix)
        assert sets[name].lengths() == [[len(w) for w in article] for article in stimuli]
    # the same words under different prefixes: different attention
    assert not np.array_equal(sets["plain"].sentences[0][0], sets["control"].sentences[0][0])
