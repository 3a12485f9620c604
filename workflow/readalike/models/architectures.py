"""Where the weights that Study B reads live, per model family, read from the checkpoint.

The weight analyses of arXiv 2310.00492 (:mod:`readalike.study_b.ffn_concepts`,
:mod:`readalike.study_b.head_pairs`) need, per decoder layer, the feed-forward *value vectors*
(the down / out projection), the *query and key maps* of the attention and the norm in
front of them, and the input and output embeddings. This module says where each lives
for each family (one :class:`Family` entry per ``config.model_type``, as safetensors
parameter names) and reads them one tensor at a time from the checkpoint's shards
(:class:`SafetensorsTensors`), so an analysis holds one layer's matrices, never the
model. The same adapter also reads a loaded model's ``state_dict`` (:func:`model_weights`).

The folding maths, per kind of norm
-----------------------------------
For a word vector ``e`` (``hidden``,) the head-pair analysis wants the query (and key)
the layer computes from it, ``q(e) = W norm(e) + b``, with the norm's positive per-word
denominator ``s(e)`` taken out (it changes no sign; the authors leave it out too):
``h(e) = s(e) q(e)``, linear in ``e`` up to a bias term scaled by ``s(e)``:

* **RMSNorm** ``g * e / s``, ``s = sqrt(mean(e^2) + eps)`` (LLaMA, Mistral, Qwen2, Phi-3):
  ``h = (W diag(g)) e + s(e) b``;
* **Gemma's RMSNorm** ``(1 + w) * e / s``: the same with ``g = 1 + w``;
* **LayerNorm** ``g * (e - mean(e)) / s + beta``, ``s = sqrt(var(e) + eps)`` (GPT-2,
  GPT-Neo, GPT-NeoX, OPT, Phi, Falcon): ``h = (W diag(g)) (e - mean(e)) + s(e) (W beta + b)``;
* **no input norm, RMSNorm on the projection** ``q = g_q * (W e + b) / s_q`` (OLMo-2's
  q/k norms over all heads at once, ``s_q = rms(W e + b)``): ``h = diag(g_q) W e + g_q * b``.

:class:`QueryKeyMaps` holds the folded ``W`` and constant, whether to centre ``e`` and
which ``s(e)`` multiplies the constant; :meth:`QueryKeyMaps.project` evaluates ``h``.

Value vectors are the columns of the down projection, ``(intermediate, hidden)`` after
transposing an ``nn.Linear`` weight (GPT-2's ``Conv1D`` already stores them as rows). A
norm *after* the feed-forward block (OLMo-2's ``post_feedforward_layernorm``,
``g * y / rms(y)``) rescales every neuron's contribution by its gain: value vector ``j``
becomes ``g * W[:, j]`` (up to the positive per-token ``1 / rms``). The down projection's
bias is one constant vector added whatever the neurons do and is not a value vector.

Families whose maths this does not model exactly are refused by name with one line
(:data:`REFUSED`), as are unknown ones; a variant of a known family that departs from its
entry (OPT without pre-norm, Phi with q/k LayerNorms) is refused the same way.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from readalike.models.gguf import dequantized_model, is_gguf

logger = logging.getLogger(__name__)

#: Kinds of pre-attention norm (see the module notes for the maths of each).
NORM_KINDS = ("rms", "rms_one_plus", "layer", "none")


@dataclass(frozen=True)
class Family:
    """Where one family's analysed weights live (``{i}``: the layer index).

    Attributes
    ----------
    layer
        Prefix of a decoder layer's parameters, e.g. ``"model.layers.{i}."``.
    value
        The down / out projection weight, relative to the layer.
    value_is_conv1d
        GPT-2's ``Conv1D`` stores ``(in, out)``, i.e. already ``(intermediate, hidden)``.
    query, key
        Separate q / k projection modules (``.weight``, optional ``.bias``), or ``None``
        when fused.
    fused
        The fused q/k/v module and its layout: ``"concat"`` (``[q | k | v]`` rows),
        ``"conv1d_concat"`` (the same, stored ``(in, out)``), ``"per_head"`` (GPT-NeoX:
        ``(heads, 3, head_dim)`` rows) or ``"falcon"`` (chosen from the config).
    norm, norm_kind
        The pre-attention norm module (``None`` for none) and its kind (:data:`NORM_KINDS`).
    eps
        Config attribute of the norm's epsilon, or a float.
    qk_norm
        OLMo-2-style RMSNorms on the whole q / k projection, or ``None``.
    value_post_norm
        A norm applied to the feed-forward output (its gain is folded into value vectors).
    embed, unembed
        Input embedding name; output embedding names to try in order (the input one when
        the checkpoint ties them and stores only that).
    check
        Refuses a config variant the entry does not describe (returns a reason or ``None``).
    """

    layer: str
    value: str
    norm: str | None
    norm_kind: str
    eps: str | float
    embed: str
    unembed: tuple[str, ...] = ("lm_head.weight",)
    query: str | None = None
    key: str | None = None
    fused: tuple[str, str] | None = None
    value_is_conv1d: bool = False
    qk_norm: tuple[str, str] | None = None
    value_post_norm: str | None = None
    check: Callable[[object], str | None] | None = None


def _llama_like(norm_kind: str = "rms") -> Family:
    return Family(
        layer="model.layers.{i}.",
        value="mlp.down_proj.weight",
        query="self_attn.q_proj",
        key="self_attn.k_proj",
        norm="input_layernorm",
        norm_kind=norm_kind,
        eps="rms_norm_eps",
        embed="model.embed_tokens.weight",
    )


def _opt_check(config) -> str | None:
    if not getattr(config, "do_layer_norm_before", True):
        return "post-norm OPT (do_layer_norm_before=False) is not modelled"
    if getattr(config, "word_embed_proj_dim", config.hidden_size) != config.hidden_size:
        return "OPT with project_in/project_out (word_embed_proj_dim != hidden_size)"
    if not getattr(config, "layer_norm_elementwise_affine", True):
        return "OPT LayerNorms without weights are not modelled"
    return None


def _phi_check(config) -> str | None:
    if getattr(config, "qk_layernorm", False):
        return "Phi with per-head q/k LayerNorms (qk_layernorm=True) is not modelled"
    return None


#: One entry per supported ``config.model_type``.
FAMILIES: dict[str, Family] = {
    "llama": _llama_like(),
    "mistral": _llama_like(),
    "qwen2": _llama_like(),
    "gemma": _llama_like("rms_one_plus"),
    "phi3": Family(
        layer="model.layers.{i}.",
        value="mlp.down_proj.weight",
        fused=("self_attn.qkv_proj", "concat"),
        norm="input_layernorm",
        norm_kind="rms",
        eps="rms_norm_eps",
        embed="model.embed_tokens.weight",
    ),
    "olmo2": Family(
        layer="model.layers.{i}.",
        value="mlp.down_proj.weight",
        query="self_attn.q_proj",
        key="self_attn.k_proj",
        norm=None,
        norm_kind="none",
        eps="rms_norm_eps",
        qk_norm=("self_attn.q_norm", "self_attn.k_norm"),
        value_post_norm="post_feedforward_layernorm",
        embed="model.embed_tokens.weight",
    ),
    "gpt2": Family(
        layer="transformer.h.{i}.",
        value="mlp.c_proj.weight",
        value_is_conv1d=True,
        fused=("attn.c_attn", "conv1d_concat"),
        norm="ln_1",
        norm_kind="layer",
        eps="layer_norm_epsilon",
        embed="transformer.wte.weight",
    ),
    "gpt_neo": Family(
        layer="transformer.h.{i}.",
        value="mlp.c_proj.weight",
        query="attn.attention.q_proj",
        key="attn.attention.k_proj",
        norm="ln_1",
        norm_kind="layer",
        eps="layer_norm_epsilon",
        embed="transformer.wte.weight",
    ),
    "gpt_neox": Family(
        layer="gpt_neox.layers.{i}.",
        value="mlp.dense_4h_to_h.weight",
        fused=("attention.query_key_value", "per_head"),
        norm="input_layernorm",
        norm_kind="layer",
        eps="layer_norm_eps",
        embed="gpt_neox.embed_in.weight",
        unembed=("lm_head.weight", "embed_out.weight"),
    ),
    "opt": Family(
        layer="model.decoder.layers.{i}.",
        value="fc2.weight",
        query="self_attn.q_proj",
        key="self_attn.k_proj",
        norm="self_attn_layer_norm",
        norm_kind="layer",
        eps=1e-5,  # nn.LayerNorm's default: OPT's config has no epsilon
        embed="model.decoder.embed_tokens.weight",
        check=_opt_check,
    ),
    "phi": Family(
        layer="model.layers.{i}.",
        value="mlp.fc2.weight",
        query="self_attn.q_proj",
        key="self_attn.k_proj",
        norm="input_layernorm",
        norm_kind="layer",
        eps="layer_norm_eps",
        embed="model.embed_tokens.weight",
        check=_phi_check,
    ),
    "falcon": Family(
        layer="transformer.h.{i}.",
        value="mlp.dense_4h_to_h.weight",
        fused=("self_attention.query_key_value", "falcon"),
        norm="input_layernorm",  # ln_attn in the two-norm variant, see _falcon_norm
        norm_kind="layer",
        eps="layer_norm_epsilon",
        embed="transformer.word_embeddings.weight",
    ),
}

#: Families known to differ from every entry above, and why (refused with this line).
REFUSED: dict[str, str] = {
    "qwen3": "per-head q/k RMSNorms give each head its own per-word factor",
    "gemma2": "a norm after the feed-forward block and attention soft-capping",
    "gemma3": "per-head q/k norms and a norm after the feed-forward block",
    "stablelm": "optional per-head q/k LayerNorms and a partly parallel residual",
    "cohere": "LayerNorm without bias centred over the hidden size, parallel blocks",
    "bloom": "a LayerNorm on the word embeddings before the first layer",
}


def family_of(config, model_name: str) -> Family:
    """The :class:`Family` entry of a config, or one ``ValueError`` line naming the model.

    Raises
    ------
    ValueError
        If ``config.model_type`` is unknown, listed in :data:`REFUSED`, or a variant the
        entry does not describe.
    """
    model_type = str(getattr(config, "model_type", ""))
    if model_type in REFUSED:
        raise ValueError(
            f"model {model_name!r}: family {model_type!r} is refused by the weight analyses "
            f"({REFUSED[model_type]})"
        )
    family = FAMILIES.get(model_type)
    if family is None:
        raise ValueError(
            f"model {model_name!r}: unknown family {model_type!r}; the weight analyses know "
            f"{', '.join(sorted(FAMILIES))} "
            "(add an entry to readalike.models.architectures.FAMILIES)"
        )
    reason = family.check(config) if family.check is not None else None
    if reason is not None:
        raise ValueError(f"model {model_name!r}: family {model_type!r} variant refused: {reason}")
    return family


# --------------------------------------------------------------------------- tensor sources


class SafetensorsTensors:
    """Tensors of a checkpoint folder, read one at a time from its safetensors file(s).

    ``model.safetensors.index.json`` (sharded) or a single ``model.safetensors``.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        index = self.folder / "model.safetensors.index.json"
        single = self.folder / "model.safetensors"
        if index.is_file():
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
            self._file = {name: self.folder / shard for name, shard in weight_map.items()}
        elif single.is_file():
            from safetensors import safe_open

            with safe_open(single, framework="pt") as handle:
                self._file = dict.fromkeys(handle.keys(), single)
        else:
            raise ValueError(
                f"{self.folder}: no model.safetensors or model.safetensors.index.json; the "
                "weight analyses read safetensors checkpoints"
            )
        #: names read so far, in order (tests check that only what is needed is read)
        self.read: list[str] = []

    def names(self) -> set[str]:
        return set(self._file)

    def get(self, name: str) -> torch.Tensor:
        from safetensors import safe_open

        path = self._file[name]
        with safe_open(path, framework="pt") as handle:
            tensor = handle.get_tensor(name)
        self.read.append(name)
        return tensor

    def where(self, name: str) -> str:
        return str(self._file.get(name, self.folder))


