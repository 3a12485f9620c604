import math

import numpy as np
import pytest

from readalike.core.formats import AttentionSet, SaccadeSet, write_attention, write_saccades
from readalike.study_a.tables import (
    CONTROL_COLUMNS,
    CONTROLS,
    controls_table,
    divergence_table,
    instruction_sensitivity_table,
    resemblance_table,
    trivial_reliance_table,
)

#: 2 articles of 2-4 word sentences: 3 + 6 + 10 + 3 = 22 word pairs (j <= i)
LENGTHS = [[2, 3], [4, 2]]
MEASURES = ["num", "dur"]


def _random_attention(rng, layers, heads, lengths=LENGTHS):
    """Causal rows that sum to 1, rounded to float16 so what is written is what is read."""
    sentences = []
    for article in lengths:
        out = []
        for n in article:
            m = np.tril(rng.random((layers, heads, n, n)) + 0.05)
            out.append((m / m.sum(-1, keepdims=True)).astype(np.float16))
        sentences.append(out)
    return sentences


def _write_attention(path, sentences, model="m", condition="plain"):
    write_attention(path, AttentionSet(model, condition, sentences, source="test"))
    return path


def _write_humans(path, group, rng, lengths=LENGTHS, synthetic=True):
    measures = {
        "num": [[rng.random((n, n)) for n in article] for article in lengths],
        "dur": [[rng.random((n, n)) * 200 for n in article] for article in lengths],
    }
    write_saccades(path, SaccadeSet(group, 10, "test", synthetic, measures))
    return path, measures


def _pairs(ragged):
    """Lower-triangle entries in row order, sentence by sentence (by hand, no package code)."""
    out = []
    for article in ragged:
        for m in article:
            n = m.shape[-1]
            out.extend(m[..., i, j] for i in range(n) for j in range(i + 1))
    return np.stack(out, axis=-1).astype(np.float64)


@pytest.fixture
def corpus(tmp_path):
    rng = np.random.default_rng(7)
    attention = _random_attention(rng, layers=3, heads=2)
    att_path = _write_attention(tmp_path / "m.h5", attention)
    humans = {}
    matrices = {}
    for group in ("L1", "L2"):
        humans[group], matrices[group] = _write_humans(tmp_path / f"{group}.h5", group, rng)
    return att_path, attention, humans, matrices


def _lstsq_r2(x, y):
    design = np.column_stack([np.ones(y.size), x])
    beta = np.linalg.lstsq(design, y, rcond=None)[0]
    return 1 - ((y - design @ beta) ** 2).sum() / ((y - y.mean()) ** 2).sum()


def test_resemblance_table_shape(corpus):
    att_path, _, humans, _ = corpus
    table = resemblance_table(att_path, humans, MEASURES, "m", block_size=2)
    assert list(table.columns) == ["model", "group", "measure", "layer", "r2", "r2_heldout"]
    assert set(table["measure"]) == {"num", "dur", "num_residual", "dur_residual"}
    assert len(table) == 2 * 4 * 3
    assert (table.groupby(["group", "measure"])["layer"].apply(list) == [[0, 1, 2]] * 8).all()
    assert (table["model"] == "m").all()
    assert table[["r2"]].ge(0).all().all() and table["r2"].le(1).all()


def test_resemblance_table_without_residual(corpus):
    att_path, _, humans, _ = corpus
    table = resemblance_table(att_path, humans, ["num"], "m", residual=False)
    assert set(table["measure"]) == {"num"}
    assert len(table) == 2 * 3


@pytest.mark.parametrize(
    "block_size", [pytest.param(1, id="block-1"), pytest.param(8, id="block-8")]
)
def test_resemblance_r2_equals_direct_lstsq(corpus, block_size):
    att_path, attention, humans, matrices = corpus
    table = resemblance_table(att_path, humans, MEASURES, "m", block_size=block_size)
    x = _pairs(attention)  # (3, 2, 22)
    article = np.repeat([0, 1], [3 + 6, 10 + 3])
    for group, measure, layer in [("L1", "num", 0), ("L2", "dur", 2), ("L2", "num", 1)]:
        y = _pairs(matrices[group][measure])
        row = table.query("group == @group and measure == @measure and layer == @layer")
        assert row["r2"].item() == pytest.approx(_lstsq_r2(x[layer].T, y), abs=1e-10)
        # held out: fit on one article, predict the other; pooled SSE over the grand-mean SST
        sse = 0.0
        for a in (0, 1):
            design = np.column_stack([np.ones(y.size), x[layer].T])
            beta = np.linalg.lstsq(design[article != a], y[article != a], rcond=None)[0]
            sse += ((y[article == a] - design[article == a] @ beta) ** 2).sum()
        expected_out = 1 - sse / ((y - y.mean()) ** 2).sum()
        assert row["r2_heldout"].item() == pytest.approx(expected_out, abs=1e-9)


