"""Tests of readalike.models.word_importance: hand-worked graphs, then references on tiny models.

The graph measures are checked on a three-word attention matrix worked out by hand and
against explicit definitions (matrix products, networkx maximum flows); the model measures
against independent computations on tiny LLaMA-style models: HF ``output_attentions`` and
``output_hidden_states`` reduced with plain loops, log-probabilities from the logits of a
plain forward pass, and one backward pass per token.
"""

from __future__ import annotations

import h5py
import networkx as nx
import numpy as np
import pytest
import torch

from readalike.core.formats import (
    WordImportanceSet,
    read_word_importance,
    write_word_importance,
)
from readalike.models import word_importance as wi
from readalike.models.bos import resolve_bos
from readalike.models.extraction import load_causal_lm, word_token_spans
from readalike.models.tokenizer import load_tokenizer
from tests.models.test_architectures import tiny_config, tiny_model

#: tiny models run faster on one torch thread (see conftest._torch_threads)
TORCH_THREADS = 1

#: of different lengths (a batch of 3 pads); the second splits words into pieces
SENTENCES = [
    "Honey bees live in colonies of many thousands of workers.".split(),
    "Zebras graze quietly near Øresund glaciers.".split(),
    "Veins bring the blood back.".split(),
    "Paper!".split(),
]

#: one layer of a three-word sentence, rows = queries, causal and row-stochastic
A = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])


# ------------------------------------------------------------------------------ by hand


def test_received_attention_and_the_peers_softmax_by_hand():
    heads = np.stack([A, np.eye(3)])  # (heads, n, n)
    np.testing.assert_allclose(wi.received_attention(heads), [[1.7, 0.8, 0.5], [1, 1, 1]])
    # mean of the heads [[1,0,0],[.25,.75,0],[.1,.15,.75]]: columns 1.35, .9, .75;
    # softmax: e^1.35 = 3.857426, e^.9 = 2.459603, e^.75 = 2.117000, total 8.434029
    np.testing.assert_allclose(wi.peers_attention(heads), [0.457365, 0.291629, 0.251007], atol=1e-6)


def test_rollout_by_hand():
    # 0.5 A + 0.5 I = [[1,0,0],[.25,.75,0],[.1,.15,.75]] (rows already sum to 1)
    # its square: [[1,0,0],[.4375,.5625,0],[.2125,.225,.5625]]
    got = wi.attention_rollout(np.stack([A, A]))
    np.testing.assert_allclose(got, [[1.35, 0.9, 0.75], [1.65, 0.7875, 0.5625]])
    # word rows only (row 0 left out): columns of rows 1 and 2
    np.testing.assert_allclose(
        wi.attention_rollout(np.stack([A, A]), rows=slice(1, None))[1], [0.65, 0.7875, 0.5625]
    )


@pytest.mark.parametrize(
    ("n_layers", "expected"),
    [
        # one layer: the column sums of 0.5 A + 0.5 I
        pytest.param(1, [1.35, 0.9, 0.75], id="one-layer"),
        # word 0: a1 gets 1 (and passes 1 on), b1 .25, c1 .1 -> 1.35; word 1: b1 .75, c1 .15
        # -> .9; word 2: c0 -> c1 -> c2, .75
        pytest.param(2, [1.35, 0.9, 0.75], id="two-layers"),
    ],
)
def test_flow_by_hand(n_layers, expected):
    got = wi.attention_flow(np.stack([A] * n_layers))
    np.testing.assert_allclose(got, expected, atol=1e-7)


def test_per_pair_flow_by_hand_differs_where_outputs_share_capacity():
    # the paper's F[i, j] for two layers: F[b2<-a0] = .25 (via a1) + .25 (via b1) = .5,
    # F[c2<-a0] = .1 + .15 + .1 = .35, F[c2<-b0] = .15 + .15 = .3
    pairs = _per_pair_flow(np.stack([A, A]))
    np.testing.assert_allclose(pairs, [[1, 0, 0], [0.5, 0.75, 0], [0.35, 0.3, 0.75]], atol=1e-12)
    # the per-pair column sums count a0 -> a1's capacity once per output: 1.85 > 1.35
    np.testing.assert_allclose(pairs.sum(0), [1.85, 1.05, 0.75])


# ------------------------------------------------------------------------------ definitions


def _random_causal(rng, n_layers: int, n: int) -> np.ndarray:
    """``(n_layers, n, n)`` random row-stochastic lower-triangular attention."""
    raw = np.tril(rng.random((n_layers, n, n)) ** 3)
    return raw / raw.sum(-1, keepdims=True)


