"""Tests of readalike.study_b.ffn_concepts: PCA, top words, the labeller, shares and subspaces."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from readalike.study_b.concept_labels import (
    LINGUISTIC_LEVELS,
    TASKS,
    concept_shares,
    concept_shift,
    label_component,
)
from readalike.study_b.ffn_concepts import (
    concept_table,
    ffn_components,
    principal_components,
    top_words,
    value_vectors,
)
from readalike.study_b.subspaces import subspace_similarity

#: tiny models run faster on one torch thread (see conftest._torch_threads)
TORCH_THREADS = 1


# ---------------------------------------------------------------- PCA


def decaying_matrix(n: int, hidden: int, seed: int = 0) -> np.ndarray:
    """Rows with a clear spectral gap between components (so each is well defined)."""
    rng = np.random.default_rng(seed)
    rank = min(n, hidden)
    U, _ = np.linalg.qr(rng.standard_normal((n, rank)))
    V, _ = np.linalg.qr(rng.standard_normal((hidden, rank)))
    s = 10.0 * 0.7 ** np.arange(rank)
    return (U * s) @ V.T + rng.standard_normal(hidden)  # a shared offset, removed by centring


def reference_pca(W: np.ndarray, R: int) -> tuple[np.ndarray, np.ndarray]:
    centred = W - W.mean(axis=0)
    _, s, vt = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
    return vt[:R], s[:R] ** 2 / (s**2).sum()


@pytest.mark.parametrize(
    ("n", "hidden", "R"),
    [
        pytest.param(300, 80, 8, id="tall-randomised"),
        pytest.param(80, 300, 8, id="wide-randomised"),
        pytest.param(120, 40, 25, id="exact-eigh"),
    ],
)
def test_principal_components_match_full_svd(n, hidden, R):
    W = decaying_matrix(n, hidden)
    components, evr = principal_components(W.astype(np.float32), R=R, seed=1)
    ref_components, ref_evr = reference_pca(W, R)
    assert components.shape == (R, hidden) and components.dtype == np.float32
    assert evr.shape == (R,)
    # the same directions up to sign, and the same explained-variance ratios
    cosines = np.abs(np.sum(components * ref_components, axis=1))
    np.testing.assert_allclose(cosines, 1.0, atol=1e-4)
    np.testing.assert_allclose(evr, ref_evr, atol=1e-5, rtol=1e-3)
    np.testing.assert_allclose(components @ components.T, np.eye(R), atol=1e-4)


def test_principal_components_flat_spectrum_ratios():
    W = np.random.default_rng(3).standard_normal((400, 200)).astype(np.float32)
    _, evr = principal_components(W, R=20, seed=0)
    _, ref_evr = reference_pca(W, 20)
    # the denominator is the full variance, so the ratios are small and sum below one
    assert evr.sum() < 0.5
    np.testing.assert_allclose(evr, ref_evr, atol=1e-3, rtol=2e-2)


def test_principal_components_deterministic_and_sign_fixed():
    W = decaying_matrix(200, 50, seed=5).astype(np.float32)
    first, _ = principal_components(W, R=5, seed=7)
    second, _ = principal_components(torch.from_numpy(W), R=5, seed=7)
    np.testing.assert_array_equal(first, second)
    largest = np.abs(first).argmax(axis=1)
    assert np.all(first[np.arange(5), largest] > 0)


def test_principal_components_rejects_too_many():
    with pytest.raises(ValueError, match="R=11"):
        principal_components(np.zeros((10, 20), dtype=np.float32), R=11)


def test_value_vectors_are_rows_per_neuron():
    weight = torch.arange(6.0).reshape(2, 3)  # (hidden=2, intermediate=3)
    torch.testing.assert_close(value_vectors(weight), weight.T)


# ---------------------------------------------------------------- top words


def test_top_words_rank_by_absolute_cosine():
    words = ["alpha", "beta", "gamma", "delta"]
    word_vecs = torch.nn.functional.normalize(
        torch.tensor([[1.0, 0.0], [0.0, -1.0], [0.6, 0.8], [-0.8, 0.6]]), dim=1
    )
    components = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    top, scores = top_words(components, word_vecs, words, k=3)
    assert top.tolist() == [["alpha", "delta", "gamma"], ["beta", "gamma", "delta"]]
    np.testing.assert_allclose(scores, [[1.0, 0.8, 0.6], [1.0, 0.8, 0.6]], atol=1e-6)
    # leading axes (layers) are kept, and chunking does not change the result
    stacked, _ = top_words(torch.stack([components, components.flip(0)]), word_vecs, words, 2, 1)
    assert stacked.shape == (2, 2, 2)
    assert stacked[1].tolist() == [["beta", "gamma"], ["alpha", "delta"]]


# ---------------------------------------------------------------- labeller


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        pytest.param(
            "running jumping walking singing reading eating swimming talking cooking playing",
            ("none", "morphology"),
            id="suffix-ing",
        ),
        pytest.param(
            "unhappy unfair unkind unlock untie unseen unwise unreal unsafe table",
            ("none", "morphology"),
            id="prefix-un",
        ),
        pytest.param(
            "light night fight might sight right tight bright flight slight",
            ("none", "phonology"),
            id="rhyme",
        ),
        pytest.param(
            "string strong street strap stream stripe strict stride strange stroke",
            ("none", "phonology"),
            id="onset",
        ),
        pytest.param("the of and to , . a in is that", ("none", "syntax"), id="function-words"),
        pytest.param(
            "red blue green yellow purple orange pink brown black white",
            ("none", "semantics"),
            id="colours",
        ),
        pytest.param(
            "def return import class self print lambda __init__ camelCase json",
            ("coding", "semantics"),
            id="coding",
        ),
        pytest.param("1 2 3 + = sum equation 42 integral divide", ("math", "semantics"), id="math"),
        pytest.param(
            "bonjour merci traduire français español english translate der und la",
            ("translation", "semantics"),
            id="translation",
        ),
        pytest.param(
            "essay story poem write novel paragraph tone plot author chapter",
            ("writing", "semantics"),
            id="writing",
        ),
        pytest.param(
            "apple quantum seven cloud argue lamp honest violin glacier tuesday",
            ("none", "cannot tell"),
            id="unrelated",
        ),
    ],
)
def test_label_component_hand_lists(words, expected):
    assert label_component(words.split()) == expected


def test_label_component_thresholds_and_ties():
    # 2 of 10 words are writing and 2 are math: a tie at the threshold goes to writing
    words = "essay poem 7 + apple lamp cloud violin glacier honest".split()
    assert label_component(words)[0] == "writing"
    assert label_component(words, task_threshold=0.3)[0] == "none"
    with pytest.raises(ValueError, match="non-empty"):
        label_component(["", "  "])


def test_concept_table_labels_every_component():
    words = ["red", "blue", "green", "the", "of", "and"]
    # colours near axis 0, function words near axis 1, at distinct angles (no ties)
    word_vecs = torch.tensor(
        [[1, 0, 0], [0.9, 0.1, 0], [0.8, 0, 0.3], [0.1, 0.7, 0], [0, 1, 0.1], [0, 0.9, 0.2]]
    )
    word_vecs = torch.nn.functional.normalize(word_vecs.float(), dim=1)
    components = np.array([[[1, 0, 0], [0, 1, 0]]], dtype=np.float32)
    table = concept_table(components, np.array([[0.5, 0.25]]), word_vecs, words, k=3, layers=[7])
    assert table["layer"].tolist() == [7, 7]
    assert table["component"].tolist() == [0, 1]
    assert table["top_words"].tolist() == ["red blue green", "of the and"]
    assert table["level"].tolist() == ["semantics", "syntax"]
    assert set(table["task"]) <= set(TASKS)


# ---------------------------------------------------------------- shares and shifts


def labels(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["layer", "task", "level"])


BASE = labels(
    [
        (0, "writing", "semantics"),
        (0, "none", "syntax"),
        (0, "none", "cannot tell"),  # not explainable
        (1, "math", "cannot tell"),
        (2, "coding", "semantics"),
        (3, "none", "cannot tell"),
    ]
)
TUNED = labels(
    [
        (0, "writing", "semantics"),
        (0, "writing", "morphology"),
        (1, "none", "cannot tell"),
        (1, "none", "cannot tell"),
        (2, "translation", "semantics"),
        (3, "none", "cannot tell"),
    ]
)


def test_concept_shares_among_explainable():
    # 8 layers: layers 0-1 are quarter 0, layers 2-3 quarter 1
    shares = concept_shares(BASE, 8)
    low = shares[shares["depth_quarter"] == 0].set_index(["dimension", "category"])
    assert low.loc[("task", "writing"), "count"] == 1
    assert low.loc[("task", "writing"), "n_explainable"] == 3
    assert low.loc[("task", "writing"), "n_components"] == 4
    assert low.loc[("task", "writing"), "share"] == pytest.approx(1 / 3)
    assert low.loc[("task", "math"), "share"] == pytest.approx(1 / 3)
    assert low.loc[("task", "none"), "share"] == pytest.approx(1 / 3)
    assert low.loc[("level", "cannot tell"), "share"] == pytest.approx(1 / 3)
    assert low.loc[("level", "phonology"), "share"] == 0.0
    # every category is present and the shares of a dimension sum to one
    assert len(shares) == 2 * (len(TASKS) + len(LINGUISTIC_LEVELS))
    sums = shares.groupby(["depth_quarter", "dimension"])["share"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0)


def test_concept_shift_differences():
    # 8 layers: layers 0-1 are quarter 0, layers 2-3 quarter 1
    shift = concept_shift(concept_shares(BASE, 8), concept_shares(TUNED, 8))
    assert list(shift.columns) == [
        "depth_quarter",
        "dimension",
        "category",
        "share_base",
        "share_tuned",
        "difference",
    ]
    row = shift.set_index(["depth_quarter", "dimension", "category"])
    assert row.loc[(0, "task", "writing"), "share_base"] == pytest.approx(1 / 3)
    assert row.loc[(0, "task", "writing"), "share_tuned"] == pytest.approx(1.0)
    assert row.loc[(0, "task", "writing"), "difference"] == pytest.approx(2 / 3)
    assert row.loc[(1, "task", "translation"), "difference"] == pytest.approx(1.0)
    assert row.loc[(1, "task", "coding"), "difference"] == pytest.approx(-1.0)
    # quarter by quarter, tasks then levels, in the order of TASKS and LINGUISTIC_LEVELS
    assert shift["category"].tolist() == [*TASKS, *LINGUISTIC_LEVELS] * 2
    assert shift["depth_quarter"].tolist() == [0] * 10 + [1] * 10


def test_concept_shares_group_without_explainable_is_nan():
    shares = concept_shares(labels([(0, "none", "cannot tell")]), 1)
    assert shares["share"].isna().all()
    assert (shares["n_components"] == 1).all()


# ---------------------------------------------------------------- subspaces

E = np.eye(4)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param(E[:2], E[:2], 1.0, id="identical"),
        pytest.param(E[:2], E[[1, 0]] * [[-2], [3]], 1.0, id="same-span-other-basis"),
        pytest.param(E[:2], E[2:], 0.0, id="orthogonal"),
        # span(e0, e1) vs span(e0, (e1 + e2)/sqrt 2): angles 0 and 45 degrees
        pytest.param(
            E[:2], np.stack([E[0], (E[1] + E[2]) / math.sqrt(2)]), (1 + 0.5**0.5) / 2, id="45deg"
        ),
        pytest.param(E[:1], (E[:1] + E[1:2]), 0.5**0.5, id="45deg-line"),
    ],
)
def test_subspace_similarity_known_values(a, b, expected):
    assert subspace_similarity(a, b) == pytest.approx(expected, abs=1e-12)


def test_subspace_similarity_batched_over_layers():
    a = np.stack([E[:2], E[:2]])
    b = np.stack([E[:2], E[2:]])
    np.testing.assert_allclose(subspace_similarity(a, b), [1.0, 0.0], atol=1e-12)


def test_ffn_components_reads_down_proj_per_layer():
    from transformers import LlamaConfig, LlamaForCausalLM

    from readalike.models.architectures import model_weights

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=30,
        hidden_size=16,
        intermediate_size=40,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=16,
    )
    model = LlamaForCausalLM(config)
    components, evr = ffn_components(model_weights(model, "tiny"), R=3, seed=0, layers=[1])
    expected, expected_evr = principal_components(
        model.model.layers[1].mlp.down_proj.weight.detach().T, R=3, seed=0
    )
    assert components.shape == (1, 3, 16)
    np.testing.assert_array_equal(components[0], expected)
    np.testing.assert_array_equal(evr[0], expected_evr)
