"""Per-reader resemblance: R^2 of a layer's heads predicting each reader's matrix entries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from readalike.core.formats import (
    AttentionSet,
    ReaderMatrices,
    SaccadeSet,
    write_attention,
    write_saccades,
)
from readalike.core.pairs import pair_index
from readalike.study_a.resemblance import reader_r2, regression_r2
from readalike.study_a.tables import READER_RESEMBLANCE_COLUMNS, reader_resemblance_table

# The hand-worked case: two articles of one 2-word sentence each, one layer, one head.
# Pairs (0,0), (1,0), (1,1); a causal head's rows sum to 1, so its pairs are [1, t, 1 - t].
HAND_LENGTHS = [[2], [2]]
HAND_ATTENTION = [np.array([[1.0, 0.0], [0.25, 0.75]]), np.array([[1.0, 0.0], [0.5, 0.5]])]
# Reader A read both sentences: y = [2, 0, 1] then [1, 1, 0] (upper triangle ignored).
# Reader B read only the first: y = [2, 0, 1].
HAND_A = [np.array([[2.0, 9.0], [0.0, 1.0]]), np.array([[1.0, 9.0], [1.0, 0.0]])]
HAND_B = np.array([[2.0, 9.0], [0.0, 1.0]])
# B: x = [1, 1/4, 3/4], y = [2, 0, 1]; Sxx = 7/24, Sxy = 3/4, Syy = 2,
#    R^2 = Sxy^2 / (Sxx Syy) = (9/16) / (7/12) = 27/28; one article: held out undefined.
# A: six pairs, x mean 2/3, y mean 5/6; Sxx = 11/24, Sxy = 11/12, Syy = 17/6,
#    R^2 = (121/144) / (187/144) = 11/17.
#    Held out: fit on article 1 (x = [1, .5, .5], y = [1, 1, 0]) is y = x, which misses
#    article 0 by [1, -1/4, 1/4]: SSE 9/8. Fit on article 0 is y = 18/7 x - 5/7, which
#    predicts [13/7, 4/7, 4/7] for [1, 1, 0]: SSE 61/49. R^2 = 1 - (9/8 + 61/49) / (17/6)
#    = 545/3332.
R2_A, R2_A_HELDOUT, R2_B = 11 / 17, 545 / 3332, 27 / 28
# The authors' definition counts B's unread sentence as zeros: x = [1, 1/4, 3/4, 1, 1/2, 1/2],
#    y = [2, 0, 1, 0, 0, 0]; x mean 2/3, y mean 1/2; Sxx = 11/24, Sxy = 3/4, Syy = 7/2,
#    R^2 = (9/16) / (77/48) = 27/77. A read both sentences: 11/17 under both definitions.
R2_B_AUTHORS = 27 / 77


def _tril(m):
    r, c = np.tril_indices(m.shape[-1])
    return m[..., r, c]


def test_hand_worked_case_reader_r2():
    index = pair_index(HAND_LENGTHS)
    x = np.concatenate([_tril(m) for m in HAND_ATTENTION])[None, None]  # (1, 1, 6)
    y = np.stack([np.concatenate([_tril(m) for m in HAND_A]), np.r_[_tril(HAND_B), 7, 7, 7]])
    present = np.array([[True, True], [True, False]])
    r2, r2_out, n_pairs = reader_r2(x, y, present, index)
    np.testing.assert_allclose(r2, [[R2_A, R2_B]], rtol=1e-12)
    np.testing.assert_allclose(r2_out[0, 0], R2_A_HELDOUT, rtol=1e-12)
    assert np.isnan(r2_out[0, 1])
    assert n_pairs.tolist() == [6, 3]


def _hand_files(tmp_path):
    attention = [[m[None, None].astype(np.float16)] for m in HAND_ATTENTION]
    write_attention(tmp_path / "a.h5", AttentionSet("m", "plain", attention, source="test"))
    reader_measures = {
        "num": ReaderMatrices(
            [[np.stack([HAND_A[0], HAND_B])], [HAND_A[1][None]]],
            [[np.array([0, 1])], [np.array([0])]],
        )
    }
    means = {"num": [[(HAND_A[0] + HAND_B) / 2], [HAND_A[1]]]}
    saccades = SaccadeSet("L1", 2, "test", True, means, [[2], [1]], ["A", "B"], reader_measures)
    write_saccades(tmp_path / "L1.h5", saccades)
    return saccades


def test_hand_worked_case_table(tmp_path, caplog):
    _hand_files(tmp_path)
    both = reader_resemblance_table(tmp_path / "a.h5", {"L1": tmp_path / "L1.h5"}, ["num"], "m")
    assert tuple(both.columns) == READER_RESEMBLANCE_COLUMNS
    assert both["definition"].tolist() == ["project", "project", "authors", "authors"]
    authors = both[both["definition"] == "authors"]
    np.testing.assert_allclose(authors["r2"], [R2_A, R2_B_AUTHORS], rtol=1e-12)
    assert authors["n_pairs"].tolist() == [6, 6]
    table = both[both["definition"] == "project"]
    assert table["reader"].tolist() == ["A", "B"]
    assert table["n_pairs"].tolist() == [6, 3]
    assert table[["model", "group", "measure", "layer"]].drop_duplicates().values.tolist() == [
        ["m", "L1", "num", 0]
    ]
    np.testing.assert_allclose(table["r2"], [R2_A, R2_B], rtol=1e-12)
    np.testing.assert_allclose(table["r2_heldout"].iloc[0], R2_A_HELDOUT, rtol=1e-12)
    assert np.isnan(table["r2_heldout"].iloc[1])
    assert "group L1 has 2 reader(s)" in caplog.text  # too few for statistics: said, no crash


def _random_problem(seed, n_readers=7, layers=3, heads=4):
    rng = np.random.default_rng(seed)
    lengths = [[int(n) for n in rng.integers(3, 9, size=k)] for k in (4, 3, 5)]
    index = pair_index(lengths)
    n_sentences = sum(len(a) for a in lengths)
    x = rng.random((layers, heads, index.n_pairs))
    y = rng.random((n_readers, index.n_pairs)) + 0.3 * x[0, :2].sum(axis=0)
    present = rng.random((n_readers, n_sentences)) > 0.25
    present[0] = True  # one reader of every sentence
    present[1] = index.article[np.searchsorted(index.sentence, np.arange(n_sentences))] == 1
    present[2] = present[3]  # two readers share a mask (and so a Gram matrix)
    return x, y, present, index


def _lstsq_reference(x, y, present, index):
    """One plain np.linalg.lstsq per reader, layer and fold (by the definition).

    A reader who made no regression or refixation has only zeros on ``j <= i``: SST = 0 and
    R^2 is NaN, as in the batched version.
    """
    r2 = np.full((x.shape[0], y.shape[0]), np.nan)
    r2_out = np.full_like(r2, np.nan)
    for t in range(y.shape[0]):
        keep = present[t][index.sentence]
        yt, articles = y[t, keep], index.article[keep]
        sst = ((yt - yt.mean()) ** 2).sum()
        for b in range(x.shape[0]):
            design = np.c_[np.ones(keep.sum()), x[b][:, keep].T]
            beta = np.linalg.lstsq(design, yt, rcond=None)[0]
            with np.errstate(invalid="ignore", divide="ignore"):
                r2[b, t] = 1 - ((yt - design @ beta) ** 2).sum() / sst
            if np.unique(articles).size > 1:
                sse = 0.0
                for a in np.unique(articles):
                    test = articles == a
                    beta_a = np.linalg.lstsq(design[~test], yt[~test], rcond=None)[0]
                    sse += ((yt[test] - design[test] @ beta_a) ** 2).sum()
                with np.errstate(invalid="ignore", divide="ignore"):
                    r2_out[b, t] = 1 - sse / sst
    return r2, r2_out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_one_lstsq_per_reader(seed):
    x, y, present, index = _random_problem(seed)
    r2, r2_out, n_pairs = reader_r2(x, y, present, index)
    ref, ref_out = _lstsq_reference(x, y, present, index)
    np.testing.assert_allclose(r2, ref, rtol=0, atol=1e-8)
    np.testing.assert_allclose(r2_out, ref_out, rtol=0, atol=1e-8)  # NaN where NaN
    assert np.isnan(r2_out[:, 1]).all()  # reader 1 read one article only
    assert n_pairs.tolist() == [
        int(np.isin(index.sentence, np.flatnonzero(p)).sum()) for p in present
    ]


def test_reader_of_every_sentence_equals_group_regression():
    x, y, present, index = _random_problem(5)
    r2, r2_out, _ = reader_r2(x, y, present, index)
    group_r2, group_out = regression_r2(x.transpose(0, 2, 1), y[0], index.article_start)
    np.testing.assert_allclose(r2[:, 0], group_r2, atol=1e-10)
    np.testing.assert_allclose(r2_out[:, 0], group_out, atol=1e-10)


def test_entries_of_absent_sentences_are_ignored():
    x, y, present, index = _random_problem(3)
    noisy = y.copy()
    noisy[~present[:, index.sentence]] = 1e6
    np.testing.assert_array_equal(
        np.asarray(reader_r2(x, noisy, present, index)[:2]),
        np.asarray(reader_r2(x, y, present, index)[:2]),
    )


def test_table_from_simulated_readers_matches_lstsq(tmp_path):
    """End to end on files: fixations -> per-reader matrices -> table, against lstsq."""
    from readalike.human.reading_model import PROFILES, simulate_fixations
    from readalike.human.saccades import saccade_matrices

    stimuli = [
        [["A", "cat", "sat", "on", "the", "warm", "mat."], ["It", "slept", "there."]],
        [["Readers", "skip", "short", "words", "and", "look", "back."], ["Then", "go", "on."]],
    ]
    lengths = [[len(s) for s in a] for a in stimuli]
    rng = np.random.default_rng(4)
    layers, heads = 2, 3
    attention = []
    for article in lengths:
        sentences = []
        for n in article:
            m = np.tril(rng.random((layers, heads, n, n)) + 0.05)
            sentences.append((m / m.sum(-1, keepdims=True)).astype(np.float16))
        attention.append(sentences)
    write_attention(tmp_path / "a.h5", AttentionSet("m", "plain", attention, source="t"))
    paths = {}
    for offset, (group, profile) in enumerate((("L1", "native"), ("L2", "nonnative"))):
        table = simulate_fixations(stimuli, group, PROFILES[profile], 4, 9, 100 * offset)
        table = table[
            ~((table["subject"] == f"sim{100 * offset + 1:03d}") & (table["article"] == 1))
        ]
        write_saccades(tmp_path / f"{group}.h5", saccade_matrices(table, lengths, group, "s", True))
        paths[group] = tmp_path / f"{group}.h5"
    both = reader_resemblance_table(tmp_path / "a.h5", paths, ["num", "dur"], "m", block_size=1)
    assert len(both) == 2 * 2 * 2 * layers * 4
    out = both[both["definition"] == "project"]
    authors = both[both["definition"] == "authors"]
    from readalike.core.formats import read_saccades

    index = pair_index(lengths)
    x = np.concatenate([_tril(s.astype(np.float64)) for a in attention for s in a], axis=-1)
    for group, path in paths.items():
        saccades = read_saccades(path)
        for measure in ("num", "dur"):
            per_reader = saccades.reader_measures[measure]
            present = per_reader.present(4)
            y = np.zeros((4, index.n_pairs))
            start = 0
            flat = [
                (m, r)
                for a, b in zip(per_reader.matrices, per_reader.readers, strict=True)
                for m, r in zip(a, b, strict=True)
            ]
            for stack, readers in flat:
                y[readers, start : start + stack.shape[1] * (stack.shape[1] + 1) // 2] = _tril(
                    stack
                )
                start += stack.shape[1] * (stack.shape[1] + 1) // 2
            ref, ref_out = _lstsq_reference(x, y, present, index)
            rows = out[(out["group"] == group) & (out["measure"] == measure)]
            pairs = np.array([n * (n + 1) // 2 for a in lengths for n in a])
            assert rows[rows["layer"] == 0]["n_pairs"].tolist() == (present @ pairs).tolist()
            got = rows.pivot(index="layer", columns="reader", values="r2")
            got_out = rows.pivot(index="layer", columns="reader", values="r2_heldout")
            assert list(got.columns) == saccades.reader_ids
            np.testing.assert_allclose(got.to_numpy(), ref, atol=1e-8)
            np.testing.assert_allclose(got_out.to_numpy(), ref_out, atol=1e-8)
            # the authors': every sentence, the unread ones as zeros
            ref_a, ref_a_out = _lstsq_reference(x, y, np.ones_like(present), index)
            rows = authors[(authors["group"] == group) & (authors["measure"] == measure)]
            got = rows.pivot(index="layer", columns="reader", values="r2")
            np.testing.assert_allclose(got.to_numpy(), ref_a, atol=1e-8)
    # reader sim001 of L1 skipped article 1: only article 0's pairs (28 + 6 at most)
    l1 = out[(out["group"] == "L1") & (out["layer"] == 0) & (out["measure"] == "num")]
    assert l1.set_index("reader").loc["sim001", "n_pairs"] <= 34
    assert np.isnan(l1.set_index("reader").loc["sim001", "r2_heldout"])


def test_reader_in_two_groups_is_refused(tmp_path):
    saccades = _hand_files(tmp_path)
    saccades.group = "L2"
    write_saccades(tmp_path / "L2.h5", saccades)
    with pytest.raises(ValueError, match=r"reader A is in group L1 \(.*L1\.h5\) and in group L2"):
        reader_resemblance_table(
            tmp_path / "a.h5", {"L1": tmp_path / "L1.h5", "L2": tmp_path / "L2.h5"}, ["num"], "m"
        )


def test_group_means_only_are_refused(tmp_path):
    saccades = _hand_files(tmp_path)
    saccades.reader_ids = saccades.reader_measures = None
    write_saccades(tmp_path / "L1.h5", saccades)
    with pytest.raises(ValueError, match=r"L1\.h5: group L1 holds group means only"):
        reader_resemblance_table(tmp_path / "a.h5", {"L1": tmp_path / "L1.h5"}, ["num"], "m")


def test_sentence_lengths_that_differ_from_the_model_name_group_and_reader(tmp_path):
    saccades = _hand_files(tmp_path)
    saccades.measures["num"][1][0] = np.zeros((3, 3))
    saccades.reader_measures["num"].matrices[1][0] = np.zeros((1, 3, 3))
    write_saccades(tmp_path / "L1.h5", saccades)
    with pytest.raises(ValueError) as err:
        reader_resemblance_table(tmp_path / "a.h5", {"L1": tmp_path / "L1.h5"}, ["num"], "m")
    assert str(err.value) == (
        f"{tmp_path / 'L1.h5'}: group L1 reader A article 1 sentence 0 has 3 words, "
        f"{tmp_path / 'a.h5'} has 2"
    )


def test_table_is_a_data_frame_of_plain_types(tmp_path):
    _hand_files(tmp_path)
    table = reader_resemblance_table(tmp_path / "a.h5", {"L1": tmp_path / "L1.h5"}, ["num"], "m")
    assert isinstance(table, pd.DataFrame)
    assert table["layer"].dtype.kind == "i" and table["n_pairs"].dtype.kind == "i"


def test_shuffled_control_is_the_same_fit_on_values_permuted_within_sentences(tmp_path):
    from readalike.study_a.resemblance import shuffle_within_sentences

    _hand_files(tmp_path)
    table = reader_resemblance_table(
        tmp_path / "a.h5", {"L1": tmp_path / "L1.h5"}, ["num"], "m", shuffle_seed=3
    )
    index = pair_index(HAND_LENGTHS)
    x = np.concatenate([_tril(m) for m in HAND_ATTENTION])[None, None]
    y = np.stack([np.concatenate([_tril(m) for m in HAND_A]), np.r_[_tril(HAND_B), 0, 0, 0]])
    order = shuffle_within_sentences(np.arange(index.n_pairs), index, np.random.default_rng(3))
    # a permutation inside each sentence: pairs never leave their sentence
    assert (index.sentence[order] == index.sentence).all()
    expected, _, _ = reader_r2(x, y[:, order], np.array([[True, True], [True, False]]), index)
    project = table[table["definition"] == "project"]
    np.testing.assert_allclose(project["r2_shuffled"], expected[0], rtol=1e-12)


def _simulated_files(tmp_path, n_readers=5):
    from readalike.human.reading_model import PROFILES, simulate_fixations
    from readalike.human.saccades import saccade_matrices

    stimuli = [
        [["A", "cat", "sat", "on", "the", "warm", "mat."], ["It", "slept", "there."]],
        [["Readers", "skip", "short", "words", "and", "look", "back."], ["Then", "go", "on."]],
    ]
    lengths = [[len(s) for s in a] for a in stimuli]
    rng = np.random.default_rng(4)
    attention = [
        [
            (lambda m: (m / m.sum(-1, keepdims=True)).astype(np.float16))(
                np.tril(rng.random((3, 2, n, n)) + 0.05)
            )
            for n in article
        ]
        for article in lengths
    ]
    write_attention(tmp_path / "a.h5", AttentionSet("m", "plain", attention, source="t"))
    table = simulate_fixations(stimuli, "L1", PROFILES["native"], n_readers, 9, 0)
    table = table[~((table["subject"] == "sim001") & (table["article"] == 1))]
    write_saccades(tmp_path / "L1.h5", saccade_matrices(table, lengths, "L1", "s", True))
    return lengths, {"L1": tmp_path / "L1.h5"}


def test_noise_ceiling_table_stacks_readers_with_nan_for_unread_sentences(tmp_path):
    from readalike.core.formats import read_saccades
    from readalike.study_a import noise_ceiling
    from readalike.study_a.tables import reader_noise_ceiling_table

    lengths, paths = _simulated_files(tmp_path)
    table = reader_noise_ceiling_table(paths, ["num"], n_boot=200, n_splits=50, seed=1)
    assert table["kind"].tolist() == [
        "leave_one_reader_out",
        "authors_inclusive",
        "split_half_spearman_brown",
    ]
    # the same ceiling from a stack built here, reader by reader
    saccades = read_saccades(paths["L1"])
    index = pair_index(lengths)
    per_reader = saccades.reader_measures["num"]
    y = np.full((5, index.n_pairs), np.nan)
    starts = np.r_[0, np.cumsum([n * (n + 1) // 2 for a in lengths for n in a])]
    flat = [
        (m, r)
        for a, b in zip(per_reader.matrices, per_reader.readers, strict=True)
        for m, r in zip(a, b, strict=True)
    ]
    for s, (stack, readers) in enumerate(flat):
        y[readers, starts[s] : starts[s + 1]] = _tril(stack)
    assert np.isnan(y[1, starts[2] :]).all()  # sim001 skipped article 1
    expected = noise_ceiling.leave_one_out_ceiling(y, n_boot=200, seed=1)
    assert table["value"].iloc[0] == pytest.approx(expected.value, rel=1e-12)
    assert table["n_readers"].iloc[0] == 5


def test_resemblance_interval_point_is_the_group_mean_r2(tmp_path):
    from readalike.study_a.tables import resemblance_ci_table, resemblance_table

    _, paths = _simulated_files(tmp_path)
    ci = resemblance_ci_table(tmp_path / "a.h5", paths, ["num"], "m", 200, 5, block_size=2)
    plain = resemblance_table(tmp_path / "a.h5", paths, ["num"], "m", residual=False)
    np.testing.assert_allclose(ci["r2"], plain["r2"], rtol=1e-10)
    assert ci["layer"].tolist() == [0, 1, 2] and (ci["n_draws"] == 200).all()
    assert (ci["ci_low"] <= ci["ci_high"]).all()
    again = resemblance_ci_table(tmp_path / "a.h5", paths, ["num"], "m", 200, 5)
    pd.testing.assert_frame_equal(ci, again)  # seeded; layer blocks share the draws


STATISTICS = {"n_permutations": 999, "seed": 0, "alpha": 0.05, "min_readers": 3}


def _reader_rows(model="m", n_layers=2, shift=None):
    rng = np.random.default_rng(0)
    shift = shift or {"L1": 0.0, "L2": 0.3, "L3": 0.0}
    rows = []
    for group, offset in shift.items():
        for r in range(4):
            for layer in range(n_layers):
                rows.append(
                    {
                        "model": model,
                        "group": group,
                        "measure": "num",
                        "layer": layer,
                        "reader": f"{group}-{r}",
                        "r2": 0.2 + offset + 0.01 * rng.random(),
                        "r2_shuffled": 0.01 * rng.random(),
                    }
                )
    return pd.DataFrame(rows)


def test_reader_tests_table_tests_each_group_against_the_reference_and_chance():
    from readalike.study_a.tables import reader_tests_table

    table = reader_tests_table(_reader_rows(), ["L1", "L2", "L3"], STATISTICS)
    against = table[table["test"] != "paired_t_one_sided_above_shuffled"]
    assert sorted(set(zip(against["group_a"], against["group_b"], strict=True))) == [
        ("L2", "L1"),
        ("L3", "L1"),
    ]
    welch = against[against["test"] == "welch_t_one_sided"].set_index("group_a")
    assert welch.loc["L2", "holds"].all() and not welch.loc["L3", "holds"].any()
    chance = table[table["test"] == "paired_t_one_sided_above_shuffled"]
    assert len(chance) == 3 * 2 and chance["holds"].all()  # 3 groups x 2 layers


def test_model_comparisons_table_names_the_comparison_and_uses_each_depth(tmp_path):
    from readalike.study_a.tables import model_comparisons_table

    paths = {}
    for name, depth in (("small", 2), ("large", 4)):
        sentences = [[np.tril(np.ones((depth, 1, 3, 3), np.float16)) / np.arange(1, 4)[:, None]]]
        write_attention(tmp_path / f"{name}.h5", AttentionSet(name, "plain", sentences))
        paths[name] = tmp_path / f"{name}.h5"
    readers = pd.concat(
        [_reader_rows("small", 2, {"L1": 0.0}), _reader_rows("large", 4, {"L1": 0.1})]
    )
    table = model_comparisons_table(readers, [("scaling", "small", "large")], paths, STATISTICS)
    assert table.columns[0] == "comparison" and set(table["comparison"]) == {"scaling"}
    # the small model's 2 layers fall in quarters 0 and 2, the large one's 4 in 0..3
    assert sorted(table["depth_quarter"].unique()) == [0, 2]


def _group_file(tmp_path, group, lengths, readers, seed):
    """Per-reader files of ``readers`` who read every sentence, random matrices."""
    rng = np.random.default_rng(seed)
    stacks = [[rng.random((len(readers), n, n)) for n in article] for article in lengths]
    matrices = ReaderMatrices(stacks, [[np.arange(len(readers)) for _ in a] for a in lengths])
    means = {"num": [[m.mean(axis=0) for m in article] for article in stacks]}
    saccades = SaccadeSet(group, len(readers), "t", True, means, None, readers, {"num": matrices})
    write_saccades(tmp_path / f"{group}.h5", saccades)
    return tmp_path / f"{group}.h5", stacks


def test_groups_of_other_lengths_read_the_attention_up_to_their_own(tmp_path):
    """As the release's fMRI: L2 gives a sentence 3 words where the attention holds 2 (stored
    at 3, its last row zero padding) and L1 gives it 2. L1 reads the top-left block; the
    project leaves the sentence out for L2, the authors' rows count the padding."""
    rng = np.random.default_rng(7)
    stored = [[3, 4], [3]]
    attention = []
    for article in stored:
        sentences = []
        for n in article:
            m = np.tril(rng.random((2, 3, n, n)) + 0.05).astype(np.float32)
            sentences.append(m)
        attention.append(sentences)
    attention[0][1][:, :, 3, :] = 0  # article 0 sentence 1: 3 words, stored at 4
    write_attention(tmp_path / "a.h5", AttentionSet("m", "plain", attention, source="t"))
    l1_lengths, l2_lengths = [[3, 3], [3]], [[3, 4], [3]]
    l1, l1_stacks = _group_file(tmp_path, "L1", l1_lengths, ["a", "b", "c"], 1)
    l2, l2_stacks = _group_file(tmp_path, "L2", l2_lengths, ["d", "e"], 2)
    table = reader_resemblance_table(tmp_path / "a.h5", {"L1": l1, "L2": l2}, ["num"], "m")

    def reference(stacks, reader, use):
        x = np.concatenate(
            [_tril(attention[a][s][..., :n, :n]) for a, s, n in use], axis=-1
        ).astype(np.float64)
        y = np.concatenate([_tril(stacks[a][s][reader]) for a, s, _ in use])
        ref, _ = _lstsq_reference(
            x, y[None], np.ones((1, len(use)), bool), pair_index([[n for _, _, n in use]])
        )
        return ref[:, 0]

    every = {
        "L1": [(0, 0, 3), (0, 1, 3), (1, 0, 3)],
        "L2": [(0, 0, 3), (0, 1, 4), (1, 0, 3)],
    }
    project = {"L1": every["L1"], "L2": [(0, 0, 3), (1, 0, 3)]}
    stacks = {"L1": l1_stacks, "L2": l2_stacks}
    for definition, use in (("project", project), ("authors", every)):
        rows = table[table["definition"] == definition]
        for group, readers in (("L1", ["a", "b", "c"]), ("L2", ["d", "e"])):
            for r, reader in enumerate(readers):
                got = rows[(rows["group"] == group) & (rows["reader"] == reader)]["r2"]
                want = reference(stacks[group], r, use[group])
                np.testing.assert_allclose(got.to_numpy(), want, atol=1e-10)
    l2_pairs = table[(table["group"] == "L2") & (table["layer"] == 0)]
    assert l2_pairs.groupby("definition")["n_pairs"].first().to_dict() == {
        "project": 12,
        "authors": 22,
    }


def test_a_group_shorter_than_the_words_the_attention_holds_is_an_error(tmp_path):
    attention = [[np.tril(np.ones((1, 1, 3, 3), dtype=np.float16))]]
    write_attention(tmp_path / "a.h5", AttentionSet("m", "plain", attention, source="t"))
    l1, _ = _group_file(tmp_path, "L1", [[2]], ["a", "b"], 1)
    with pytest.raises(ValueError) as err:
        reader_resemblance_table(tmp_path / "a.h5", {"L1": l1}, ["num"], "m")
    assert str(err.value) == (
        f"{l1}: group L1 reader a article 0 sentence 0 has 2 words, {tmp_path / 'a.h5'} has 3"
    )