def test_rollout_equals_the_matrix_product_definition():
    rng = np.random.default_rng(0)
    attention = _random_causal(rng, 4, 5)
    mixed = [0.5 * a + 0.5 * np.eye(5) for a in attention]
    mixed = [m / m.sum(1, keepdims=True) for m in mixed]
    got = wi.attention_rollout(attention, rows=slice(1, None))
    for layer in range(4):
        product = np.linalg.multi_dot([np.eye(5), *mixed[layer::-1]])  # R_l ... R_0
        np.testing.assert_allclose(got[layer], product[1:].sum(0), rtol=1e-12)


def _layered_graph(attention: np.ndarray) -> nx.DiGraph:
    """The flow graph of the paper with float capacities: nodes ``(layer, position)``."""
    mixed = wi.residual_attention(attention)
    graph = nx.DiGraph()
    for layer, upper, lower in zip(*np.nonzero(mixed), strict=True):
        graph.add_edge((layer, lower), (layer + 1, upper), capacity=mixed[layer, upper, lower])
    return graph


def _per_pair_flow(attention: np.ndarray) -> np.ndarray:
    """The paper's per-pair flow ``F[i, j]`` (input ``j`` to last-layer ``i``), unnormalised."""
    n_layers, n = attention.shape[0], attention.shape[-1]
    graph = _layered_graph(attention)
    return np.array(
        [
            [
                nx.maximum_flow_value(graph, (0, j), (n_layers, i)) if j <= i else 0.0
                for j in range(n)
            ]
            for i in range(n)
        ]
    )


def _super_sink_flow(attention: np.ndarray, sinks) -> np.ndarray:
    n_layers, n = attention.shape[0], attention.shape[-1]
    graph = _layered_graph(attention)
    for i in sinks:
        graph.add_edge((n_layers, i), "sink")  # no capacity attribute: unbounded
    return np.array([nx.maximum_flow_value(graph, (0, j), "sink") for j in range(n)])


def test_flow_equals_networkx_on_the_super_sink_graph_within_the_rounding_bound():
    rng = np.random.default_rng(1)
    attention = _random_causal(rng, 3, 6)
    sinks = range(1, 6)  # as for words after a BOS node
    expected = _super_sink_flow(attention, sinks)
    got = wi.attention_flow(attention, sinks=sinks)
    bound = wi.flow_rounding_bound(attention)
    assert bound < 1e-5
    np.testing.assert_allclose(got, expected, atol=bound)
    assert np.abs(got - expected).max() < 1e-7  # in practice far inside the bound
    # a coarse scale: the error grows, and stays inside its bound
    coarse = wi.attention_flow(attention, sinks=sinks, scale=1000)
    assert np.abs(coarse - expected).max() <= wi.flow_rounding_bound(attention, 1000)
    assert np.abs(coarse - expected).max() > 1e-6


def test_flow_against_the_per_pair_definition():
    rng = np.random.default_rng(2)
    attention = _random_causal(rng, 3, 5)
    pairs = _per_pair_flow(attention)
    got = wi.attention_flow(attention)
    # the last word reaches only its own last-layer node: one pair, the same problem
    np.testing.assert_allclose(got[-1], pairs[-1, -1], atol=1e-7)
    # otherwise between the best single output and the per-pair column sum
    assert np.all(got >= pairs.max(0) - 1e-7)
    assert np.all(got <= pairs.sum(0) + 1e-7)
    assert np.any(got < pairs.sum(0) - 1e-3)  # shared capacity counted once
    # one layer: per pair and per word agree, and both are the rollout's column sums
    one = attention[:1]
    np.testing.assert_allclose(wi.attention_flow(one), _per_pair_flow(one).sum(0), atol=1e-7)
    np.testing.assert_allclose(wi.attention_flow(one), wi.attention_rollout(one)[0], atol=1e-7)


def test_flow_capacities_fit_int32():
    attention = _random_causal(np.random.default_rng(3), 2, 400)
    graph, sink = wi.flow_graph(attention, range(400))
    assert graph.dtype == np.int32 and sink == graph.shape[0] - 1
    # the largest possible flow (a column sum of N units) stays inside int32
    assert 400 * wi.flow_scale(400) < 2**31 - 1


# ------------------------------------------------------------------------------ tiny models


@pytest.fixture(scope="module")
def lm(tiny_model):
    path, _ = tiny_model
    return load_causal_lm(path)


@pytest.fixture(scope="module")
def tokenizer(tiny_tokenizer_dir):
    return load_tokenizer(tiny_tokenizer_dir)