def test_residual_resemblance_equals_direct_lstsq(corpus):
    att_path, attention, humans, matrices = corpus
    table = resemblance_table(att_path, humans, ["num"], "m")
    x = _pairs(attention)[1]  # layer 1: (2 heads, 22 pairs)
    rows = np.concatenate([np.tril_indices(n)[0] for article in LENGTHS for n in article])
    cols = np.concatenate([np.tril_indices(n)[1] for article in LENGTHS for n in article])
    z = np.column_stack([np.ones(rows.size), cols == rows, cols == rows - 1, cols == 0])
    residual = x - (z @ np.linalg.lstsq(z, x.T, rcond=None)[0]).T
    y = _pairs(matrices["L1"]["num"])
    row = table.query("group == 'L1' and measure == 'num_residual' and layer == 1")
    assert row["r2"].item() == pytest.approx(_lstsq_r2(residual.T, y), abs=1e-6)


def test_human_matrix_of_other_length_is_named(tmp_path, corpus):
    att_path, _, humans, _ = corpus
    rng = np.random.default_rng(0)
    bad_path, _ = _write_humans(tmp_path / "bad.h5", "L2", rng, lengths=[[2, 3], [3, 2]])
    with pytest.raises(ValueError) as err:
        resemblance_table(att_path, {"L1": humans["L1"], "L2": bad_path}, MEASURES, "m")
    message = str(err.value)
    assert str(bad_path) in message and str(att_path) in message
    assert "article 1 sentence 0 has 3 words" in message
    assert "has 4" in message


def _self_layer(heads, lengths=LENGTHS):
    return [[np.broadcast_to(np.eye(n), (heads, n, n)) for n in article] for article in lengths]


def test_trivial_reliance_of_pure_patterns(tmp_path):
    rng = np.random.default_rng(3)
    random = _random_attention(rng, layers=1, heads=2)
    sentences = []
    for a, article in enumerate(LENGTHS):
        out = []
        for s, n in enumerate(article):
            eye = np.eye(n)
            mix = 0.25 * np.eye(n, k=-1) + 0.5 * eye  # previous and self: explained fully
            mix[:, 0] += 0.125
            const = np.tril(np.ones((n, n))) * 0.5  # constant over all pairs: no R^2
            layers = np.stack(
                [
                    np.stack([eye, eye]),
                    np.stack([mix, eye]),
                    np.stack([const, random[a][s][0, 0].astype(np.float64)]),
                ]
            )
            out.append(layers.astype(np.float16))
        sentences.append(out)
    path = _write_attention(tmp_path / "t.h5", sentences)
    table = trivial_reliance_table(path, "m", block_size=2)
    assert list(table.columns) == ["model", "layer", "r2", "n_constant_heads"]
    assert table["layer"].tolist() == [0, 1, 2]
    assert table["r2"][0] == pytest.approx(1.0, abs=1e-12)
    assert table["r2"][1] == pytest.approx(1.0, abs=1e-12)
    assert table["n_constant_heads"].tolist() == [0, 0, 1]
    # layer 2: the mean leaves out the constant head, so it is the random head's R^2
    y = _pairs([[m[2, 1] for m in article] for article in sentences])
    rows = np.concatenate([np.tril_indices(n)[0] for article in LENGTHS for n in article])
    cols = np.concatenate([np.tril_indices(n)[1] for article in LENGTHS for n in article])
    pattern = np.column_stack([cols == rows, cols == rows - 1, cols == 0])
    assert table["r2"][2] == pytest.approx(_lstsq_r2(pattern, y), abs=1e-10)
    assert 0 < table["r2"][2] < 1


