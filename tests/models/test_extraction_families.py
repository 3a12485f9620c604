"""Study A extraction on tiny random checkpoints of many families and tokenizer kinds.

The model-family test matrix for Study A: for every family and every tokenizer kind (byte-level
BPE as GPT-2's, Qwen-style BPE without a BOS token, Unigram/Metaspace and WordPiece), the
batched, hooked extraction of :mod:`readalike.models.extraction` equals an independent computation
one sentence at a time: ``output_attentions=True`` on the sentence's prompt, tokens mapped
to words by a character-by-character walk of the prompt, and each head's ``(tokens,
tokens)`` attention reduced with explicit loops (query tokens of a word averaged, key
tokens summed), within float16 rounding. The BOS token is the one
:func:`readalike.models.bos.resolve_bos` picks: the tokenizer's, else the config's, else none.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from readalike.models import extraction as ex
from readalike.models.bos import resolve_bos
from tests.models.test_architectures import tiny_config, tiny_model
from tests.models.test_model_families import build_tokenizer

#: tiny models run faster on one torch thread (see conftest._torch_threads)
TORCH_THREADS = 1

FAMILIES = [
    "gpt2",
    "gpt_neox",
    "gpt_neo",
    "opt",
    "qwen2",
    "mistral",
    "phi",
    "phi3",
    "gemma",
    "olmo2",
    "falcon",
    "llama",
]
KINDS = ["gpt2_bpe", "qwen_bpe", "unigram", "wordpiece"]
#: of different lengths, so that a batch of 3 pads; one with characters the tokenizers split
SENTENCES = [
    "Honey bees live in colonies of many thousands of workers.".split(),
    "Veins bring the blood back.".split(),
    "Thick ice slowly flows downhill under its own weight.".split(),
    "Paper!".split(),
]
PREFIX = "Please translate this sentence into German:"


@pytest.fixture(scope="module")
def tokenizers() -> dict:
    return {kind: build_tokenizer(kind) for kind in KINDS}


def _char_words(words: list[str], prefix: str) -> tuple[str, list[int]]:
    """The prompt and, per character, its word: the space before a word is the word's."""
    text = f"{prefix} {' '.join(words)}" if prefix else " ".join(words)
    owner = [-1] * (len(prefix) if prefix else 0)
    for w, word in enumerate(words):
        if w > 0 or prefix:
            owner.append(w)  # the space in front of the word
        owner.extend([w] * len(word))
    assert len(owner) == len(text)
    return text, owner


def _reference(model, tokenizer, words: list[str], prefix: str, bos_id) -> np.ndarray:
    """``(layers, heads, n, n)`` float64 word attention of one sentence, by plain loops."""
    text, owner = _char_words(words, prefix)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    token_word = [owner[max(end - 1, start)] for start, end in enc["offset_mapping"]]
    ids = enc["input_ids"]
    if bos_id is not None:
        ids, token_word = [bos_id, *ids], [-1, *token_word]
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), output_attentions=True, use_cache=False)
    assert len(out.attentions) == model.config.num_hidden_layers
    token = torch.stack(out.attentions, dim=1)[0].double().numpy()  # (L, H, T, T)
    n = len(words)
    result = np.zeros((*token.shape[:2], n, n))
    for i in range(n):
        queries = [t for t, w in enumerate(token_word) if w == i]
        assert queries, f"word {i} got no token"
        for j in range(n):
            keys = [t for t, w in enumerate(token_word) if w == j]
            block = token[:, :, queries][:, :, :, keys]
            result[:, :, i, j] = block.sum(-1).mean(-1)
    return result


