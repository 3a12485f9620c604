"""Tests of readalike.study_b.head_pairs: norm folding, GQA, word-pair filters, verb metrics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.llama.modeling_llama import repeat_kv

from readalike.models.architectures import model_weights
from readalike.study_b.head_pairs import (
    fold_norm_gain,
    head_projections,
    head_word_pairs,
    kv_head_of,
    model_word_pairs,
    read_glove,
    similarity_thresholds,
    verb_pair_counts,
)
from readalike.study_b.verb_relations import (
    default_verb_lists,
    per_verb_fractions,
    read_verb_list,
    verb_lists,
    verb_relation_fractions,
)

#: tiny models run faster on one torch thread (see conftest._torch_threads)
TORCH_THREADS = 1


@pytest.fixture(scope="module")
def tiny_gqa_llama() -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=40,
        hidden_size=16,
        intermediate_size=24,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=32,
    )
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():  # a gain far from one, so that forgetting to fold it shows
        for layer in model.model.layers:
            layer.input_layernorm.weight.uniform_(0.2, 3.0)
    return model


# ---------------------------------------------------------------- projections


def test_folded_gain_equals_q_and_k_of_normed_inputs(tiny_gqa_llama):
    layer = tiny_gqa_llama.model.layers[1]
    x = torch.randn(5, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        normed = layer.input_layernorm(x)
        q_model = layer.self_attn.q_proj(normed)
        k_model = layer.self_attn.k_proj(normed)
        # RMSNorm = gain * x / rms(x): folding the gain leaves the per-word 1 / rms(x).
        eps = tiny_gqa_llama.config.rms_norm_eps
        inv_rms = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
        gain = layer.input_layernorm.weight
        q_folded = (x * inv_rms) @ fold_norm_gain(layer.self_attn.q_proj.weight, gain).T
        k_folded = (x * inv_rms) @ fold_norm_gain(layer.self_attn.k_proj.weight, gain).T
    torch.testing.assert_close(q_folded, q_model, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(k_folded, k_model, atol=1e-5, rtol=1e-5)


def test_head_projections_match_model_with_repeated_kv(tiny_gqa_llama):
    layer = tiny_gqa_llama.model.layers[0]
    E = torch.randn(7, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        hq, hk = head_projections(
            E,
            layer.self_attn.q_proj.weight,
            layer.self_attn.k_proj.weight,
            layer.input_layernorm.weight,
            n_heads=4,
            n_kv_heads=2,
        )
        normed = layer.input_layernorm(E)
        q = layer.self_attn.q_proj(normed).reshape(7, 4, 4)
        k = layer.self_attn.k_proj(normed).reshape(1, 7, 2, 4).transpose(1, 2)
        k = repeat_kv(k, 2)[0].transpose(0, 1)  # the model's own GQA repetition
    inv_rms = torch.rsqrt(E.pow(2).mean(-1) + tiny_gqa_llama.config.rms_norm_eps)
    assert hq.shape == hk.shape == (7, 4, 4)
    torch.testing.assert_close(hq * inv_rms[:, None, None], q, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(hk * inv_rms[:, None, None], k, atol=1e-5, rtol=1e-5)


def test_grouped_query_key_heads_by_hand():
    assert kv_head_of(4, 2).tolist() == [0, 0, 1, 1]
    assert kv_head_of(4, 1).tolist() == [0, 0, 0, 0]
    assert kv_head_of(4, 4).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="multiple"):
        kv_head_of(4, 3)
    # head_dim 1, hidden 2: kv head 0 reads x0, kv head 1 reads x1
    E = torch.tensor([[2.0, 3.0]])
    w_q = torch.eye(4, 2)
    w_k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    _, hk = head_projections(E, w_q, w_k, torch.ones(2), n_heads=4, n_kv_heads=2)
    assert hk[0, :, 0].tolist() == [2.0, 2.0, 3.0, 3.0]


# ---------------------------------------------------------------- thresholds, GloVe


def test_similarity_thresholds_by_hand():
    vectors = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    thresholds = similarity_thresholds(vectors, n_frequent=2)
    # word 0: cosines [1, 0] -> 0.5 + 1.96 * 0.5; word 2: [0.7071, 0.7071] -> std 0
    np.testing.assert_allclose(thresholds, [1.48, 1.48, 0.5**0.5], rtol=1e-6)


def test_read_glove_exact_lowercase_spaces_and_missing(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text(
        "3 2\nthe 1 0\nwrite 0 1\nWrite 0.5 0.5\n. . . 2 2\napple 3 x\n", encoding="utf-8"
    )
    # "apple" is not asked for, so its bad value is never parsed
    vectors, found = read_glove(path, ["The", "Write", ". . .", "absent", "the"])
    np.testing.assert_array_equal(vectors, [[1, 0], [0.5, 0.5], [2, 2], [0, 0], [1, 0]])
    assert found.tolist() == [True, True, True, False, True]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("the 1 0\nwrite 0\n", "line 2", id="short-vector"),
        pytest.param("the 1 0\nwrite 0 y\n", "not a number", id="not-a-number"),
        pytest.param("", "no vector", id="empty"),
    ],
)
def test_read_glove_errors_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad_glove.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as err:
        read_glove(path, ["the", "write"])
    assert "bad_glove.txt" in str(err.value)


# ---------------------------------------------------------------- word pairs by hand

_C = math.sqrt(1 - 0.9**2)
#: words 0 and 2 are the same direction, 1 and 3 too; 4 stands apart; 5 is close to 0
SIM = torch.tensor(
    [
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0],
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
        [0.9, 0.0, 0.0, _C],
    ]
)
#: (n_words=6, heads=1, head_dim=3); 0.1 marks words that never make a top 2
HQ = torch.tensor(
    [[5.0, 3.0, 6.0], [-4.0, 3.0, 0.1], [0.1] * 3, [0.1] * 3, [0.1, 0.1, 5.0], [0.1] * 3]
)[:, None, :]
HK = torch.tensor(
    [[0.1, 0.1, 7.0], [0.1] * 3, [4.0, 2.0, 0.1], [-3.0, -2.0, 0.1], [0.1] * 3, [0.1, 0.1, 6.0]]
)[:, None, :]


def pairs_of(table: pd.DataFrame) -> dict[tuple[int, int], int]:
    return {(a, b): n for a, b, n in table[["word_a", "word_b", "n_dims"]].itertuples(False)}


@pytest.mark.parametrize(
    ("thresholds", "min_dims", "sign", "expected"),
    [
        # dim 0: (0,2) and (1,3) pass; dim 1: (0,2) passes, (1,3) fails the sign
        # (3 * -2 < 0), (1,2) fails similarity; dim 2: (0,0) is one word, (0,5) fails the
        # threshold of word 5 (0.9 < 0.95). Only (0,2) is in two dimensions.
        pytest.param([0.5] * 5 + [0.95], 2, "dimension", {(0, 2): 2}, id="all-filters"),
        pytest.param([0.5] * 5 + [0.95], 1, "dimension", {(0, 2): 2, (1, 3): 1}, id="one-dim"),
        # lowering word 5's threshold lets (0,5) through in dimension 2
        pytest.param([0.5] * 6, 1, "dimension", {(0, 2): 2, (1, 3): 1, (0, 5): 1}, id="threshold"),
        # the full head product of (1,3) is 12 - 6 + 0.01 > 0, so dimension 1 keeps it
        pytest.param([0.5] * 5 + [0.95], 2, "head", {(0, 2): 2, (1, 3): 2}, id="head-sign"),
    ],
)
def test_head_word_pairs_filters(thresholds, min_dims, sign, expected):
    table = head_word_pairs(
        HQ, HK, SIM, torch.tensor(thresholds), k=2, min_dims=min_dims, sign=sign
    )
    assert list(table.columns) == ["head", "word_a", "word_b", "n_dims"]
    assert (table["head"] == 0).all()
    assert pairs_of(table) == expected


def test_head_word_pairs_none_survive_and_bad_sign():
    table = head_word_pairs(HQ, HK, SIM, torch.full((6,), 2.0), k=2, min_dims=1)
    assert table.empty
    assert list(table.columns) == ["head", "word_a", "word_b", "n_dims"]
    with pytest.raises(ValueError, match="sign"):
        head_word_pairs(HQ, HK, SIM, torch.zeros(6), sign="both")


def test_head_word_pairs_orientation_and_distinct_dimensions():
    sim = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    thresholds = torch.full((3,), 0.5)
    # dim 0: q top word 0, k top word 1; dim 1: the other way round
    hq = torch.tensor([[2.0, 0.0], [0.0, 2.0], [0.0, 0.0]])[:, None, :]
    hk = torch.tensor([[0.0, 2.0], [2.0, 0.0], [0.0, 0.0]])[:, None, :]
    unordered = head_word_pairs(hq, hk, sim, thresholds, k=1, min_dims=2)
    assert pairs_of(unordered) == {(0, 1): 2}
    ordered = head_word_pairs(hq, hk, sim, thresholds, k=1, min_dims=1, ordered=True)
    assert pairs_of(ordered) == {(0, 1): 1, (1, 0): 1}
    # one dimension holding both (0,1) and (1,0) is still one dimension
    both = torch.tensor([[2.0], [2.0], [0.0]])[:, None, :]
    assert pairs_of(head_word_pairs(both, both, sim, thresholds, k=2, min_dims=1)) == {(0, 1): 1}


def test_head_word_pairs_blocks_do_not_change_result():
    generator = torch.Generator().manual_seed(4)
    hq = torch.randn(60, 3, 8, generator=generator)
    hk = torch.randn(60, 3, 8, generator=generator)
    sim = torch.randn(60, 5, generator=generator)
    thresholds = similarity_thresholds(sim, n_frequent=20)
    whole = head_word_pairs(hq, hk, sim, thresholds, k=10, min_dims=1)
    blocks = head_word_pairs(hq, hk, sim, thresholds, k=10, min_dims=1, max_block_mb=1e-6)
    pd.testing.assert_frame_equal(whole, blocks)
    assert set(whole["head"]) == {0, 1, 2}


def test_model_word_pairs_runs_per_layer(tiny_gqa_llama):
    weights = model_weights(tiny_gqa_llama, "tiny")
    E = weights.input_embeddings()[:30]
    table = model_word_pairs(weights, E, n_frequent=10, k=8, min_dims=1, layers=[1])
    assert list(table.columns) == ["layer", "head", "word_a", "word_b", "n_dims"]
    assert (table["layer"] == 1).all()
    assert table["head"].between(0, 3).all()
    assert (table["word_a"] < table["word_b"]).all()
    # the same as running the layer by hand
    layer = tiny_gqa_llama.model.layers[1]
    with torch.no_grad():
        hq, hk = head_projections(
            E,
            layer.self_attn.q_proj.weight,
            layer.self_attn.k_proj.weight,
            layer.input_layernorm.weight,
            4,
            2,
        )
    by_hand = head_word_pairs(hq, hk, E, similarity_thresholds(E, 10), k=8, min_dims=1)
    pd.testing.assert_frame_equal(table.drop(columns="layer"), by_hand)


# ---------------------------------------------------------------- verb metrics

WORDS = ["write", "essay", "Explain", "idea", "go", "home", "write"]


def test_verb_pair_counts_by_hand():
    pairs = pd.DataFrame(
        [
            (0, 0, 0, 1),  # write-essay
            (0, 0, 1, 2),  # essay-Explain
            (0, 0, 0, 6),  # write-write (case variants of one verb): counts once
            (0, 1, 4, 5),  # go-home
            (1, 0, 3, 5),  # idea-home: no verb
            (1, 0, 0, 4),  # write-go: one for each verb
        ],
        columns=["layer", "head", "word_a", "word_b"],
    )
    counts = verb_pair_counts(pairs, WORDS, ["write", "explain", "go"])
    got = {(r.layer, r.head, r.verb): r.count for r in counts.itertuples()}
    assert got == {
        (0, 0, "write"): 2,
        (0, 0, "explain"): 1,
        (0, 1, "go"): 1,
        (1, 0, "go"): 1,
        (1, 0, "write"): 1,
    }


def counts(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["layer", "head", "verb", "count"])


# 4 layers, so the depth quarter is the layer. In layer 0:
#   write: heads 0 (1 -> 3, gained), 1 (2 -> 1, lost), 2 (0 -> 4, gained), 3 unchanged: 2/3
#   explain: head 0 (0 -> 2): 1;  translate: head 1 (3 -> 0), head 2 (1 -> 2): 1/2
#   go: head 0 (2 -> 1), head 1 unchanged: 0;  take: head 0 gained, head 1 lost: 1/2
#   see: no change, left out.  Layer 1: write gains in one head only.
BASE = counts(
    [
        (0, 0, "write", 1),
        (0, 1, "write", 2),
        (0, 3, "write", 5),
        (0, 1, "translate", 3),
        (0, 2, "translate", 1),
        (0, 0, "go", 2),
        (0, 1, "go", 1),
        (0, 0, "take", 1),
        (0, 1, "take", 2),
        (0, 0, "see", 4),
    ]
)
TUNED = counts(
    [
        (0, 0, "write", 3),
        (0, 1, "write", 1),
        (0, 2, "write", 4),
        (0, 3, "write", 5),
        (0, 0, "explain", 2),
        (0, 2, "translate", 2),
        (0, 0, "go", 1),
        (0, 1, "go", 1),
        (0, 0, "take", 2),
        (0, 0, "see", 4),
        (1, 5, "write", 1),
    ]
)
INSTRUCTION = ["write", "explain", "translate"]
GENERAL = ["go", "take", "see"]


def test_per_verb_fractions_by_hand():
    table = per_verb_fractions(BASE, TUNED, 4, [*INSTRUCTION, *GENERAL])
    first = table[table["depth_quarter"] == 0].set_index("verb")
    assert first["n_changed"].to_dict() == {
        "write": 3,
        "explain": 1,
        "translate": 2,
        "go": 1,
        "take": 2,
        "see": 0,
    }
    np.testing.assert_allclose(
        first["fraction_gained"].to_numpy(), [2 / 3, 1.0, 0.5, 0.0, 0.5, np.nan]
    )
    assert len(table) == 4 * 6


def test_verb_relation_fractions_by_hand():
    table = verb_relation_fractions(BASE, TUNED, 4, INSTRUCTION, GENERAL)
    assert list(table.columns) == [
        "depth_quarter",
        "verb_list",
        "fraction_gained",
        "n_verbs",
        "t",
        "p",
    ]
    rows = table.set_index(["depth_quarter", "verb_list"])
    # quarter 0: instruction [2/3, 1, 1/2] mean 13/18; general [0, 1/2] mean 1/4
    assert rows.loc[(0, "instruction"), "fraction_gained"] == pytest.approx(13 / 18)
    assert rows.loc[(0, "instruction"), "n_verbs"] == 3
    assert rows.loc[(0, "general"), "fraction_gained"] == pytest.approx(0.25)
    assert rows.loc[(0, "general"), "n_verbs"] == 2
    # Welch: a = var_i / 3 = 0.0216049, b = var_g / 2 = 0.0625;
    # t = (13/18 - 1/4) / sqrt(a + b) = 1.628305, df = (a + b)^2 / (a^2/2 + b^2/1) = 1.70876,
    # two-sided p = 0.265385
    assert rows.loc[(0, "instruction"), "t"] == pytest.approx(1.628305, abs=1e-6)
    assert rows.loc[(0, "general"), "t"] == rows.loc[(0, "instruction"), "t"]
    assert rows.loc[(0, "instruction"), "p"] == pytest.approx(0.265385, abs=1e-6)
    # quarter 1: one instruction verb and no general verb changed: no test
    assert rows.loc[(1, "instruction"), "fraction_gained"] == 1.0
    assert rows.loc[(1, "general"), "n_verbs"] == 0
    assert math.isnan(rows.loc[(1, "general"), "fraction_gained"])
    assert math.isnan(rows.loc[(1, "instruction"), "t"])
    assert rows.loc[(3, "instruction"), "n_verbs"] == 0


def test_verb_relation_fractions_reject_overlapping_lists():
    with pytest.raises(ValueError, match="write"):
        verb_relation_fractions(BASE, TUNED, 4, ["write", "go"], ["Write", "see"])


def test_shipped_verb_lists_are_disjoint():
    instruction, general = default_verb_lists()
    assert len(instruction) >= 30 and len(general) >= 30
    assert not set(instruction) & set(general)
    assert {"write", "explain", "translate", "summarize"} <= set(instruction)
    assert {"go", "take", "see", "come"} <= set(general)


def test_read_verb_list_errors(tmp_path):
    path = tmp_path / "verbs.txt"
    path.write_text("# comment\nwrite\n\nwrite  # again\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 4"):
        read_verb_list(path)
    path.write_text("write it\n", encoding="utf-8")
    with pytest.raises(ValueError, match="one verb"):
        read_verb_list(path)


def test_verb_lists_configured_or_shipped(tmp_path):
    shipped = default_verb_lists()
    assert verb_lists(None, None) == shipped
    path = tmp_path / "verbs.txt"
    path.write_text("# mine\nSummarise\nlist\n")
    assert verb_lists(path, None) == (["summarise", "list"], shipped[1])
    assert verb_lists(None, path) == (shipped[0], ["summarise", "list"])
