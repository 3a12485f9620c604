"""The two real GGUF checkpoints of config/real.yaml load, and Study A's extraction on
their dequantised weights equals an independent one-sentence eager computation; and
``device: auto`` loads (accelerate present, no GPU needed).

The real-model tests skip with one line naming the install command when a package is absent.
Each GGUF file takes 0.5-2.5 minutes to load on the shared 2 cores (transformers parses it
whole), so each is loaded once per session (``tests/conftest.py``).
"""

from __future__ import annotations

import numpy as np
import pytest

from readalike.models import extraction as ex
from readalike.models.bos import resolve_bos
from readalike.models.gguf import header_facts
from tests.models.test_extraction_families import PREFIX, SENTENCES, _reference


@pytest.fixture(scope="module")
def gemma(gemma_gguf):
    return ex.load_causal_lm(gemma_gguf)


def _check_extraction(model, tokenizer, bos_expected: str) -> None:
    bos_id, how = resolve_bos(tokenizer, model.config)
    assert how == bos_expected
    for prefix in ("", PREFIX):
        got = ex.extract_attention(
            model, tokenizer, SENTENCES, prefix, batch_size=3, progress=False
        )
        for words, matrix in zip(SENTENCES, got, strict=True):
            reference = _reference(model, tokenizer, words, prefix, bos_id)
            assert matrix.shape == reference.shape
            # float16 storage of attention that real models concentrate on few words
            np.testing.assert_allclose(matrix, reference, rtol=2e-3, atol=2e-4)


def test_smollm2_loads_as_the_gguf_file_describes(smollm2, smollm2_gguf):
    model, tokenizer = smollm2
    config = model.config
    assert type(model).__name__ == "LlamaForCausalLM"
    assert str(model.dtype) == "torch.float32"  # dequantised from Q4_1
    assert (config.num_hidden_layers, config.num_attention_heads) == (30, 9)
    assert (config.num_key_value_heads, config.hidden_size) == (3, 576)
    assert config._attn_implementation == "eager"
    assert tokenizer.is_fast
    # its tokenizer adds no BOS of its own; the chat template opens every turn
    ids = tokenizer("Honey bees live.", add_special_tokens=True)["input_ids"]
    assert tokenizer.bos_token_id not in ids
    assert "<|im_start|>" in tokenizer.chat_template
    assert header_facts(smollm2_gguf)["quantization"] == "Q4_1"


def test_gemma_loads_as_the_gguf_file_describes(gemma, gemma_gguf):
    model, tokenizer = gemma
    config = model.config.get_text_config()
    assert type(model).__name__ == "Gemma3ForCausalLM"
    assert str(model.dtype) == "torch.float32"  # dequantised from Q4_K_M
    assert (config.num_hidden_layers, config.num_attention_heads) == (18, 4)
    assert config.num_key_value_heads == 1
    assert tokenizer.is_fast and tokenizer.bos_token == "<bos>"
    assert header_facts(gemma_gguf)["quantization"] == "Q4_K_M"


def test_smollm2_extraction_equals_one_sentence_eager_reference(smollm2):
    # BOS: the tokenizer's, <|im_start|> (id 1), the token every chat turn opens with
    _check_extraction(*smollm2, bos_expected="tokenizer")


def test_gemma_extraction_equals_one_sentence_eager_reference(gemma):
    _check_extraction(*gemma, bos_expected="tokenizer")


def test_extraction_records_real_quantised_weights(smollm2, smollm2_gguf, tmp_path, monkeypatch):
    """The attention file says where the weights came from (what the workflow verified)."""
    from readalike.core.formats import read_attention, write_attention
    from readalike.models.gguf import verify_gguf
    from tests.conftest import SMOLLM2_GGUF

    facts = verify_gguf(smollm2_gguf, SMOLLM2_GGUF, tmp_path / "gguf.json")
    # the session's model, not a second half-minute load of the same file
    monkeypatch.setattr(ex, "load_causal_lm", lambda *args, **kwargs: smollm2)
    sets = ex.extract_conditions(
        smollm2_gguf,
        [SENTENCES[:2]],
        {"plain": ""},
        model_name="smollm2",
        progress=False,
        checkpoint_facts=facts,
    )
    write_attention(tmp_path / "plain.h5", sets["plain"])
    attrs = read_attention(tmp_path / "plain.h5").attrs
    assert attrs["weights"] == "real"
    assert attrs["quantization"] == "Q4_1"
    assert attrs["dequantized_dtype"] == "float32"
    assert attrs["gguf_sha256"] == facts["sha256"]


def test_device_auto_loads_with_accelerate(tiny_model, monkeypatch):
    """``device: auto`` (config/paper.yaml) is ``device_map="auto"``, which transformers
    refuses without accelerate; with it and no GPU, every layer lands on the CPU."""
    pytest.importorskip("accelerate", reason="accelerate is a dependency: pip install -e .")
    from transformers import AutoModelForCausalLM

    seen = {}
    load = AutoModelForCausalLM.from_pretrained

    def recording(*args, **kwargs):
        seen.update(kwargs)
        return load(*args, **kwargs)

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", recording)
    folder, _ = tiny_model
    model, tokenizer = ex.load_causal_lm(folder, device="auto")
    assert seen["device_map"] == "auto"
    assert {p.device.type for p in model.parameters()} == {"cpu"}
    reference, _ = ex.load_causal_lm(folder)
    words = SENTENCES[:2]
    got = ex.extract_attention(model, tokenizer, words, "", progress=False)
    expected = ex.extract_attention(reference, tokenizer, words, "", progress=False)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
