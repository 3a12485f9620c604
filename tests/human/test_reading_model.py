"""The simulated readers: determinism, the L1/L2 contrasts, and the path through saccades."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from readalike.core import formats
from readalike.core.stimuli import read_stimuli, sentence_lengths
from readalike.human.reading_model import (
    PROFILES,
    REFERENCE_LENGTH,
    ReaderProfile,
    normalise_word,
    reading_rates,
    simulate_fixations,
    word_skip_rates,
    word_table,
    write_fixations,
)
from readalike.human.saccades import FIXATION_COLUMNS, read_fixations, saccade_matrices

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo" / "stimuli.txt"
#: Enough readers for the group contrasts to be far outside sampling noise (the L1/L2
#: differences in regression and refixation shares are several standard errors wide
#: at this size), with the seed fixed so the test cannot flicker.
N_READERS = 60
SEED = 20231029


@pytest.fixture(scope="module")
def demo():
    return read_stimuli(DEMO)


@pytest.fixture(scope="module")
def both_groups(demo):
    return pd.concat(
        [
            simulate_fixations(demo, group, PROFILES[group], N_READERS, SEED, 1000 * k)
            for k, group in enumerate(("native", "nonnative"))
        ],
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def rates(both_groups, demo):
    return reading_rates(both_groups, demo).set_index("group")


TINY = [[["The", "cat", "sat."], ["the", "dog!", "Ran", "--"]]]


def test_word_table_on_tiny_stimuli():
    table = word_table(TINY)
    assert table["text"].tolist() == ["The", "cat", "sat.", "the", "dog!", "Ran", "--"]
    assert table["length"].tolist() == [3, 3, 3, 3, 3, 3, 1]
    assert table["count"].tolist() == [2, 1, 1, 2, 1, 1, 1]
    log_count = np.log([2, 1, 1, 2, 1, 1, 1])
    expected = (log_count - log_count.mean()) / log_count.std()
    np.testing.assert_allclose(table["frequency_z"], expected)
    assert table[["article", "sentence", "word"]].values.tolist()[4] == [0, 1, 1]


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        pytest.param("Honey,", "honey", id="comma"),
        pytest.param("\u201cBees\u201d", "bees", id="quotes"),
        pytest.param("don't", "dont", id="apostrophe"),
        pytest.param("--", "", id="dash"),
    ],
)
def test_normalise_word(word, expected):
    assert normalise_word(word) == expected


def test_profile_probabilities_follow_length_and_frequency():
    profile = PROFILES["native"]
    lengths = np.array([2.0, REFERENCE_LENGTH, 10.0])
    zero = np.zeros(3)
    skip = profile.skip_probability(lengths, zero)
    assert skip[1] == pytest.approx(profile.skip_base)
    assert skip[0] > skip[1] > skip[2]
    frequent = profile.skip_probability(lengths, zero + 2.0)
    assert (frequent > skip).all()
    refix = profile.refixation_probability(lengths)
    assert refix[1] == pytest.approx(profile.refixation_base)
    assert refix[0] < refix[1] < refix[2]
    mean = profile.mean_duration(lengths, zero)
    assert mean[1] == pytest.approx(profile.duration_mean)
    assert mean[0] < mean[1] < mean[2]
    assert profile.mean_duration(np.array([1.0]), np.array([50.0]))[0] == profile.duration_min


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"skip_base": 1.0}, id="skip-base-one"),
        pytest.param({"regression_prob": -0.1}, id="negative-regression"),
        pytest.param({"regression_distance": (0.5, 0.5, 0.5)}, id="distance-not-summing"),
        pytest.param({"duration_shape": 0.0}, id="zero-shape"),
    ],
)
def test_profile_rejects_bad_parameters(change):
    fields = dict(PROFILES["native"].__dict__)
    fields.update(change)
    with pytest.raises(ValueError, match="ReaderProfile"):
        ReaderProfile(**fields)


def test_nonnative_profile_directions():
    l1, l2 = PROFILES["native"], PROFILES["nonnative"]
    assert l2.skip_base < l1.skip_base
    assert l2.regression_prob > l1.regression_prob
    assert l2.refixation_base > l1.refixation_base
    assert l2.duration_mean > l1.duration_mean


def test_same_seed_same_fixations(demo):
    first = simulate_fixations(demo, "native", PROFILES["native"], 5, SEED)
    second = simulate_fixations(demo, "native", PROFILES["native"], 5, SEED)
    pd.testing.assert_frame_equal(first, second)


def test_other_seed_other_fixations(demo):
    first = simulate_fixations(demo, "native", PROFILES["native"], 5, SEED)
    second = simulate_fixations(demo, "native", PROFILES["native"], 5, SEED + 1)
    assert len(first) != len(second) or not first.equals(second)


def test_adding_readers_keeps_earlier_ones(demo):
    three = simulate_fixations(demo, "native", PROFILES["native"], 3, SEED)
    five = simulate_fixations(demo, "native", PROFILES["native"], 5, SEED)
    pd.testing.assert_frame_equal(three, five.iloc[: len(three)])
    offset = simulate_fixations(demo, "native", PROFILES["native"], 2, SEED, subject_offset=3)
    pd.testing.assert_frame_equal(offset, five.iloc[len(three) :].reset_index(drop=True))


def test_every_reader_reads_every_sentence(demo, both_groups):
    lengths = sentence_lengths(demo)
    n_sentences = sum(len(article) for article in lengths)
    visits = both_groups.groupby(["group", "subject"])[["article", "sentence"]].apply(
        lambda t: len(t.drop_duplicates())
    )
    assert (visits == n_sentences).all()
    assert both_groups.groupby("group")["subject"].nunique().tolist() == [N_READERS] * 2
    n_words = np.array(
        [
            lengths[a][s]
            for a, s in zip(both_groups["article"], both_groups["sentence"], strict=True)
        ]
    )
    assert ((both_groups["word"] >= 0) & (both_groups["word"] < n_words)).all()
    assert (both_groups["duration"] >= PROFILES["native"].duration_min).all()
    assert list(both_groups.columns) == list(FIXATION_COLUMNS)


def _matrix_shares(saccades: formats.SaccadeSet) -> tuple[float, float]:
    """Share of saccade mass going backwards (j < i) and on the diagonal (i == j)."""
    total = backward = diagonal = 0.0
    for article in saccades.measures["num"]:
        for m in article:
            total += m.sum()
            backward += np.tril(m, -1).sum()
            diagonal += np.trace(m)
    return backward / total, diagonal / total


def test_nonnative_regresses_and_refixates_more(demo, both_groups, rates):
    lengths = sentence_lengths(demo)
    l1 = saccade_matrices(both_groups, lengths, "native", "simulated", True)
    l2 = saccade_matrices(both_groups, lengths, "nonnative", "simulated", True)
    (l1_back, l1_refix), (l2_back, l2_refix) = _matrix_shares(l1), _matrix_shares(l2)
    assert l2_back > l1_back + 0.02
    assert l2_refix > l1_refix + 0.04
    # The same shares counted directly on the fixation rows (every reader reads every
    # sentence, so the per-sentence means weigh sentences alike in both).
    assert rates.loc["native", "regression_share"] == pytest.approx(l1_back, abs=1e-9)
    assert rates.loc["nonnative", "refixation_share"] == pytest.approx(l2_refix, abs=1e-9)


def test_nonnative_skips_less_and_fixates_longer(rates):
    assert rates.loc["nonnative", "skip_rate"] < rates.loc["native", "skip_rate"] - 0.05
    assert rates.loc["nonnative", "mean_duration"] > rates.loc["native", "mean_duration"] + 20
    assert rates.loc["nonnative", "fixations"] > rates.loc["native", "fixations"]


def test_short_frequent_words_skipped_more(both_groups, demo):
    skips = word_skip_rates(both_groups, demo)
    native = skips[skips["group"] == "native"]
    short_frequent = native[(native["length"] <= 3) & (native["frequency_z"] > 0)]
    long_rare = native[(native["length"] >= 7) & (native["frequency_z"] <= 0)]
    assert len(short_frequent) >= 10 and len(long_rare) >= 10
    assert short_frequent["skip_rate"].mean() > long_rare["skip_rate"].mean() + 0.3


def test_word_skip_rates_by_hand():
    # One reader: 0 -> 2 -> 1 -> 3 on a 4-word sentence; word 1 is first reached by a
    # regression, so it counts as skipped. A second reader fixates only word 0, so words
    # 1-3 count as skipped for them.
    stimuli = [[["a", "b", "c", "d"]]]
    table = pd.DataFrame(
        {
            "subject": ["r1"] * 4 + ["r2"],
            "group": ["g"] * 5,
            "article": [0] * 5,
            "sentence": [0] * 5,
            "word": [0, 2, 1, 3, 0],
            "duration": [200.0] * 5,
        }
    )
    skips = word_skip_rates(table, stimuli)
    assert skips["skip_rate"].tolist() == [0.0, 1.0, 0.5, 0.5]
    assert skips["readers"].tolist() == [2] * 4
    rates = reading_rates(table, stimuli).iloc[0]
    assert rates["saccades"] == 3
    assert rates["regression_share"] == pytest.approx(1 / 3)
    assert rates["refixation_share"] == 0.0
    assert rates["skip_rate"] == pytest.approx(4 / 8)


def test_round_trip_through_csv_and_hdf5(demo, tmp_path):
    lengths = sentence_lengths(demo)
    simulated = pd.concat(
        [
            simulate_fixations(demo, group, PROFILES[group], 4, SEED, 100 * k)
            for k, group in enumerate(PROFILES)
        ],
        ignore_index=True,
    )
    write_fixations(simulated, tmp_path / "fixations.csv")
    assert not list(tmp_path.glob(".*tmp*"))
    back = read_fixations(tmp_path / "fixations.csv")
    pd.testing.assert_frame_equal(back, simulated, check_dtype=False)
    assert "duration" in (tmp_path / "fixations.csv").read_text().splitlines()[0]
    for group in PROFILES:
        direct = saccade_matrices(simulated, lengths, group, "simulated", True)
        from_csv = saccade_matrices(back, lengths, group, "simulated", True)
        formats.write_saccades(tmp_path / f"{group}.h5", from_csv)
        stored = formats.read_saccades(tmp_path / f"{group}.h5")
        assert stored.synthetic is True
        assert stored.group == group
        assert stored.n_readers == 4
        assert stored.readers_per_sentence == [[4] * len(a) for a in lengths]
        for measure in ("num", "dur"):
            for a, article in enumerate(lengths):
                for s in range(len(article)):
                    expected = direct.measures[measure][a][s]
                    np.testing.assert_array_equal(stored.measures[measure][a][s], expected)
        # Each reader's saccades in a sentence are one fewer than their fixations.
        n_fixations = simulated[simulated["group"] == group].groupby(["article", "sentence"])
        mean_saccades = n_fixations.size() / 4 - 1
        sums = [m.sum() for article in direct.measures["num"] for m in article]
        np.testing.assert_allclose(sums, mean_saccades.to_numpy())


def test_write_fixations_needs_every_column(tmp_path):
    table = pd.DataFrame({"subject": ["a"], "group": ["g"]})
    with pytest.raises(ValueError, match="lacks column"):
        write_fixations(table, tmp_path / "f.csv")
    assert not (tmp_path / "f.csv").exists()
