"""Saccade matrices from fixation tables, checked against numbers worked out by hand."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from readalike.core import formats
from readalike.human.saccades import FIXATION_COLUMNS, read_fixations, saccade_matrices

#: One article: sentence 0 has 3 words, sentence 1 has 4.
LENGTHS = [[3, 4]]

# (subject, group, article, sentence, word, duration ms). Readers A and B are native (L1);
# X is an L2 reader whose fixations must not reach the L1 matrices. A's and B's rows of
# sentence 1 are interleaved: only the order within a reader and sentence matters.
ROWS = [
    # B, sentence 0: skips word 1 (0 -> 2), then regresses to it (2 -> 1).
    ("B", "L1", 0, 0, 0, 180),
    ("B", "L1", 0, 0, 2, 220),
    ("B", "L1", 0, 0, 1, 200),
    # A, sentence 0: refixates word 1 (1 -> 1).
    ("A", "L1", 0, 0, 0, 200),
    ("A", "L1", 0, 0, 1, 250),
    ("A", "L1", 0, 0, 1, 150),
    ("A", "L1", 0, 0, 2, 300),
    ("X", "L2", 0, 0, 2, 999),
    ("X", "L2", 0, 0, 0, 999),
    # Sentence 1. A: 0 -> 1 -> 3 (skip) -> 2 (regression) -> 3.
    # B: 0 -> 1 -> 2 -> 3 -> 1 (regression of two words) -> 2.
    ("A", "L1", 0, 1, 0, 210),
    ("B", "L1", 0, 1, 0, 200),
    ("A", "L1", 0, 1, 1, 190),
    ("B", "L1", 0, 1, 1, 200),
    ("A", "L1", 0, 1, 3, 260),
    ("B", "L1", 0, 1, 2, 200),
    ("A", "L1", 0, 1, 2, 240),
    ("B", "L1", 0, 1, 3, 200),
    ("A", "L1", 0, 1, 3, 100),
    ("B", "L1", 0, 1, 1, 300),
    ("B", "L1", 0, 1, 2, 100),
]

# num: each saccade counts 1, summed over A and B, divided by the 2 readers.
# Sentence 0: A makes 0->1, 1->1, 1->2; B makes 0->2, 2->1: every cell 1/2.
NUM_0 = [
    [0.0, 0.5, 0.5],
    [0.0, 0.5, 0.5],
    [0.0, 0.5, 0.0],
]
# Sentence 1: 0->1 by both (2/2); 1->3, 3->2 by A; 2->3 by A and by B (2/2);
# 1->2 twice by B (2/2); 3->1 by B.
NUM_1 = [
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.5],
    [0.0, 0.0, 0.0, 1.0],
    [0.0, 0.5, 0.5, 0.0],
]
# dur: each saccade weighs the summed duration of the fixation left and the one landed on.
# Sentence 0: A 0->1 200+250=450, 1->1 250+150=400, 1->2 150+300=450;
#             B 0->2 180+220=400, 2->1 220+200=420; each divided by 2 readers.
DUR_0 = [
    [0.0, 225.0, 200.0],
    [0.0, 200.0, 225.0],
    [0.0, 210.0, 0.0],
]
# Sentence 1: A 0->1 400, 1->3 450, 3->2 500, 2->3 340;
#             B 0->1 400, 1->2 400, 2->3 400, 3->1 500, 1->2 400.
# 0->1 (400+400)/2, 1->2 (400+400)/2, 1->3 450/2, 2->3 (340+400)/2, 3->1 500/2, 3->2 500/2.
DUR_1 = [
    [0.0, 400.0, 0.0, 0.0],
    [0.0, 0.0, 400.0, 225.0],
    [0.0, 0.0, 0.0, 370.0],
    [0.0, 250.0, 250.0, 0.0],
]


def write_csv(path, rows, columns=FIXATION_COLUMNS):
    lines = [",".join(columns)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def fixation_file(tmp_path):
    return write_csv(tmp_path / "fixations.csv", ROWS)


def test_read_fixations_types(fixation_file):
    table = read_fixations(fixation_file)
    assert list(table.columns) == list(FIXATION_COLUMNS)
    assert len(table) == len(ROWS)
    assert table["word"].dtype == np.int64
    assert table["duration"].dtype == np.float64
    assert table["subject"].tolist()[:3] == ["B", "B", "B"]
    assert table.attrs["path"] == str(fixation_file)


def test_read_fixations_keeps_subject_as_text(tmp_path):
    path = write_csv(tmp_path / "f.csv", [("007", "L1", 0, 0, 0, 200)])
    assert read_fixations(path)["subject"].tolist() == ["007"]


@pytest.mark.parametrize(
    ("measure", "sentence", "expected"),
    [
        pytest.param("num", 0, NUM_0, id="num-3-words-refixation-skip-regression"),
        pytest.param("num", 1, NUM_1, id="num-4-words-interleaved-readers"),
        pytest.param("dur", 0, DUR_0, id="dur-3-words"),
        pytest.param("dur", 1, DUR_1, id="dur-4-words"),
    ],
)
def test_hand_computed_matrices(fixation_file, measure, sentence, expected):
    saccades = saccade_matrices(read_fixations(fixation_file), LENGTHS, "L1", "hand", False)
    np.testing.assert_allclose(saccades.measures[measure][0][sentence], expected)


def test_set_metadata(fixation_file):
    saccades = saccade_matrices(read_fixations(fixation_file), LENGTHS, "L1", "hand", False)
    assert saccades.group == "L1"
    assert saccades.n_readers == 2
    assert saccades.readers_per_sentence == [[2, 2]]
    assert saccades.source == "hand"
    assert saccades.synthetic is False
    assert set(saccades.measures) == {"num", "dur"}
    assert saccades.lengths() == LENGTHS


def test_other_group_separate(fixation_file):
    # X alone: one saccade 2 -> 0 weighted 999 + 999.
    saccades = saccade_matrices(read_fixations(fixation_file), LENGTHS, "L2", "hand", False)
    expected_num = np.zeros((3, 3))
    expected_num[2, 0] = 1.0
    np.testing.assert_allclose(saccades.measures["num"][0][0], expected_num)
    np.testing.assert_allclose(saccades.measures["dur"][0][0], 1998.0 * expected_num)
    np.testing.assert_allclose(saccades.measures["num"][0][1], np.zeros((4, 4)))
    assert saccades.readers_per_sentence == [[1, 0]]
    assert saccades.n_readers == 1


def test_reader_who_skipped_a_sentence(tmp_path):
    # C reads sentence 0 straight through (0 -> 1 -> 2, 100 ms each) and never sentence 1.
    rows = ROWS + [("C", "L1", 0, 0, w, 100) for w in range(3)]
    table = read_fixations(write_csv(tmp_path / "f.csv", rows))
    saccades = saccade_matrices(table, LENGTHS, "L1", "hand", False)
    assert saccades.n_readers == 3
    assert saccades.readers_per_sentence == [[3, 2]]
    num_0 = np.array(NUM_0) * 2
    num_0[0, 1] += 1
    num_0[1, 2] += 1
    np.testing.assert_allclose(saccades.measures["num"][0][0], num_0 / 3)
    # Sentence 1 is still the mean over the two readers who read it.
    np.testing.assert_allclose(saccades.measures["num"][0][1], NUM_1)
    np.testing.assert_allclose(saccades.measures["dur"][0][1], DUR_1)


def test_sentence_nobody_read(fixation_file, caplog):
    lengths = [[3, 4], [2]]
    with caplog.at_level(logging.WARNING, logger="readalike.human.saccades"):
        saccades = saccade_matrices(read_fixations(fixation_file), lengths, "L1", "hand", False)
    assert saccades.readers_per_sentence == [[2, 2], [0]]
    np.testing.assert_array_equal(saccades.measures["num"][1][0], np.zeros((2, 2)))
    np.testing.assert_array_equal(saccades.measures["dur"][1][0], np.zeros((2, 2)))
    assert "article 1 sentence 0" in caplog.text


def test_rows_of_one_reader_do_not_join_across_sentences(tmp_path):
    # A's single fixation in sentence 0 sits between rows of sentence 1: joined across
    # sentences it would make a saccade 2 -> 0. A single fixation makes no saccade, so A
    # did not read sentence 0 (module rule) and read sentence 1 (one saccade 0 -> 1).
    rows = [("A", "L1", 0, 1, 0, 200), ("A", "L1", 0, 0, 2, 200), ("A", "L1", 0, 1, 1, 200)]
    table = read_fixations(write_csv(tmp_path / "f.csv", rows))
    saccades = saccade_matrices(table, LENGTHS, "L1", "hand", False)
    np.testing.assert_array_equal(saccades.measures["num"][0][0], np.zeros((3, 3)))
    expected = np.zeros((4, 4))
    expected[0, 1] = 1.0
    np.testing.assert_array_equal(saccades.measures["num"][0][1], expected)
    assert saccades.readers_per_sentence == [[0, 1]]


def test_single_fixation_is_not_reading_the_sentence(tmp_path):
    # C reads sentence 0 straight through and has one fixation in sentence 1: C made no
    # saccade there, has no matrix for it and is not in its denominator, so sentence 1
    # stays the mean of A and B (without the rule it would be NUM_1 * 2 / 3).
    rows = ROWS + [("C", "L1", 0, 0, w, 100) for w in range(3)] + [("C", "L1", 0, 1, 2, 100)]
    saccades = saccade_matrices(
        read_fixations(write_csv(tmp_path / "f.csv", rows)), LENGTHS, "L1", "hand", False
    )
    assert saccades.readers_per_sentence == [[3, 2]]
    np.testing.assert_allclose(saccades.measures["num"][0][1], NUM_1)
    np.testing.assert_allclose(saccades.measures["dur"][0][1], DUR_1)
    assert saccades.reader_ids == ["A", "B", "C"]
    assert saccades.reader_measures["num"].readers[0][1].tolist() == [0, 1]
    assert saccades.reader_measures["num"].readers[0][0].tolist() == [0, 1, 2]


# Each reader's own matrices of sentence 0 (counts, not divided): A 0->1, 1->1, 1->2;
# B 0->2, 2->1. Durations as in DUR_0 before the division by 2.
NUM_0_A = [[0, 1, 0], [0, 1, 1], [0, 0, 0]]
NUM_0_B = [[0, 0, 1], [0, 0, 0], [0, 1, 0]]
DUR_0_A = [[0, 450, 0], [0, 400, 450], [0, 0, 0]]
DUR_0_B = [[0, 0, 400], [0, 0, 0], [0, 420, 0]]


def test_per_reader_matrices_by_hand(fixation_file):
    saccades = saccade_matrices(read_fixations(fixation_file), LENGTHS, "L1", "hand", False)
    assert saccades.reader_ids == ["A", "B"]
    num, dur = saccades.reader_measures["num"], saccades.reader_measures["dur"]
    assert num.readers[0][0].tolist() == [0, 1]
    np.testing.assert_array_equal(num.matrices[0][0], [NUM_0_A, NUM_0_B])
    np.testing.assert_array_equal(dur.matrices[0][0], [DUR_0_A, DUR_0_B])
    assert num.matrices[0][1].shape == (2, 4, 4)
    assert num.present(2).tolist() == [[True, True], [True, True]]


def test_reader_order_is_sorted_id(tmp_path):
    # B's rows come first in the file, but reader stacks follow the sorted ids.
    rows = [r for r in ROWS if r[0] == "B"] + [r for r in ROWS if r[0] != "B"]
    saccades = saccade_matrices(
        read_fixations(write_csv(tmp_path / "f.csv", rows)), LENGTHS, "L1", "hand", False
    )
    assert saccades.reader_ids == ["A", "B"]
    np.testing.assert_array_equal(
        saccades.reader_measures["num"].matrices[0][0], [NUM_0_A, NUM_0_B]
    )


def test_group_mean_is_mean_of_reader_matrices(tmp_path):
    from readalike.human.reading_model import PROFILES, simulate_fixations

    stimuli = [
        [["The", "cat", "sat", "on", "the", "mat", "today."], ["It", "was", "warm."]],
        [["Readers", "skip", "short", "words", "and", "regress", "sometimes."]],
    ]
    lengths = [[len(s) for s in article] for article in stimuli]
    table = simulate_fixations(stimuli, "L2", PROFILES["nonnative"], 6, seed=3)
    # one reader skips the second article: present in fewer sentences
    table = table[~((table["subject"] == "sim002") & (table["article"] == 1))]
    saccades = saccade_matrices(table, lengths, "L2", "sim", True)
    for measure in ("num", "dur"):
        per_reader = saccades.reader_measures[measure]
        for a, article in enumerate(lengths):
            for s in range(len(article)):
                stack = per_reader.matrices[a][s]
                assert stack.shape[0] == saccades.readers_per_sentence[a][s]
                np.testing.assert_allclose(
                    stack.sum(axis=0) / stack.shape[0],
                    saccades.measures[measure][a][s],
                    rtol=1e-12,
                    atol=1e-12,
                )
    assert 2 not in saccades.reader_measures["num"].readers[1][0].tolist()


def test_reader_in_two_groups(tmp_path):
    rows = ROWS + [("A", "L2", 0, 1, 0, 200), ("A", "L2", 0, 1, 1, 200)]
    path = write_csv(tmp_path / "f.csv", rows)
    with pytest.raises(ValueError, match="reader A is in group L1 and in group L2") as info:
        saccade_matrices(read_fixations(path), LENGTHS, "L1", "hand", False)
    assert str(path) in str(info.value)


def test_reader_without_any_saccade(tmp_path):
    rows = ROWS + [("Z", "L1", 0, 0, 1, 200), ("Z", "L1", 0, 1, 3, 200)]
    path = write_csv(tmp_path / "f.csv", rows)
    with pytest.raises(ValueError, match="group L1: reader Z made no saccade in any sentence"):
        saccade_matrices(read_fixations(path), LENGTHS, "L1", "hand", False)


def test_write_read_saccades_round_trip(fixation_file, tmp_path):
    saccades = saccade_matrices(read_fixations(fixation_file), LENGTHS, "L1", "hand", False)
    formats.write_saccades(tmp_path / "L1.h5", saccades)
    back = formats.read_saccades(tmp_path / "L1.h5")
    assert back.readers_per_sentence == [[2, 2]]
    assert back.n_readers == 2
    np.testing.assert_array_equal(back.measures["num"][0][1], NUM_1)
    np.testing.assert_array_equal(back.measures["dur"][0][0], DUR_0)
    assert back.reader_ids == ["A", "B"]
    np.testing.assert_array_equal(back.reader_measures["num"].matrices[0][0], [NUM_0_A, NUM_0_B])
    assert back.reader_measures["dur"].readers[0][1].tolist() == [0, 1]


def _replace(rows, index, **changes):
    row = dict(zip(FIXATION_COLUMNS, rows[index], strict=True))
    row.update(changes)
    out = list(rows)
    out[index] = tuple(row[c] for c in FIXATION_COLUMNS)
    return out


@pytest.mark.parametrize(
    ("rows", "columns", "message"),
    [
        pytest.param(
            [r[:5] for r in ROWS],
            FIXATION_COLUMNS[:5],
            "missing column 'duration'",
            id="no-duration",
        ),
        pytest.param(
            _replace(ROWS, 3, duration=""),
            FIXATION_COLUMNS,
            "line 5: empty or NaN 'duration'",
            id="empty-duration",
        ),
        pytest.param(
            _replace(ROWS, 3, duration="NaN"),
            FIXATION_COLUMNS,
            "line 5: empty or NaN",
            id="nan-duration",
        ),
        pytest.param(
            _replace(ROWS, 0, duration=-5),
            FIXATION_COLUMNS,
            "line 2: duration is",
            id="negative-duration",
        ),
        pytest.param(
            _replace(ROWS, 1, word=1.5),
            FIXATION_COLUMNS,
            "line 3: word is",
            id="fractional-word",
        ),
        pytest.param(
            _replace(ROWS, 1, sentence="x"),
            FIXATION_COLUMNS,
            "line 3: sentence is 'x'",
            id="text-sentence",
        ),
    ],
)
def test_read_fixations_rejects(tmp_path, rows, columns, message):
    path = write_csv(tmp_path / "bad.csv", rows, columns)
    with pytest.raises(ValueError, match=message) as info:
        read_fixations(path)
    assert str(path) in str(info.value)


def test_blank_lines_keep_line_numbers(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text(
        ",".join(FIXATION_COLUMNS) + "\nA,L1,0,0,0,200\n\nA,L1,0,0,1,\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="line 4: empty or NaN 'duration'"):
        read_fixations(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            {"word": 3}, "line 3: subject 'B' article 0 sentence 0 word 3 is outside", id="word"
        ),
        pytest.param({"sentence": 2}, "article 0 sentence 2 word 2 is outside", id="sentence"),
        pytest.param({"article": 1}, "article 1 sentence 0 word 2 is outside", id="article"),
    ],
)
def test_index_outside_stimuli(tmp_path, change, message):
    path = write_csv(tmp_path / "f.csv", _replace(ROWS, 1, **change))
    with pytest.raises(ValueError, match=message) as info:
        saccade_matrices(read_fixations(path), LENGTHS, "L1", "hand", False)
    assert str(path) in str(info.value)


def test_index_outside_stimuli_without_file():
    table = pd.DataFrame(ROWS, columns=list(FIXATION_COLUMNS))
    table.loc[4, "word"] = 7
    with pytest.raises(ValueError, match="fixations row 4: subject 'A' .* word 7"):
        saccade_matrices(table, LENGTHS, "L1", "hand", False)


def test_unknown_group(fixation_file):
    with pytest.raises(ValueError, match=r"no reader group 'L3' .*groups found: L1, L2"):
        saccade_matrices(read_fixations(fixation_file), LENGTHS, "L3", "hand", False)


# ------------------------------------------------------------------ the saccade rule
# Sentence 0 again: A 0(200) 1(250) 1(150) 2(300); B 0(180) 2(220) 1(200); 2 readers.
# Sentence 1 has no refixation, so only the duration choice changes it.
_NUM_0_NO_DIAGONAL = [[0.0, 0.5, 0.5], [0.0, 0.0, 0.5], [0.0, 0.5, 0.0]]


@pytest.mark.parametrize(
    ("rule", "num_0", "dur_0", "dur_1"),
    [
        pytest.param({}, NUM_0, DUR_0, DUR_1, id="defaults-both-diagonal-with-diagonal"),
        # left: A 0->1 200, 1->1 250, 1->2 150; B 0->2 180, 2->1 220; halved.
        # sentence 1: A 0->1 210, 1->3 190, 3->2 260, 2->3 240;
        #             B 0->1 200, 1->2 200 + 300, 2->3 200, 3->1 200.
        pytest.param(
            {"duration": "left"},
            NUM_0,
            [[0.0, 100.0, 90.0], [0.0, 125.0, 75.0], [0.0, 110.0, 0.0]],
            [[0, 205, 0, 0], [0, 0, 250, 95], [0, 0, 0, 220], [0, 100, 130, 0]],
            id="left",
        ),
        # landed: A 0->1 250, 1->1 150, 1->2 300; B 0->2 220, 2->1 200; halved.
        # sentence 1: A 0->1 190, 1->3 260, 3->2 240, 2->3 100;
        #             B 0->1 200, 1->2 200 + 100, 2->3 200, 3->1 300.
        pytest.param(
            {"duration": "landed"},
            NUM_0,
            [[0.0, 125.0, 110.0], [0.0, 75.0, 150.0], [0.0, 100.0, 0.0]],
            [[0, 195, 0, 0], [0, 0, 150, 130], [0, 0, 0, 150], [0, 150, 120, 0]],
            id="landed",
        ),
        # merged: A's two fixations on word 1 become one of 400 ms: A 0->1 200+400,
        # 1->2 400+300; B 0->2 400, 2->1 420; halved.
        pytest.param(
            {"refixations": "merged"},
            _NUM_0_NO_DIAGONAL,
            [[0.0, 300.0, 200.0], [0.0, 0.0, 350.0], [0.0, 210.0, 0.0]],
            DUR_1,
            id="merged",
        ),
        # merged and landed: A 0->1 400, 1->2 300; B 0->2 220, 2->1 200; halved.
        pytest.param(
            {"refixations": "merged", "duration": "landed"},
            _NUM_0_NO_DIAGONAL,
            [[0.0, 200.0, 110.0], [0.0, 0.0, 150.0], [0.0, 100.0, 0.0]],
            [[0, 195, 0, 0], [0, 0, 150, 130], [0, 0, 0, 150], [0, 150, 120, 0]],
            id="merged-landed",
        ),
        # strict lower: A's 1->1 is dropped, its fixations stay apart: 1->2 is 150+300.
        pytest.param(
            {"pairs": "strict_lower"},
            _NUM_0_NO_DIAGONAL,
            [[0.0, 225.0, 200.0], [0.0, 0.0, 225.0], [0.0, 210.0, 0.0]],
            DUR_1,
            id="strict-lower",
        ),
    ],
)
def test_saccade_rule_by_hand(fixation_file, rule, num_0, dur_0, dur_1):
    table = read_fixations(fixation_file)
    saccades = saccade_matrices(table, LENGTHS, "L1", "hand", False, **rule)
    np.testing.assert_allclose(saccades.measures["num"][0][0], num_0)
    np.testing.assert_allclose(saccades.measures["dur"][0][0], dur_0)
    np.testing.assert_allclose(saccades.measures["num"][0][1], NUM_1)
    np.testing.assert_allclose(saccades.measures["dur"][0][1], dur_1)
    # the same readers whatever the rule, and the means are the readers' matrices averaged
    assert saccades.readers_per_sentence == [[2, 2]]
    for measure in ("num", "dur"):
        readers = saccades.reader_measures[measure].matrices[0]
        for s in range(2):
            np.testing.assert_allclose(readers[s].mean(0), saccades.measures[measure][0][s])


def test_left_plus_landed_is_both(fixation_file):
    table = read_fixations(fixation_file)
    sets = {
        d: saccade_matrices(table, LENGTHS, "L1", "h", False, duration=d)
        for d in ("both", "left", "landed")
    }
    for s in range(2):
        np.testing.assert_allclose(
            sets["left"].measures["dur"][0][s] + sets["landed"].measures["dur"][0][s],
            sets["both"].measures["dur"][0][s],
        )


def test_merged_reader_with_only_a_refixation_keeps_a_zero_matrix(tmp_path):
    # C fixates word 0 twice in sentence 0: C read it (two fixations), but merged, C made
    # no saccade there: a zero matrix that still counts in the denominator.
    rows = ROWS + [("C", "L1", 0, 0, 0, 100), ("C", "L1", 0, 0, 0, 100)]
    table = read_fixations(write_csv(tmp_path / "f.csv", rows))
    saccades = saccade_matrices(table, LENGTHS, "L1", "hand", False, refixations="merged")
    assert saccades.readers_per_sentence == [[3, 2]]
    np.testing.assert_allclose(saccades.measures["num"][0][0], np.array(_NUM_0_NO_DIAGONAL) * 2 / 3)
    np.testing.assert_array_equal(saccades.reader_measures["num"].matrices[0][0][2], 0.0)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        pytest.param({"duration": "sum"}, r"reading\.saccades\.duration: 'sum' is not one of"),
        pytest.param({"refixations": "x"}, r"reading\.saccades\.refixations: 'x'"),
        pytest.param({"pairs": "upper"}, r"reading\.saccades\.pairs: 'upper'"),
    ],
)
def test_unknown_saccade_rule(fixation_file, rule, message):
    with pytest.raises(ValueError, match=message):
        saccade_matrices(read_fixations(fixation_file), LENGTHS, "L1", "hand", False, **rule)


def test_saccade_duration_checks_by_hand(fixation_file):
    from readalike.release.study_a import saccade_duration_checks

    table = read_fixations(fixation_file)
    both = saccade_matrices(table, LENGTHS, "L1", "hand", False)
    landed = saccade_matrices(table, LENGTHS, "L1", "hand", False, duration="landed")
    rows = {(r["model"], r["check"]): r["value"] for r in saccade_duration_checks([both])}
    # NUM_0 sums to 2.5 mean saccades and DUR_0 to 1060 ms, NUM_1 to 4.5 and DUR_1 to 1895:
    # 2955 / 7, the mean of the 14 saccades' summed durations (both sentences have 2 readers)
    assert rows[("human:L1", "dur_per_saccade_ms")] == pytest.approx(2955 / 7)
    # cells with num > 0, DUR / NUM: 5 in sentence 0, 6 in sentence 1
    per_cell = [450, 400, 400, 450, 420, 400, 400, 450, 370, 500, 500]
    assert len(per_cell) == 11
    assert rows[("human:L1", "dur_per_cell_ms")] == pytest.approx(np.mean(per_cell))
    (saccade, _) = saccade_duration_checks([landed])
    # landed: each saccade weighs the fixation landed on, about half of both here
    landed_ms = [250, 150, 300, 220, 200, 190, 260, 240, 100, 200, 200, 200, 300, 100]
    assert saccade["value"] == pytest.approx(np.mean(landed_ms))


def test_a_revisit_that_is_no_exact_copy_is_read_as_revisits(tmp_path):
    # the decision on a reader's block appended twice: only an exact copy (every fixation
    # and duration) is refused; a reader who comes back to a sentence after another is joined
    path = tmp_path / "fix.csv"
    rows = ["A,L1,0,0,0,200", "A,L1,0,0,1,180", "A,L1,0,1,0,150", "A,L1,0,0,0,210"]
    rows += ["A,L1,0,0,1,180", "A,L1,0,1,0,150"]
    path.write_text(",".join(FIXATION_COLUMNS) + "\n" + "\n".join(rows) + "\n")
    saccades = saccade_matrices(read_fixations(path), [[2, 1]], "L1", "h", False)
    # sentence 0: 0 -> 1, then (the re-visit joined) 1 -> 0 and 0 -> 1 again
    np.testing.assert_array_equal(saccades.measures["num"][0][0], [[0, 2], [1, 0]])
    with pytest.raises(ValueError, match="repeat their first 3"):
        exact = rows[:3] * 2
        path.write_text(",".join(FIXATION_COLUMNS) + "\n" + "\n".join(exact) + "\n")
        read_fixations(path)