class StateDictTensors:
    """The same interface over a loaded model's parameters (no copy)."""

    def __init__(self, model: torch.nn.Module):
        self._params = dict(model.state_dict(keep_vars=False))
        self.read: list[str] = []

    def names(self) -> set[str]:
        return set(self._params)

    def get(self, name: str) -> torch.Tensor:
        self.read.append(name)
        return self._params[name].detach()

    def where(self, name: str) -> str:
        return "the loaded model"


# --------------------------------------------------------------------------- folded maps


@dataclass(frozen=True)
class QueryKeyMaps:
    """One layer's folded query and key maps: ``h(e) = W c(e) + s(e) b`` (module notes).

    Attributes
    ----------
    w_q, w_k
        ``(n_heads * head_dim, hidden)`` and ``(n_kv_heads * head_dim, hidden)`` float32.
    b_q, b_k
        ``(n_heads * head_dim,)`` / ``(n_kv_heads * head_dim,)`` constants, or ``None``.
    centre
        Subtract each word's mean over ``hidden`` first (LayerNorm).
    scale
        Which ``s(e)`` multiplies the constant: ``"rms"``, ``"std"`` or ``None`` (1).
    eps
        The input norm's epsilon inside ``s(e)``.
    """

    w_q: torch.Tensor
    w_k: torch.Tensor
    b_q: torch.Tensor | None = None
    b_k: torch.Tensor | None = None
    centre: bool = False
    scale: str | None = None
    eps: float = 0.0

    def project(self, E: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(n_words, hidden)`` word vectors -> ``h_q (n_words, n_q)``, ``h_k (n_words, n_k)``."""
        E = E.float()
        X = E - E.mean(dim=-1, keepdim=True) if self.centre else E
        hq = X @ self.w_q.to(E.device).T
        hk = X @ self.w_k.to(E.device).T
        if self.b_q is None and self.b_k is None:
            return hq, hk
        if self.scale == "rms":
            s = torch.sqrt(E.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        elif self.scale == "std":
            s = torch.sqrt(E.var(dim=-1, correction=0, keepdim=True) + self.eps)
        else:
            s = torch.ones(E.shape[0], 1, device=E.device)
        if self.b_q is not None:
            hq = hq + s * self.b_q.to(E.device)
        if self.b_k is not None:
            hk = hk + s * self.b_k.to(E.device)
        return hq, hk


def _config_int(config, *names: str) -> int | None:
    for name in names:
        value = getattr(config, name, None)
        if value is not None:
            return int(value)
    return None


class ModelWeights:
    """A model's analysed weights, read through its :class:`Family` entry.

    Parameters
    ----------
    config
        The model's ``transformers`` config.
    tensors
        :class:`SafetensorsTensors` or :class:`StateDictTensors`.
    model_name
        Named in errors.

    Attributes
    ----------
    n_layers, n_heads, n_kv_heads, head_dim, hidden_size : int
    """

    def __init__(self, config, tensors, model_name: str):
        self.family = family_of(config, model_name)
        self.config = config
        self.tensors = tensors
        self.model_name = model_name
        self._names = tensors.names()
        self.hidden_size = _config_int(config, "hidden_size", "n_embd")
        self.n_layers = _config_int(config, "num_hidden_layers", "n_layer", "num_layers")
        self.n_heads = _config_int(config, "num_attention_heads", "n_head", "num_heads")
        self.n_kv_heads = self._kv_heads()
        self.head_dim = _config_int(config, "head_dim") or self.hidden_size // self.n_heads
        if self.n_heads % self.n_kv_heads:
            raise ValueError(
                f"model {model_name!r}: {self.n_heads} attention heads are not a multiple "
                f"of {self.n_kv_heads} key/value heads"
            )
        eps = self.family.eps
        self.eps = float(eps if isinstance(eps, float) else getattr(config, eps))

    def _kv_heads(self) -> int:
        config = self.config
        if config.model_type == "falcon":
            if getattr(config, "new_decoder_architecture", False):
                return int(config.num_kv_heads)
            return 1 if getattr(config, "multi_query", True) else self.n_heads
        return _config_int(config, "num_key_value_heads") or self.n_heads

    # ---------------------------------------------------------------- names

    def _resolve(self, name: str, required: bool = True) -> str | None:
        """The stored name: as given, or without its base-model prefix (hub GPT-2 files)."""
        if name in self._names:
            return name
        stripped = name.split(".", 1)[1] if "." in name else name
        if stripped in self._names:
            return stripped
        if required:
            raise ValueError(
                f"model {self.model_name!r}: checkpoint has no tensor {name!r} "
                f"({self.tensors.where(name)})"
            )
        return None

    def _get(self, name: str) -> torch.Tensor:
        return self.tensors.get(self._resolve(name)).float()

    def _maybe(self, name: str) -> torch.Tensor | None:
        found = self._resolve(name, required=False)
        return None if found is None else self.tensors.get(found).float()

    def _layer(self, layer: int, rel: str) -> str:
        return self.family.layer.format(i=layer) + rel

    # ---------------------------------------------------------------- embeddings

    def input_embeddings(self) -> torch.Tensor:
        """``(vocab, hidden)`` float32 input embedding rows."""
        return self._get(self.family.embed)

    def output_embeddings(self) -> torch.Tensor:
        """``(vocab, hidden)`` float32 output embedding (LM head) rows."""
        for name in self.family.unembed:
            found = self._resolve(name, required=False)
            if found is not None:
                return self.tensors.get(found).float()
        if getattr(self.config, "tie_word_embeddings", False):
            return self.input_embeddings()
        raise ValueError(
            f"model {self.model_name!r}: checkpoint has no output embeddings "
            f"({' or '.join(self.family.unembed)}) and does not tie them"
        )

    # ---------------------------------------------------------------- feed-forward

    def value_shape(self) -> tuple[int, int]:
        """``(intermediate, hidden)`` of layer 0's value vectors (reads that one tensor)."""
        return tuple(self.value_vectors(0).shape)

    def value_vectors(self, layer: int) -> torch.Tensor:
        """``(intermediate, hidden)`` float32: row ``j`` is what neuron ``j`` writes."""
        weight = self._get(self._layer(layer, self.family.value))
        values = weight if self.family.value_is_conv1d else weight.T
        if self.family.value_post_norm is not None:
            gain = self._get(self._layer(layer, self.family.value_post_norm + ".weight"))
            values = values * gain[None, :]
        return values

    # ---------------------------------------------------------------- attention

    def _query_key_raw(self, layer: int):
        """Unfolded ``(W_q, b_q, W_k, b_k)`` in ``nn.Linear`` layout; biases may be ``None``."""
        family, hd = self.family, self.head_dim
        n_q, n_k = self.n_heads * hd, self.n_kv_heads * hd
        if family.fused is None:
            wq = self._get(self._layer(layer, family.query + ".weight"))
            wk = self._get(self._layer(layer, family.key + ".weight"))
            bq = self._maybe(self._layer(layer, family.query + ".bias"))
            bk = self._maybe(self._layer(layer, family.key + ".bias"))
            return wq, bq, wk, bk
        module, layout = family.fused
        w = self._get(self._layer(layer, module + ".weight"))
        b = self._maybe(self._layer(layer, module + ".bias"))
        if layout == "conv1d_concat":
            w, layout = w.T, "concat"
        if layout == "falcon":
            layout = self._falcon_layout()
        if layout == "concat":

            def take(t):
                return (t[:n_q], t[n_q : n_q + n_k])

        elif layout == "per_head":  # (heads, 3, head_dim) rows: [q_h | k_h | v_h] per head

            def take(t):
                t = t.reshape(self.n_heads, 3, hd, *t.shape[1:])
                return t[:, 0].reshape(n_q, *t.shape[3:]), t[:, 1].reshape(n_k, *t.shape[3:])

        elif layout == "grouped":  # Falcon's new architecture: (kv, g + 2, head_dim) rows

            def take(t):
                g = self.n_heads // self.n_kv_heads
                t = t.reshape(self.n_kv_heads, g + 2, hd, *t.shape[1:])
                return t[:, :g].reshape(n_q, *t.shape[3:]), t[:, g].reshape(n_k, *t.shape[3:])

        else:  # pragma: no cover - the table holds only the layouts above
            raise AssertionError(layout)
        wq, wk = take(w)
        bq, bk = take(b) if b is not None else (None, None)
        return wq, bq, wk, bk

    def _falcon_layout(self) -> str:
        config = self.config
        if getattr(config, "new_decoder_architecture", False):
            return "grouped"
        return "concat" if getattr(config, "multi_query", True) else "per_head"

    def _norm_name(self) -> str | None:
        config = self.config
        if config.model_type == "falcon" and getattr(config, "parallel_attn", True):
            n_ln = getattr(config, "num_ln_in_parallel_attn", None)
            if n_ln is None and getattr(config, "new_decoder_architecture", False):
                n_ln = 2
            if n_ln == 2:
                return "ln_attn"
        return self.family.norm

    def query_key(self, layer: int) -> QueryKeyMaps:
        """The layer's folded :class:`QueryKeyMaps` (the maths in the module notes)."""
        wq, bq, wk, bk = self._query_key_raw(layer)
        kind = self.family.norm_kind
        if kind == "none":
            if self.family.qk_norm is not None:
                q_norm, k_norm = self.family.qk_norm
                gq = self._get(self._layer(layer, q_norm + ".weight"))
                gk = self._get(self._layer(layer, k_norm + ".weight"))
                wq, wk = gq[:, None] * wq, gk[:, None] * wk
                bq = None if bq is None else gq * bq
                bk = None if bk is None else gk * bk
            return QueryKeyMaps(wq, wk, bq, bk)
        norm = self._norm_name()
        gain = self._get(self._layer(layer, norm + ".weight"))
        if kind == "rms_one_plus":
            gain = 1.0 + gain
        if kind == "layer":
            beta = self._maybe(self._layer(layer, norm + ".bias"))
            if beta is not None:
                bq = wq @ beta + (0.0 if bq is None else bq)
                bk = wk @ beta + (0.0 if bk is None else bk)
        scale = "std" if kind == "layer" else "rms"
        return QueryKeyMaps(
            wq * gain[None, :],
            wk * gain[None, :],
            bq,
            bk,
            centre=kind == "layer",
            scale=scale,
            eps=self.eps,
        )


def open_checkpoint(location: str | os.PathLike, model_name: str) -> ModelWeights:
    """:class:`ModelWeights` of a checkpoint folder (or hub id), read from safetensors.

    Nothing but the config is read here; each analysis then reads the tensors it needs,
    one at a time. A ``.gguf`` file has no tensor that can be read alone in float32: it is
    dequantised whole (:func:`readalike.models.gguf.dequantized_model`, once per job), so
    memory holds the float32 model, not one layer; the family is checked after loading.
    """
    from transformers import AutoConfig

    if is_gguf(location):
        model = dequantized_model(str(location))
        family_of(model.config, model_name)
        return model_weights(model, model_name)
    folder = Path(location)
    if not folder.is_dir():
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(str(location), allow_patterns=["*.json", "*.safetensors"]))
    config = AutoConfig.from_pretrained(folder)
    family_of(config, model_name)  # refuse before touching the weights
    weights = ModelWeights(config, SafetensorsTensors(folder), model_name)
    logger.info(
        "%s: %s checkpoint, %d layers, %d/%d heads",
        model_name,
        config.model_type,
        weights.n_layers,
        weights.n_heads,
        weights.n_kv_heads,
    )
    return weights


def model_weights(model: torch.nn.Module, model_name: str) -> ModelWeights:
    """:class:`ModelWeights` of a loaded model (its ``state_dict``)."""
    return ModelWeights(model.config, StateDictTensors(model), model_name)
