"""Tokenizers load as the checkpoint declares them, even where AutoTokenizer overrides."""

from __future__ import annotations

import json

import pytest

from readalike.models.tokenizer import declared_tokenizer_class, load_tokenizer


def _as_qwen2_checkpoint(src, dest):
    """The demo tokenizer saved beside a Qwen2 config, as the zoo saves a Qwen2 model."""
    from transformers import AutoTokenizer, Qwen2Config

    AutoTokenizer.from_pretrained(src).save_pretrained(dest)
    Qwen2Config(
        vocab_size=400,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
    ).save_pretrained(dest)
    return dest


def test_declared_class_wins_over_the_model_types_default(tiny_tokenizer_dir, tmp_path):
    from transformers import AutoTokenizer

    folder = _as_qwen2_checkpoint(tiny_tokenizer_dir, tmp_path / "qwen2-zoo")
    declared = declared_tokenizer_class(folder)
    assert declared is not None
    text = "Readers skip 1 short word"
    auto = AutoTokenizer.from_pretrained(folder)
    loaded = load_tokenizer(folder)
    assert type(loaded).__name__.removesuffix("Fast") == declared.removesuffix("Fast")
    reference = load_tokenizer(tiny_tokenizer_dir)
    assert loaded(text)["input_ids"] == reference(text)["input_ids"]
    # the override this module exists for (transformers 5): AutoTokenizer's class for
    # model_type qwen2 reads the same text otherwise
    assert type(auto).__name__ == "Qwen2Tokenizer"
    assert auto(text)["input_ids"] != reference(text)["input_ids"]


def test_unknown_declared_class_is_one_line(tiny_tokenizer_dir, tmp_path):
    from transformers import AutoTokenizer

    folder = tmp_path / "odd"
    AutoTokenizer.from_pretrained(tiny_tokenizer_dir).save_pretrained(folder)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["tokenizer_class"] = "NoSuchTokenizer"
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises((ValueError, OSError)) as err:
        load_tokenizer(folder)
    assert "\n" not in str(err.value).strip()