def _model(family: str, tokenizer, **extra):
    config = tiny_config(family, vocab_size=len(tokenizer), **extra)
    if family in ("gpt2", "gpt_neo"):  # learned positions: room for the longest prompt
        config.max_position_embeddings = config.n_positions = 128
    model = tiny_model(config)
    # weights 10x their init (std 0.2): peaked attention, so that a token given to the wrong
    # word, a missing BOS or a wrong reduction moves the word matrices far past float16
    # rounding (near-uniform attention would hide them)
    embedding = model.get_input_embeddings().weight
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.ndim == 2 and param is not embedding and "wpe" not in name:
                param.mul_(10.0)
    model.config.name_or_path = f"tiny-{family}"
    return model


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("family", FAMILIES)
def test_extraction_equals_one_sentence_eager_reference(family, kind, tokenizers):
    tokenizer = tokenizers[kind]
    model = _model(family, tokenizer)
    bos_id, how = resolve_bos(tokenizer, model.config)
    expected_how = {
        "gpt2_bpe": "tokenizer",
        "unigram": "tokenizer",
        # no BOS in the tokenizer: the config's, which Qwen2 (as real ones) lacks
        "qwen_bpe": "none" if family == "qwen2" else "config",
        "wordpiece": "none" if family == "qwen2" else "config",
    }[kind]
    assert how == expected_how
    for prefix in ("", PREFIX):
        got = ex.extract_attention(
            model, tokenizer, SENTENCES, prefix, batch_size=3, progress=False
        )
        for words, matrix in zip(SENTENCES, got, strict=True):
            assert matrix.dtype == np.float16
            reference = _reference(model, tokenizer, words, prefix, bos_id)
            np.testing.assert_allclose(matrix, reference, rtol=2e-3, atol=1e-5)
            if bos_id is None and not prefix:
                # nothing before the sentence: every word row is a full distribution
                np.testing.assert_allclose(matrix.astype(np.float64).sum(-1), 1.0, atol=5e-3)


@pytest.mark.parametrize("family", ["gpt2", "qwen2", "llama"])
def test_bos_choice_none_and_token_text(family, tokenizers):
    tokenizer = tokenizers["gpt2_bpe"]
    model = _model(family, tokenizer)
    words = SENTENCES[1]
    (none,) = ex.extract_attention(model, tokenizer, [words], "", progress=False, bos="none")
    np.testing.assert_allclose(none, _reference(model, tokenizer, words, "", None), rtol=2e-3)
    eot = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    (text,) = ex.extract_attention(
        model, tokenizer, [words], "", progress=False, bos="<|endoftext|>"
    )
    np.testing.assert_allclose(text, _reference(model, tokenizer, words, "", eot), rtol=2e-3)
    assert not np.array_equal(none, text)


def test_word_token_spans_without_bos_prepends_nothing(tokenizers):
    tokenizer = tokenizers["qwen_bpe"]
    enc = ex.word_token_spans(tokenizer, ["Veins", "bring."], bos_id=None)
    ids = tokenizer("Veins bring.", add_special_tokens=False)["input_ids"]
    np.testing.assert_array_equal(enc.input_ids, ids)
    assert (enc.token_word >= 0).all()
    with_bos = ex.word_token_spans(tokenizer, ["Veins", "bring."], bos_id=7)
    np.testing.assert_array_equal(with_bos.input_ids, [7, *ids])
    np.testing.assert_array_equal(with_bos.token_word, [-1, *enc.token_word])


def test_pad_id_past_the_embedding_is_harmless(tokenizers):
    # GPT-NeoX tokenizers add <|padding|> past a small checkpoint's vocabulary
    tokenizer = build_tokenizer("gpt2_bpe")
    tokenizer.add_special_tokens({"pad_token": "<|extra_padding|>"})
    model = _model("gpt_neox", tokenizers["gpt2_bpe"])  # embedding without the new token
    assert tokenizer.pad_token_id >= model.get_input_embeddings().weight.shape[0]
    got = ex.extract_attention(model, tokenizer, SENTENCES, "", batch_size=4, progress=False)
    bos_id, _ = resolve_bos(tokenizer, model.config)
    for words, matrix in zip(SENTENCES, got, strict=True):
        np.testing.assert_allclose(
            matrix, _reference(model, tokenizer, words, "", bos_id), rtol=2e-3, atol=1e-5
        )


def test_gpt_neo_modules_have_no_layer_idx_but_are_found(tokenizers):
    model = _model("gpt_neo", tokenizers["gpt2_bpe"])
    modules = ex._attention_modules(model)
    assert [type(m).__name__ for m in modules] == ["GPTNeoAttention"] * 2
    assert not any(hasattr(m, "layer_idx") for m in modules)


def test_an_architecture_without_decoder_layers_is_refused_by_name(tokenizers):
    class NoLayers(torch.nn.Module):
        config = tiny_config("llama")

    with pytest.raises(RuntimeError, match=r"NoLayers\): found no list of 2 decoder layers"):
        model = NoLayers()
        model.get_input_embeddings = lambda: torch.nn.Embedding(4, 2)
        ex.extract_attention(model, tokenizers["unigram"], SENTENCES[:1], "", progress=False)