def test_divergence_of_identical_models_is_zero(tmp_path, corpus):
    att_path, attention, _, _ = corpus
    twin = _write_attention(tmp_path / "twin.h5", attention, model="twin")
    table = divergence_table(
        [("tuning", "m", "twin")], {("m", "plain"): att_path, ("twin", "plain"): twin}
    )
    assert list(table.columns) == [
        "comparison",
        "model_a",
        "model_b",
        "condition",
        "depth_quarter",
        "js",
        "n_rows",
    ]
    # 3 layers in quarters floor(4 l / 3) = 0, 1, 2: part 3 is empty and absent
    assert table["depth_quarter"].tolist() == [0, 1, 2]
    np.testing.assert_allclose(table["js"], 0, atol=1e-12)
    # rows with a query word i >= 1: (2-1) + (3-1) + (4-1) + (2-1) = 7
    assert table["n_rows"].tolist() == [7, 7, 7]


def test_models_of_different_depth_compared_by_quarters(tmp_path):
    # values are multiples of 2**-8 below 1, exact in float16, and so are their averages
    rng = np.random.default_rng(11)
    shallow = [
        [np.tril(rng.integers(16, 61, (4, 2, n, n))) / 256 for n in article] for article in LENGTHS
    ]
    # 8 layers: layers 2k and 2k+1 (quarter k) are shallow layer k plus and minus a bump on
    # the diagonal, so only their mean (not either layer alone) equals shallow layer k
    deep = []
    for article in shallow:
        out = []
        for m in article:
            bump = np.eye(m.shape[-1]) * 8 / 256
            out.append(np.stack([m + bump, m - bump], axis=1).reshape(8, *m.shape[1:]))
        deep.append(out)
    paths = {
        ("small", "plain"): _write_attention(tmp_path / "s.h5", shallow, "small"),
        ("big", "plain"): _write_attention(tmp_path / "b.h5", deep, "big"),
        ("first", "plain"): _write_attention(
            tmp_path / "f.h5", [[m[::2] for m in article] for article in deep], "first"
        ),
    }
    table = divergence_table([("scaling", "small", "big")], paths)
    assert table["depth_quarter"].tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(table["js"], 0, atol=1e-15)
    assert table["n_rows"].tolist() == [7] * 4
    # the first layer of each pair alone is not the quarter's mean
    table = divergence_table([("scaling", "big", "first")], paths)
    assert table["depth_quarter"].tolist() == [0, 1, 2, 3]
    assert (table["js"] > 1e-4).all()


def test_js_by_hand_on_a_two_word_sentence(tmp_path):
    # model a: both heads give row 1 = (0.5, 0.5); model b: heads (0, 0.5) and (0.25, 0.25),
    # head mean (0.125, 0.375), renormalised (0.25, 0.75). Row 0 is left out.
    a = np.array([[[[1, 0], [0.5, 0.5]], [[1, 0], [0.5, 0.5]]]], np.float16)
    b = np.array([[[[1, 0], [0, 0.5]], [[1, 0], [0.25, 0.25]]]], np.float16)
    paths = {
        ("a", "plain"): _write_attention(tmp_path / "a.h5", [[a]], "a"),
        ("b", "plain"): _write_attention(tmp_path / "b.h5", [[b]], "b"),
    }
    table = divergence_table([("tuning", "a", "b")], paths)
    # m = (0.375, 0.625); KL(p||m) = 0.5 ln(4/3) + 0.5 ln(0.8) = 0.032269,
    # KL(q||m) = 0.25 ln(2/3) + 0.75 ln(1.2) = 0.035375; JS = 0.033822 nats
    kl_p = 0.5 * math.log(0.5 / 0.375) + 0.5 * math.log(0.5 / 0.625)
    kl_q = 0.25 * math.log(0.25 / 0.375) + 0.75 * math.log(0.75 / 0.625)
    assert table["depth_quarter"].tolist() == [0]
    assert table["n_rows"].tolist() == [1]
    assert table["js"][0] == pytest.approx(0.5 * (kl_p + kl_q), abs=1e-12)
    assert table["js"][0] == pytest.approx(0.033822, abs=1e-6)


def test_divergence_without_common_condition(tmp_path, corpus):
    att_path, _, _, _ = corpus
    with pytest.raises(ValueError, match="tuning m vs n: no common condition"):
        divergence_table(
            [("tuning", "m", "n")], {("m", "plain"): att_path, ("n", "instruction"): att_path}
        )