def _random_lm(family: str, tokenizer, **extra):
    """A tiny random model of ``family`` on the test tokenizer, with peaked attention."""
    model = tiny_model(tiny_config(family, vocab_size=len(tokenizer), **extra))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.ndim == 2 and "embed" not in name:
                param.mul_(5.0)
    model.config.name_or_path = f"tiny-{family}"
    return model


@pytest.fixture(scope="module")
def results(lm):
    model, tok = lm
    return wi.word_importance(model, tok, SENTENCES, batch_size=3, progress=False)


def _forward(model, ids: np.ndarray):
    with torch.no_grad():
        return model(
            input_ids=torch.from_numpy(ids)[None],
            output_attentions=True,
            output_hidden_states=True,
            use_cache=False,
        )


def _word_graph(attentions, token_word: np.ndarray, n: int) -> np.ndarray:
    """``(layers, heads, 1 + n, 1 + n)`` word attention by loops; node 0 = BOS tokens."""
    token = torch.stack(attentions, 1)[0].double().numpy()
    node = token_word + 1
    out = np.zeros((*token.shape[:2], n + 1, n + 1))
    for i in range(n + 1):
        queries = np.flatnonzero(node == i)
        if queries.size == 0:
            continue
        for j in range(n + 1):
            keys = np.flatnonzero(node == j)
            out[:, :, i, j] = token[:, :, queries][:, :, :, keys].sum(-1).mean(-1)
    return out


def test_attention_rollout_flow_and_peers_equal_a_loop_reference(lm, results):
    model, tok = lm
    bos_id, _ = resolve_bos(tok, model.config)
    for words, got in zip(SENTENCES, results, strict=True):
        enc = word_token_spans(tok, words, bos_id=bos_id)
        graph = _word_graph(_forward(model, enc.input_ids).attentions, enc.token_word, len(words))
        np.testing.assert_allclose(got.attention, graph[:, :, 1:, 1:].sum(-2), atol=1e-5)
        mean = graph.mean(1)
        np.testing.assert_allclose(
            got.attention_peers, wi.peers_attention(graph[-1, :, 1:, 1:]), atol=1e-6
        )
        np.testing.assert_allclose(
            got.rollout, wi.attention_rollout(mean, slice(1, None))[:, 1:], atol=1e-5
        )
        words_nodes = range(1, len(words) + 1)
        np.testing.assert_allclose(got.flow, _super_sink_flow(mean, words_nodes)[1:], atol=1e-5)
        np.testing.assert_array_equal(got.tokens_per_word, np.bincount(enc.token_word[1:]))
        # BOS is kept as a node: word rows sum to 1 with it, and lose mass without it
        np.testing.assert_allclose(graph[:, :, 1:].sum(-1), 1.0, atol=1e-6)


def test_batched_run_equals_one_sentence_at_a_time(lm, results):
    model, tok = lm
    for words, got in zip(SENTENCES, results, strict=True):
        (alone,) = wi.word_importance(model, tok, [words], batch_size=1, progress=False)
        for measure in (
            "attention",
            "attention_peers",
            "rollout",
            "flow",
            "norm",
            "saliency",
            "grad_x_input",
            "surprisal",
        ):
            np.testing.assert_allclose(
                getattr(got, measure),
                getattr(alone, measure),
                rtol=1e-4,
                atol=1e-6,
                err_msg=measure,
            )


def test_length_batches_by_sentences_and_by_padded_tokens():
    lengths = [3, 9, 5, 9, 2, 4]
    # longest first (ties in input order), chunks of batch_size without a token limit
    assert wi.length_batches(lengths, 4) == [[1, 3, 2, 5], [0, 4]]
    assert wi.length_batches(lengths, 2) == [[1, 3], [2, 5], [0, 4]]
    # 20 positions: 9 + 9 pad to 18; then 5 (+4 = 10, +3 = 15, +2 = 20) fill one batch
    assert wi.length_batches(lengths, 8, max_tokens=20) == [[1, 3], [2, 5, 0, 4]]
    # a sentence longer than the limit goes alone, nothing is dropped
    assert wi.length_batches(lengths, 8, max_tokens=4) == [[1], [3], [2], [5], [0], [4]]
    assert wi.length_batches([], 8) == []


