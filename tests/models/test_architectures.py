"""Tests of readalike.models.architectures: every family's folded maps against the model's modules.

The reference runs the loaded model's own modules (norm, projection, fused split) on word
vectors and takes the documented per-word factor out; the adapter reads parameter names
from the saved safetensors checkpoint. Norm gains and biases are randomised so that a
gain or bias forgotten in the folding shows.
"""

from __future__ import annotations

import json

import pytest
import torch
import transformers as tr

from readalike.models.architectures import (
    FAMILIES,
    REFUSED,
    SafetensorsTensors,
    family_of,
    model_weights,
    open_checkpoint,
)
from readalike.study_b.head_pairs import head_projections_of

#: tiny models run faster on one torch thread (see conftest._torch_threads)
TORCH_THREADS = 1

#: hidden 16, 4 query heads (2 key/value heads where the family has GQA), 2 layers
_SIZES = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4)


def tiny_config(family: str, vocab_size: int = 64, **extra):
    """A tiny random config of ``family`` (a ``model_type``), BOS/EOS/pad inside the vocabulary."""
    ids = dict(bos_token_id=1, eos_token_id=2, pad_token_id=0)
    if family == "gpt2":
        config = tr.GPT2Config(n_embd=16, n_layer=2, n_head=4, n_positions=128, **ids)
    elif family == "gpt_neo":
        config = tr.GPTNeoConfig(
            hidden_size=16,
            num_layers=2,
            num_heads=4,
            attention_types=[[["global", "local"], 1]],
            max_position_embeddings=128,
            window_size=8,
            **ids,
        )
    elif family == "gpt_neox":
        config = tr.GPTNeoXConfig(**_SIZES, intermediate_size=24, **ids)
    elif family == "opt":
        config = tr.OPTConfig(**_SIZES, ffn_dim=24, word_embed_proj_dim=16, **ids)
    elif family == "phi":
        config = tr.PhiConfig(**_SIZES, intermediate_size=24, **ids)
    elif family == "falcon":
        config = tr.FalconConfig(**_SIZES, **ids)
    else:
        cls = {
            "llama": tr.LlamaConfig,
            "mistral": tr.MistralConfig,
            "qwen2": tr.Qwen2Config,
            "phi3": tr.Phi3Config,
            "gemma": tr.GemmaConfig,
            "olmo2": tr.Olmo2Config,
            "qwen3": tr.Qwen3Config,
        }[family]
        kwargs = dict(**_SIZES, intermediate_size=24, num_key_value_heads=2, **ids)
        if family in ("gemma", "qwen3"):
            kwargs["head_dim"] = 4
        if family == "qwen2":
            kwargs["bos_token_id"] = None  # as real Qwen2 checkpoints
        config = cls(**kwargs)
    config.vocab_size = vocab_size
    for key, value in extra.items():
        setattr(config, key, value)
    return config


def tiny_model(config, seed: int = 0):
    """A random model with norm gains and all biases far from their init (ones / zeros)."""
    torch.manual_seed(seed)
    model = tr.AutoModelForCausalLM.from_config(config, attn_implementation="eager").eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.ndim == 1:  # norm gains and biases
                param.uniform_(-0.5, 1.5) if "bias" in name else param.uniform_(0.3, 2.0)
    return model