def test_instruction_sensitivity_without_control(tmp_path, corpus):
    att_path, attention, _, _ = corpus
    instr = _write_attention(tmp_path / "i.h5", attention, condition="instruction")
    table = instruction_sensitivity_table("m", {"plain": att_path, "instruction": instr})
    assert list(table.columns) == ["model", "layer", "js_instruction", "js_control", "note"]
    assert table["layer"].tolist() == [0, 1, 2]
    np.testing.assert_allclose(table["js_instruction"], 0, atol=1e-12)
    assert table["js_control"].isna().all()
    assert (table["note"] == "no control condition for this model").all()


def test_instruction_sensitivity_with_both_conditions(tmp_path, corpus):
    att_path, attention, _, _ = corpus
    rng = np.random.default_rng(5)
    other = _write_attention(tmp_path / "c.h5", _random_attention(rng, 3, 2), condition="control")
    table = instruction_sensitivity_table(
        "m", {"plain": att_path, "instruction": att_path, "control": other}
    )
    assert (table["note"] == "").all()
    assert (table["js_control"] > 0).all() and (table["js_control"] <= math.log(2)).all()


def test_instruction_sensitivity_needs_plain(corpus):
    att_path, _, _, _ = corpus
    with pytest.raises(ValueError, match="model m: .*plain"):
        instruction_sensitivity_table("m", {"instruction": att_path})


def _heldout_r2_by_hand(x, y, article):
    """Leave-one-article-out R2 with numpy lstsq: pooled SSE over the grand-mean SST."""
    design = np.column_stack([np.ones(y.size), x])
    sse = 0.0
    for a in np.unique(article):
        beta = np.linalg.lstsq(design[article != a], y[article != a], rcond=None)[0]
        sse += ((y[article == a] - design[article == a] @ beta) ** 2).sum()
    return 1 - sse / ((y - y.mean()) ** 2).sum()


def test_controls_table_lists_each_check_with_what_it_catches(corpus):
    att_path, _, humans, _ = corpus
    table = controls_table({"m": att_path}, humans, MEASURES, seed=0, block_size=2)
    assert list(table.columns) == list(CONTROL_COLUMNS)
    per_target = [
        "shuffled_resemblance",
        "shuffled_attention_across_sentences",
        "heads_beat_trivial_patterns",
        "human_not_attention",
    ]
    assert table["check"].tolist() == ["js_self"] + per_target * 4 + ["trivial_self_r2"]
    assert table["kind"].tolist() == [CONTROLS[c][0] for c in table["check"]]
    assert set(table["kind"]) == {"sanity", "chance", "claim"}
    assert table["catches"].str.len().gt(20).all()
    checks = table.set_index(["check", "group", "measure"])
    # the two sanity checks hold on any data
    assert checks.loc[("js_self", "", ""), "value"] == pytest.approx(0, abs=1e-12)
    assert checks.loc[("trivial_self_r2", "", ""), "value"] == pytest.approx(1, abs=1e-9)
    assert table.query("kind == 'sanity'")["passed"].all()
    assert "chance K/(P-1) = 0.09524" in checks.loc[("shuffled_resemblance", "L1", "num"), "detail"]
    # unrelated noise: within-sentence shuffles fall to chance, nothing looks like a copy
    assert table.query("check == 'shuffled_resemblance'")["passed"].all()
    assert table.query("check == 'human_not_attention'")["passed"].all()