def test_token_limited_batches_give_the_same_measures(lm, results):
    model, tok = lm
    limited = wi.word_importance(model, tok, SENTENCES, batch_size=8, max_tokens=12, progress=False)
    for got, want in zip(limited, results, strict=True):
        np.testing.assert_allclose(got.saliency, want.saliency, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(got.attention, want.attention, rtol=1e-4, atol=1e-6)


def test_surprisal_equals_log_probabilities_from_the_logits(lm, results):
    model, tok = lm
    bos_id, _ = resolve_bos(tok, model.config)
    for words, got in zip(SENTENCES, results, strict=True):
        enc = word_token_spans(tok, words, bos_id=bos_id)
        logits = _forward(model, enc.input_ids).logits[0].double()
        log_probs = torch.log_softmax(logits, dim=-1).numpy()
        expected = np.zeros(len(words))
        for t in range(1, len(enc.input_ids)):  # token t predicted at position t - 1
            expected[enc.token_word[t]] -= log_probs[t - 1, enc.input_ids[t]] / np.log(2)
        np.testing.assert_allclose(got.surprisal, expected, rtol=1e-5)


def test_gradients_equal_one_backward_pass_per_token(lm, results):
    model, tok = lm
    for words, got in zip(SENTENCES, results, strict=True):
        saliency, gxi = wi.saliency_loop(model, tok, words)
        np.testing.assert_allclose(got.saliency, saliency, rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(got.grad_x_input, gxi, rtol=1e-4, atol=1e-7)
        assert (got.saliency[:-1] > 0).all()


def test_a_one_token_last_word_has_zero_gradient(lm):
    model, tok = lm
    words = ["Veins", "bring", "the"]  # "the" is one piece of the test tokenizer
    (got,) = wi.word_importance(model, tok, [words], progress=False)
    assert got.tokens_per_word[-1] == 1
    # its token predicts nothing, and no later token sees it
    assert got.saliency[-1] == 0 and got.grad_x_input[-1] == 0
    assert (got.saliency[:-1] > 0).all() and got.interior.tolist() == [False, True, False]


def _norm_reference(model, tokenizer, words, bos_id) -> np.ndarray:
    """``(layers, n)`` norm-based attention received, by loops over words, heads and tokens."""
    enc = word_token_spans(tokenizer, words, bos_id=bos_id)
    out = _forward(model, enc.input_ids)
    config = model.config
    n_heads, n_kv = config.num_attention_heads, config.num_key_value_heads
    n, tw = len(words), enc.token_word
    result = np.zeros((config.num_hidden_layers, n))
    with torch.no_grad():
        for layer, block in enumerate(model.model.layers):
            x = block.input_layernorm(out.hidden_states[layer][0])  # the attention's input
            attn = block.self_attn
            d = attn.head_dim
            value = attn.v_proj(x).double()  # bias included where the family has one
            w_o = attn.o_proj.weight.double()
            weights = out.attentions[layer][0].double()
            for i in range(n):
                queries = np.flatnonzero(tw == i)
                for j in range(i + 1):
                    vector = torch.zeros(w_o.shape[0], dtype=torch.float64)
                    for h in range(n_heads):
                        kv = h // (n_heads // n_kv)
                        for t in np.flatnonzero(tw == j):
                            f = w_o[:, h * d : (h + 1) * d] @ value[t, kv * d : (kv + 1) * d]
                            for s in queries:
                                vector += weights[h, s, t] * f / len(queries)
                    result[layer, j] += vector.norm().item()
    return result


def test_norm_equals_a_loop_reference(lm, results):
    model, tok = lm
    bos_id, _ = resolve_bos(tok, model.config)
    for words, got in zip(SENTENCES[1:3], results[1:3], strict=True):
        np.testing.assert_allclose(got.norm, _norm_reference(model, tok, words, bos_id), rtol=1e-4)


@pytest.mark.parametrize(
    ("family", "extra"),
    [
        # 4 query heads on 2 key/value heads
        pytest.param("llama", {}, id="llama-gqa"),
        pytest.param("llama", {"num_key_value_heads": 1}, id="llama-mqa"),
        # value bias, no BOS in its config
        pytest.param("qwen2", {}, id="qwen2-bias"),
    ],
)
def test_norm_with_grouped_query_attention_equals_the_loop(family, extra, tokenizer):
    model = _random_lm(family, tokenizer, **extra)
    words = SENTENCES[2]
    (got,) = wi.word_importance(model, tokenizer, [words], bos="none", progress=False)
    np.testing.assert_allclose(got.norm, _norm_reference(model, tokenizer, words, None), rtol=1e-4)


def test_a_model_without_bos_marks_the_first_surprisal_and_keeps_the_gradients(tokenizer):
    model = _random_lm("llama", tokenizer)
    words = SENTENCES[2]
    (got,) = wi.word_importance(model, tokenizer, [words], bos="none", progress=False)
    assert np.isnan(got.surprisal[0]) and np.isfinite(got.surprisal[1:]).all()
    saliency, gxi = wi.saliency_loop(model, tokenizer, words, bos="none")
    np.testing.assert_allclose(got.saliency, saliency, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(got.grad_x_input, gxi, rtol=1e-4, atol=1e-7)
    assert got.attenders.tolist() == [5, 4, 3, 2, 1]
    assert got.interior.tolist() == [False, True, True, True, False]


def test_fused_value_maps_are_refused_for_norm_only(tokenizer):
    model = _random_lm("gpt2", tokenizer)
    with pytest.raises(ValueError, match=r"tiny-gpt2 .*norm=False"):
        wi.word_importance(model, tokenizer, SENTENCES[3:], progress=False)
    (got,) = wi.word_importance(model, tokenizer, SENTENCES[3:], norm=False, progress=False)
    assert got.norm is None and np.isfinite(got.flow).all()


def test_a_model_without_eager_attention_is_refused(tokenizer):
    model = _random_lm("llama", tokenizer)
    model.config._attn_implementation = "sdpa"
    with pytest.raises(RuntimeError, match="eager"):
        wi.word_importance(model, tokenizer, SENTENCES[3:], progress=False)


# ------------------------------------------------------------------------------ file format


def test_word_importance_file_round_trip(lm, results, tmp_path):
    model, tok = lm
    stimuli = [SENTENCES[:2], SENTENCES[2:]]
    importance = wi.word_importance_set(model, tok, stimuli, model_name="tiny", progress=False)
    path = tmp_path / "importance.h5"
    write_word_importance(path, importance)
    back = read_word_importance(path)
    assert back.model == "tiny" and back.attrs["bos"] == "tokenizer"
    assert (back.n_layers, back.n_heads) == (3, 2)
    for a, article in enumerate(stimuli):
        for s, words in enumerate(article):
            got, expected = back.sentences[a][s], results[2 * a + s]
            assert got.words == words
            for measure in ("attention", "rollout", "flow", "norm", "saliency", "surprisal"):
                np.testing.assert_allclose(
                    getattr(got, measure), getattr(expected, measure), rtol=1e-4, atol=1e-6
                )
    with h5py.File(path) as f:
        assert f["article_001/sentence_000/attention"].shape == (3, 2, len(SENTENCES[2]))


def test_word_importance_file_keeps_a_missing_norm_and_the_first_nan(results, tmp_path):
    record = results[3]
    record = type(record)(**{**record.__dict__, "norm": None})
    record.surprisal = record.surprisal.copy()
    record.surprisal[0] = np.nan
    path = tmp_path / "no_norm.h5"
    write_word_importance(path, WordImportanceSet(model="m", sentences=[[record]]))
    back = read_word_importance(path).sentences[0][0]
    assert back.norm is None and np.isnan(back.surprisal[0])


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        pytest.param(lambda f: f.attrs.__setitem__("format", "x"), "not a readalike", id="format"),
        pytest.param(
            lambda f: f["article_000/sentence_000"].__delitem__("flow"), "flow", id="missing"
        ),
        pytest.param(
            lambda f: (
                f["article_000/sentence_000"].__delitem__("rollout"),
                f["article_000/sentence_000"].create_dataset("rollout", data=np.zeros((2, 2))),
            ),
            "rollout of shape",
            id="shape",
        ),
        pytest.param(
            lambda f: f["article_000/sentence_000/saliency"].__setitem__(0, np.inf),
            "saliency holds NaN",
            id="inf",
        ),
    ],
)
def test_word_importance_reader_raises_one_error_naming_the_file(
    results, tmp_path, damage, message
):
    path = tmp_path / "bad.h5"
    write_word_importance(path, WordImportanceSet(model="m", sentences=[[results[2]]]))
    with h5py.File(path, "r+") as f:
        damage(f)
    with pytest.raises(ValueError, match=message) as err:
        read_word_importance(path)
    assert str(path) in str(err.value)


def test_writer_refuses_a_wrong_record(results, tmp_path):
    record = type(results[2])(**{**results[2].__dict__, "flow": np.zeros(2)})
    with pytest.raises(ValueError, match=r"bad.h5: article 0 sentence 0: flow of shape"):
        write_word_importance(tmp_path / "bad.h5", WordImportanceSet("m", [[record]]))
    assert not (tmp_path / "bad.h5").exists()
