"""Tests of readalike.models.bos: the one BOS rule of both studies and the padding id."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from readalike.models.bos import input_pad_id, resolve_bos


def _tokenizer(bos=None, pad=None, eos=None, vocab=None):
    vocab = vocab if vocab is not None else {"<s>": 1, "</s>": 2, "<|endoftext|>": 5}
    return SimpleNamespace(
        bos_token_id=bos, pad_token_id=pad, eos_token_id=eos, get_vocab=lambda: dict(vocab)
    )


def _config(bos=None, vocab_size=10):
    return SimpleNamespace(bos_token_id=bos, vocab_size=vocab_size)


@pytest.mark.parametrize(
    ("tokenizer_bos", "config_bos", "choice", "expected"),
    [
        pytest.param(1, 3, "auto", (1, "tokenizer"), id="auto-tokenizer-first"),
        pytest.param(None, 3, "auto", (3, "config"), id="auto-config-second"),
        pytest.param(None, None, "auto", (None, "none"), id="auto-none-qwen"),
        pytest.param(1, 3, "none", (None, "none"), id="none-wins"),
        pytest.param(None, None, "<|endoftext|>", (5, "config:<|endoftext|>"), id="token-text"),
        pytest.param(1, None, "</s>", (2, "config:</s>"), id="text-over-tokenizer"),
    ],
)
def test_resolve_bos(tokenizer_bos, config_bos, choice, expected):
    assert resolve_bos(_tokenizer(bos=tokenizer_bos), _config(config_bos), choice) == expected


def test_resolve_bos_refuses_unknown_text_and_ids_past_the_embedding():
    with pytest.raises(ValueError, match=r"model 'm': bos '<bos>' is not a token"):
        resolve_bos(_tokenizer(), _config(), "<bos>", "m")
    # a GPT-2 config's 50256 on a small checkpoint: one line naming model and source
    with pytest.raises(ValueError, match=r"'m': BOS id 50256 \(config\) lies outside .* 10 rows"):
        resolve_bos(_tokenizer(), _config(50256), "auto", "m")
    assert resolve_bos(_tokenizer(), None, "auto") == (None, "none")


@pytest.mark.parametrize(
    ("pad", "eos", "expected"),
    [
        pytest.param(3, 2, 3, id="own-pad-inside"),
        pytest.param(10, 2, 2, id="pad-past-embedding-eos"),
        pytest.param(None, 9, 9, id="no-pad-eos"),
        pytest.param(12, 11, 0, id="both-past-zero"),
        pytest.param(None, None, 0, id="neither"),
    ],
)
def test_input_pad_id(pad, eos, expected):
    assert input_pad_id(_tokenizer(pad=pad, eos=eos), vocab_size=10) == expected