def _rms(x: torch.Tensor, eps: float) -> torch.Tensor:
    return torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def _falcon_query_key(attn, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Falcon's queries and keys, ``(n, heads * head_dim)`` and ``(n, kv_heads * head_dim)``,
    split from its fused projection the way the loaded model splits them: with its own
    ``_split_heads`` where transformers has one (before 5.25), else as ``forward`` does."""
    n = x.shape[0]
    fused = attn.query_key_value(x)
    if hasattr(attn, "_split_heads"):
        q, k, _ = attn._split_heads(fused[:, None])
        return q[:, 0].reshape(n, -1), k[:, 0].reshape(n, -1)
    fused = fused.view(n, -1, attn.head_dim)
    if attn.new_decoder_architecture:
        grouped = fused.view(n, attn.num_kv_heads, -1, attn.head_dim)
        q, k = grouped[..., :-2, :].flatten(-3, -2), grouped[..., -2, :]
    elif attn.multi_query:
        q, k, _ = fused.split([attn.num_heads, 1, 1], dim=-2)
    else:
        q, k, _ = fused.unflatten(-2, (attn.num_heads, 3)).unbind(-2)
    return q.reshape(n, -1), k.reshape(n, -1)


def _std(x: torch.Tensor, eps: float) -> torch.Tensor:
    return torch.sqrt(x.var(-1, correction=0, keepdim=True) + eps)


def reference_qk(model, layer: int, E: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's own query and key of the word vectors ``E``, per-word norm factor out.

    Returns ``(n_words, n_heads, head_dim)`` each, keys repeated to the query heads.
    """
    config, family = model.config, model.config.model_type
    n_heads = config.num_attention_heads
    n = E.shape[0]
    if family == "gpt2":
        L = model.transformer.h[layer]
        qkv = L.attn.c_attn(L.ln_1(E))
        q, k = qkv[:, :16], qkv[:, 16:32]
        s = _std(E, config.layer_norm_epsilon)
    elif family == "gpt_neo":
        L = model.transformer.h[layer]
        x = L.ln_1(E)
        q, k = L.attn.attention.q_proj(x), L.attn.attention.k_proj(x)
        s = _std(E, config.layer_norm_epsilon)
    elif family == "gpt_neox":
        L = model.gpt_neox.layers[layer]
        qkv = L.attention.query_key_value(L.input_layernorm(E)).view(n, n_heads, -1)
        hd = qkv.shape[-1] // 3
        q, k = qkv[..., :hd].reshape(n, -1), qkv[..., hd : 2 * hd].reshape(n, -1)
        s = _std(E, config.layer_norm_eps)
    elif family == "opt":
        L = model.model.decoder.layers[layer]
        x = L.self_attn_layer_norm(E)
        q, k = L.self_attn.q_proj(x), L.self_attn.k_proj(x)
        s = _std(E, 1e-5)
    elif family == "phi":
        L = model.model.layers[layer]
        x = L.input_layernorm(E)
        q, k = L.self_attn.q_proj(x), L.self_attn.k_proj(x)
        s = _std(E, config.layer_norm_eps)
    elif family == "falcon":
        L = model.transformer.h[layer]
        norm = L.ln_attn if hasattr(L, "ln_attn") else L.input_layernorm
        q, k = _falcon_query_key(L.self_attention, norm(E))
        s = _std(E, config.layer_norm_epsilon)
    elif family == "phi3":
        L = model.model.layers[layer]
        qkv = L.self_attn.qkv_proj(L.input_layernorm(E))
        hd = config.hidden_size // n_heads
        nq, nk = n_heads * hd, config.num_key_value_heads * hd
        q, k = qkv[:, :nq], qkv[:, nq : nq + nk]
        s = _rms(E, config.rms_norm_eps)
    elif family == "olmo2":
        attn = model.model.layers[layer].self_attn
        q_raw, k_raw = attn.q_proj(E), attn.k_proj(E)
        q = attn.q_norm(q_raw) * _rms(q_raw, config.rms_norm_eps)
        k = attn.k_norm(k_raw) * _rms(k_raw, config.rms_norm_eps)
        s = torch.ones(n, 1)
    else:  # llama, mistral, qwen2, gemma: separate projections after an RMSNorm
        L = model.model.layers[layer]
        x = L.input_layernorm(E)
        q, k = L.self_attn.q_proj(x), L.self_attn.k_proj(x)
        s = _rms(E, config.rms_norm_eps)
    hd = q.shape[-1] // n_heads
    q, k = (q * s).reshape(n, n_heads, hd), (k * s).reshape(n, -1, hd)
    if k.shape[1] != n_heads:  # grouped-query / multi-query: head h reads h // group
        k = k.repeat_interleave(n_heads // k.shape[1], dim=1)
    return q, k


def reference_value_vectors(model, layer: int) -> torch.Tensor:
    """``(intermediate, hidden)``: what the down projection writes per unit of each neuron."""
    family = model.config.model_type
    post = None
    if family in ("gpt2", "gpt_neo"):
        down = model.transformer.h[layer].mlp.c_proj
    elif family == "gpt_neox":
        down = model.gpt_neox.layers[layer].mlp.dense_4h_to_h
    elif family == "opt":
        down = model.model.decoder.layers[layer].fc2
    elif family == "phi":
        down = model.model.layers[layer].mlp.fc2
    elif family == "falcon":
        down = model.transformer.h[layer].mlp.dense_4h_to_h
    else:
        down = model.model.layers[layer].mlp.down_proj
        if family == "olmo2":
            post = model.model.layers[layer].post_feedforward_layernorm.weight
    n_in = down.weight.shape[0] if family == "gpt2" else down.weight.shape[1]
    eye = torch.eye(n_in)
    values = down(eye) - down(torch.zeros(1, n_in))  # the bias is no value vector
    return values if post is None else values * post[None, :]


#: every family, plus the Falcon layouts its config chooses between (fused q/k/v split)
VARIANTS = [
    *[pytest.param((family, {}), id=family) for family in sorted(FAMILIES)],
    pytest.param(
        ("falcon", {"new_decoder_architecture": True, "num_kv_heads": 2, "bias": True}),
        id="falcon-grouped",
    ),
    pytest.param(("falcon", {"multi_query": False, "bias": True}), id="falcon-per-head"),
    pytest.param(("falcon", {"parallel_attn": False}), id="falcon-sequential"),
]


@pytest.fixture(scope="module", params=VARIANTS)
def saved(request, tmp_path_factory):
    family, extra = request.param
    model = tiny_model(tiny_config(family, **extra))
    folder = tmp_path_factory.mktemp(family)
    model.save_pretrained(folder)
    return family, model, folder


def test_folded_query_key_equal_the_models_own(saved):
    family, model, folder = saved
    weights = open_checkpoint(folder, family)
    E = torch.randn(9, 16, generator=torch.Generator().manual_seed(3)) * 2 + 0.5
    with torch.no_grad():
        for layer in range(2):
            hq, hk = head_projections_of(weights, layer, E)
            q_ref, k_ref = reference_qk(model, layer, E)
            torch.testing.assert_close(hq, q_ref, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(hk, k_ref, atol=1e-5, rtol=1e-5)


def test_value_vectors_and_embeddings_equal_the_models_own(saved):
    family, model, folder = saved
    weights = open_checkpoint(folder, family)
    with torch.no_grad():
        for layer in range(2):
            torch.testing.assert_close(
                weights.value_vectors(layer), reference_value_vectors(model, layer)
            )
        torch.testing.assert_close(weights.input_embeddings(), model.get_input_embeddings().weight)
        torch.testing.assert_close(
            weights.output_embeddings(), model.get_output_embeddings().weight
        )
    # the loaded model's state dict reads the same through the same table
    from_model = model_weights(model, family)
    torch.testing.assert_close(from_model.value_vectors(1), weights.value_vectors(1))


def test_only_the_asked_tensors_are_read(saved):
    family, _, folder = saved
    weights = open_checkpoint(folder, family)
    weights.value_vectors(1)
    read = weights.tensors.read
    assert 1 <= len(read) <= 2 and all(".1." in name for name in read)


def test_sharded_checkpoint_reads_the_same(tmp_path):
    config = tiny_config("gpt_neox")
    model = tiny_model(config)
    model.save_pretrained(tmp_path, max_shard_size="20KB")
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1
    sharded = open_checkpoint(tmp_path, "sharded")
    assert isinstance(sharded.tensors, SafetensorsTensors)
    torch.testing.assert_close(sharded.value_vectors(1), reference_value_vectors(model, 1))


@pytest.mark.parametrize(
    ("family", "extra", "match"),
    [
        pytest.param("qwen3", {}, r"'m'.*'qwen3' is refused.*per-head", id="qwen3"),
        pytest.param("opt", {"do_layer_norm_before": False}, "post-norm OPT", id="opt-post-norm"),
        pytest.param("phi", {"qk_layernorm": True}, "qk_layernorm", id="phi-qk-norm"),
    ],
)
def test_refused_by_name(family, extra, match):
    with pytest.raises(ValueError, match=match):
        family_of(tiny_config(family, **extra), "m")


def test_unknown_family_named():
    config = tr.BloomConfig(hidden_size=16, n_layer=1, n_head=2)
    with pytest.raises(ValueError, match=r"'b'.*'bloom' is refused"):
        family_of(config, "b")
    config.model_type = "mystery"
    with pytest.raises(ValueError, match=r"'b': unknown family 'mystery'; .*gpt2"):
        family_of(config, "b")
    assert set(REFUSED).isdisjoint(FAMILIES)


def test_no_safetensors_is_refused(tmp_path):
    tiny_config("llama").save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="no model.safetensors"):
        open_checkpoint(tmp_path, "x")