def test_controls_across_sentences_and_trivial_baseline_equal_lstsq_by_hand(corpus):
    # LENGTHS [[2, 3], [4, 2]]: the two 2-word sentences (article 0 and article 1) are the
    # only ones of equal length, so the shuffle swaps them whatever the seed and leaves the
    # 3- and 4-word sentences out
    att_path, attention, humans, matrices = corpus
    table = controls_table({"m": att_path}, humans, ["num"], seed=5, block_size=2)
    x = _pairs(attention)  # (3 layers, 2 heads, 22 pairs)
    first, last = np.arange(0, 3), np.arange(19, 22)
    swapped = np.concatenate([x[..., last], x[..., first]], axis=-1)
    article = np.repeat([0, 1], [3, 3])
    full_article = np.repeat([0, 1], [3 + 6, 10 + 3])
    row_of = np.concatenate([np.repeat(np.arange(n), np.arange(n) + 1) for n in (2, 3, 4, 2)])
    col_of = np.concatenate(
        [np.concatenate([np.arange(i + 1) for i in range(n)]) for n in (2, 3, 4, 2)]
    )
    patterns = np.column_stack([col_of == row_of, col_of == row_of - 1, col_of == 0]).astype(float)
    for group in ("L1", "L2"):
        y = _pairs(matrices[group]["num"])
        checks = table.query("group == @group").set_index("check")
        y_kept = np.concatenate([y[first], y[last]])
        across = max(_heldout_r2_by_hand(swapped[layer].T, y_kept, article) for layer in range(3))
        assert checks.loc["shuffled_attention_across_sentences", "value"] == pytest.approx(
            across, abs=1e-9
        )
        assert "2 of 4 sentences" in checks.loc["shuffled_attention_across_sentences", "detail"]
        heads = max(_heldout_r2_by_hand(x[layer].T, y, full_article) for layer in range(3))
        baseline = _heldout_r2_by_hand(patterns, y, full_article)
        row = checks.loc["heads_beat_trivial_patterns"]
        assert row["value"] == pytest.approx(heads, abs=1e-9)
        assert row["threshold"] == pytest.approx(baseline, abs=1e-9)
        assert row["passed"] == (heads > baseline)


def test_controls_flag_a_human_matrix_that_copies_attention(tmp_path):
    # a human matrix equal to head 0 of the only layer: the layer's heads fit it exactly, so
    # human_not_attention fails (in-sample R2 1 >= 0.999)
    rng = np.random.default_rng(2)
    attention = _random_attention(rng, layers=1, heads=2)
    att_path = _write_attention(tmp_path / "m.h5", attention)
    copy = {"num": [[s[0, 0].astype(np.float64) for s in article] for article in attention]}
    write_saccades(tmp_path / "h.h5", SaccadeSet("L1", 1, "test", False, copy))
    table = controls_table({"m": att_path}, {"L1": tmp_path / "h.h5"}, ["num"])
    checks = table.set_index("check")
    assert checks.loc["human_not_attention", "value"] == pytest.approx(1, abs=1e-9)
    assert not checks.loc["human_not_attention", "passed"]
    assert checks.loc["shuffled_resemblance", "detail"].endswith("vs unshuffled 1")
    # the copy is fitted exactly out of sample too, which no trivial pattern does
    assert checks.loc["heads_beat_trivial_patterns", "value"] == pytest.approx(1, abs=1e-9)
    assert checks.loc["heads_beat_trivial_patterns", "passed"]


def _positional_attention(lengths):
    """Head 0 attends to the word itself, head 1 to the previous word (word 0 to itself)."""
    sentences = []
    for article in lengths:
        out = []
        for n in article:
            m = np.zeros((1, 2, n, n), dtype=np.float16)
            m[0, 0] = np.eye(n)
            m[0, 1, 0, 0] = 1
            m[0, 1, np.arange(1, n), np.arange(n - 1)] = 1
            out.append(m)
        sentences.append(out)
    return sentences


def test_controls_fail_when_resemblance_is_only_word_position(tmp_path):
    # readers who always move to the previous word, and heads that attend by position only:
    # attention from another sentence of the same length predicts them as well as the
    # sentence's own, so the across-sentence control fails; and the previous-word pattern
    # fits them exactly (held-out R2 1), which the heads (whose word-0 row differs) cannot
    # beat, so the trivial-baseline claim fails too
    lengths = [[3, 3, 4], [3, 4], [3, 3]]
    att_path = _write_attention(tmp_path / "m.h5", _positional_attention(lengths))
    readers = {
        "num": [
            [np.eye(n, k=-1) + 0.01 * np.eye(n) * (a + 1) for n in article]
            for a, article in enumerate(lengths)
        ]
    }
    write_saccades(tmp_path / "h.h5", SaccadeSet("L1", 1, "test", False, readers))
    table = controls_table({"m": att_path}, {"L1": tmp_path / "h.h5"}, ["num"])
    checks = table.set_index("check")
    across = checks.loc["shuffled_attention_across_sentences"]
    assert across["value"] > 0.5
    assert not across["passed"]
    assert "7 of 7 sentences" in across["detail"]
    trivial_row = checks.loc["heads_beat_trivial_patterns"]
    assert trivial_row["kind"] == "claim"
    assert not trivial_row["passed"]
    assert checks.loc["shuffled_resemblance", "passed"]
