"""Tests of :mod:`readalike.release.fmri`: the released per-reader fMRI activations.

A small synthetic release in ``tmp_path`` (the real files' nesting, cell types and pickle
globals) covers conversion, every fault and the ``exclude_readers`` configuration; tests
marked ``release`` check the counts found in the shared copy of the real release.
"""

from __future__ import annotations

import pickle
import pickletools
from pathlib import Path

import numpy as np
import pytest

from readalike.core.safe_pickle import ALLOWED_GLOBALS, UnsafePickleError, loads_pickle
from readalike.release import fmri as fm
from readalike.release import study_a as rel

SHARED_RELEASE = Path(__file__).resolve().parents[2].parent / "shared" / "release"
REAL = SHARED_RELEASE / "scaling_finetuning"
_skip_without_release = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"the shared copy of the release is missing ({REAL})"
)


def needs_release(test):
    """Mark a test as using the shared copy of the real release, skipped without it."""
    return pytest.mark.release(_skip_without_release(test))


LENGTHS = [[3, 2], [4]]  # 2 articles: sentences of 3 and 2 words, then one of 4 words
N_READERS = 4
REGIONS = ("angular", "middle")


def _matrix(seed: int, n: int) -> np.ndarray:
    """A reader's sentence: float64 activations on about half the cells, 0 elsewhere."""
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(n, n))
    m[rng.uniform(size=(n, n)) < 0.5] = 0.0
    m[0, n - 1] = 1.5  # never an all-zero sentence
    return m


def _cells(m: np.ndarray) -> list[list]:
    """As in the release: int 0 where no saccade, else a NumPy float64 scalar."""
    return [[np.float64(v) if v != 0 else 0 for v in row] for row in m]


def _reader(seed: int, lengths=LENGTHS) -> tuple[list, list[list[np.ndarray]]]:
    matrices = [
        [_matrix(1000 * seed + 10 * a + s, n) for s, n in enumerate(article)]
        for a, article in enumerate(lengths)
    ]
    return [[_cells(m) for m in article] for article in matrices], matrices


def _group(seed: int, n_readers: int = N_READERS):
    readers = [_reader(seed * 100 + r) for r in range(n_readers)]
    return [r[0] for r in readers], [r[1] for r in readers]


def _write(root: Path, suffix: str, region: str, obj) -> Path:
    path = root / fm.fmri_relpath(suffix, region)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=4)
    return path


@pytest.fixture
def fake_fmri(tmp_path):
    """Root, raw objects and expected matrices: groups L1 (p1) and L2 (p2), two regions."""
    root = tmp_path / "release"
    raw, expected = {}, {}
    for g, suffix in enumerate(("p1", "p2")):
        for k, region in enumerate(REGIONS):
            obj, matrices = _group(10 * g + k)
            raw[suffix, region] = obj
            expected[suffix, region] = matrices
            _write(root, suffix, region, obj)
    return root, raw, expected


def _load(root, **kwargs):
    kwargs.setdefault("lengths", {"L1": LENGTHS, "L2": LENGTHS})
    kwargs.setdefault("regions", REGIONS)
    return fm.load_release_fmri(root, **kwargs)


def _rows(checks, **where):
    mask = np.ones(len(checks), dtype=bool)
    for column, value in where.items():
        mask &= (checks[column] == value).to_numpy()
    return checks[mask]


def _rewrite(root, raw, suffix, region, change):
    obj = pickle.loads(pickle.dumps(raw[suffix, region]))
    change(obj)
    _write(root, suffix, region, obj)


# ---------------------------------------------------------------------------- conversion


def test_pickle_names_only_scalar_and_dtype(fake_fmri):
    root, _, _ = fake_fmri
    data = (root / fm.fmri_relpath("p1", "angular")).read_bytes()
    globals_ = set()
    strings = []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE"):
            strings.append(arg)
        if op.name == "STACK_GLOBAL":
            globals_.add(tuple(strings[-2:]))
    assert globals_ <= set(fm.FMRI_GLOBALS) and ("numpy", "dtype") in globals_


def test_round_trip_is_exact_and_ids_are_group_and_index(fake_fmri):
    root, _, expected = fake_fmri
    readers, checks = _load(root)
    assert set(readers) == {"L1", "L2"}
    assert set(readers["L1"]) == {"fmri_angular", "fmri_middle"}
    ids = list(readers["L2"]["fmri_middle"])
    assert ids == ["L2-00", "L2-01", "L2-02", "L2-03"]
    for (suffix, region), groups in expected.items():
        group = rel.READING_BRAIN_GROUPS[suffix]
        for r, matrices in enumerate(groups):
            got = readers[group][fm.fmri_measure(region)][fm.reader_id(group, r)]
            for a, article in enumerate(matrices):
                for s, m in enumerate(article):
                    assert got[a][s].dtype == np.float64 and got[a][s].shape == m.shape
                    np.testing.assert_array_equal(got[a][s], m)
    assert checks.columns.tolist() == fm.FMRI_CHECK_COLUMNS
    assert checks["passed"].all()
    kept = _rows(checks, check="fmri_readers_kept")
    assert kept["value"].tolist() == [4.0] * 4
    assert sorted(zip(kept["group"], kept["region"], strict=True)) == [
        ("L1", "angular"),
        ("L1", "middle"),
        ("L2", "angular"),
        ("L2", "middle"),
    ]


def test_lengths_default_to_the_human_group_means(fake_fmri):
    root, _, _ = fake_fmri
    human = root / rel.HUMAN_DIR
    for suffix in ("p1", "p2"):
        with open(human / f"mean_saccade_num_{suffix}.pkl", "wb") as f:
            pickle.dump([[np.ones((n, n)) for n in article] for article in LENGTHS], f)
    readers, checks = fm.load_release_fmri(root, regions=REGIONS)
    assert len(readers["L1"]["fmri_angular"]) == 4 and checks["passed"].all()


def test_mass_shares_by_hand(tmp_path):
    # below: |-3| + |-1| = 4; on: 1 + |-2| = 3; above: 2 + 1 = 3 (of 10)
    m1 = np.array([[1.0, 2.0], [-3.0, 0.0]])
    m2 = np.array([[0.0, 1.0], [-1.0, -2.0]])
    obj = [[[_cells(m1)]], [[_cells(m2)]]]
    _, rows = fm.convert_fmri_readers(obj, [[2]], "L1", "angular", "f.pkl")
    share = {r["check"]: r["value"] for r in rows}
    assert share["fmri_mass_below_diagonal"] == pytest.approx(0.4)
    assert share["fmri_mass_on_diagonal"] == pytest.approx(0.3)
    assert share["fmri_mass_above_diagonal"] == pytest.approx(0.3)
    below = next(r for r in rows if r["check"] == "fmri_mass_below_diagonal")
    assert "share of non-zero cells 0.3333" in below["detail"]  # 2 of 6 non-zero cells


def test_a_sentence_without_saccades_has_no_matrix(fake_fmri):
    root, raw, _ = fake_fmri

    def blank(obj):
        obj[2][1][0] = [[0] * 4 for _ in range(4)]

    _rewrite(root, raw, "p1", "middle", blank)
    readers, checks = _load(root)
    assert readers["L1"]["fmri_middle"]["L1-02"][1][0] is None
    assert readers["L1"]["fmri_middle"]["L1-02"][0][0] is not None
    (empty,) = _rows(checks, check="fmri_empty_sentences", group="L1", region="middle")["value"]
    assert empty == 1
    assert len(readers["L1"]["fmri_middle"]) == 4


# -------------------------------------------------------------------------------- faults


def _set_cell(a, s, i, j, value):
    def change(obj):
        obj[1][a][s][i][j] = value

    return change


@pytest.mark.parametrize(
    "change, check, detail",
    [
        pytest.param(
            lambda obj: obj.__setitem__(1, []), "fmri_no_articles", "holds no article", id="empty"
        ),
        pytest.param(
            lambda obj: obj[1].pop(),
            "fmri_missing_articles",
            "holds 1 articles, the human matrices 2",
            id="fewer-articles",
        ),
        pytest.param(
            _set_cell(0, 1, 1, 0, []),
            "fmri_list_cells",
            "article 0 sentence 1: 1 cells are lists instead of numbers "
            "(first at row 1 column 0: [])",
            id="empty-list-cell",
        ),
        pytest.param(
            _set_cell(1, 0, 2, 3, [42, 43]),
            "fmri_list_cells",
            "first at row 2 column 3: [42, 43]",
            id="list-cell-of-several",
        ),
        pytest.param(
            _set_cell(1, 0, 2, 3, [np.float64(0.5), np.float64(-50.0)]),
            "fmri_list_cells",
            "first at row 2 column 3: [0.5, -50.0])",  # plain numbers, not np.float64(...)
            id="list-cell-of-numpy-values",
        ),
        pytest.param(
            lambda obj: [row.__setitem__(0, [7]) for row in obj[1][1][0]],
            "fmri_list_cells",
            "4 cells are lists",
            id="every-first-cell-a-one-element-list",
        ),
        pytest.param(
            _set_cell(0, 0, 1, 1, np.float64("nan")),
            "fmri_nonfinite",
            "article 0 sentence 0: NaN or inf at row 1 column 1",
            id="nan",
        ),
        pytest.param(
            _set_cell(1, 0, 0, 2, np.float64("-inf")),
            "fmri_nonfinite",
            "article 1 sentence 0: NaN or inf at row 0 column 2",
            id="inf",
        ),
        pytest.param(
            _set_cell(0, 0, 0, 0, "0.5"), "fmri_not_numeric", "cells that are not numbers", id="str"
        ),
        pytest.param(
            _set_cell(0, 0, 0, 0, None), "fmri_not_numeric", "cells that are not numbers", id="none"
        ),
        pytest.param(
            lambda obj: obj[1][0][0][2].pop(),
            "fmri_not_square",
            "article 0 sentence 0: 3 rows of lengths [2, 3]",
            id="ragged-rows",
        ),
        pytest.param(
            lambda obj: obj[1][0].pop(),
            "fmri_sentence_count",
            "article 0 holds 1 sentences, the human matrices 2",
            id="sentence-count",
        ),
        pytest.param(
            lambda obj: obj[1][1].__setitem__(0, _cells(np.ones((5, 5)))),
            "fmri_length_mismatch",
            "article 1 sentence 0 has 5 words, the file's other readers 4",
            id="one-reader-other-length",
        ),
        pytest.param(
            lambda obj: obj.__setitem__(1, "reader"),
            "fmri_not_a_list",
            "not a list of articles",
            id="reader-not-a-list",
        ),
    ],
)
def test_a_fault_excludes_the_reader_from_that_region_only(fake_fmri, change, check, detail):
    root, raw, expected = fake_fmri
    _rewrite(root, raw, "p2", "angular", change)
    readers, checks = _load(root)
    assert "L2-01" not in readers["L2"]["fmri_angular"]
    assert list(readers["L2"]["fmri_angular"]) == ["L2-00", "L2-02", "L2-03"]
    # the other readers and the other region are untouched
    np.testing.assert_array_equal(
        readers["L2"]["fmri_angular"]["L2-02"][1][0], expected["p2", "angular"][2][1][0]
    )
    assert "L2-01" in readers["L2"]["fmri_middle"]
    (row,) = _rows(checks, passed=False).to_dict("records")
    assert (row["check"], row["group"], row["region"], row["reader"]) == (
        check,
        "L2",
        "angular",
        "L2-01",
    )
    assert row["detail"].startswith("L2-01")
    assert detail in row["detail"]
    assert "\n" not in row["detail"]
    kept = _rows(checks, check="fmri_readers_kept", group="L2", region="angular")
    assert kept["value"].item() == 3
    assert "excluded for faults: [L2-01]" in kept["detail"].item()


def test_faults_of_one_kind_are_one_row_with_a_count(fake_fmri):
    root, raw, _ = fake_fmri

    def two_nans(obj):
        obj[3][0][0][0][1] = np.float64("nan")
        obj[3][1][0][3][3] = np.float64("nan")

    _rewrite(root, raw, "p1", "angular", two_nans)
    _, checks = _load(root)
    (row,) = _rows(checks, check="fmri_nonfinite").to_dict("records")
    assert row["value"] == 2 and row["reader"] == "L1-03"
    assert row["detail"].endswith("(and 1 more)")


def _longer(r_odd=2):
    """Sentence 1 of article 0 with 5 words for every reader, 6 for reader ``r_odd``."""

    def change(obj):
        for r, reader in enumerate(obj):
            reader[0][1] = _cells(_matrix(r, 5))
        obj[r_odd][0][1] = _cells(_matrix(r_odd, 6))  # one reader disagrees with everyone

    return change


def test_a_length_most_readers_share_is_kept_and_the_odd_reader_excluded(fake_fmri):
    """As in the release: a sentence with more words in (nearly) every reader than in the
    saccade matrices keeps the readers' count (the attention decides who is the odd one)."""
    root, raw, _ = fake_fmri
    for region in REGIONS:
        _rewrite(root, raw, "p1", region, _longer())
    readers, checks = _load(root)
    for region in REGIONS:
        kept = readers["L1"][fm.fmri_measure(region)]
        assert list(kept) == ["L1-00", "L1-01", "L1-03"]
        for matrices in kept.values():
            assert matrices[0][1].shape == (5, 5) and matrices[0][0].shape == (3, 3)
    rows = _rows(checks, check="fmri_sentence_length_differs", region="middle")
    (row,) = rows.to_dict("records")
    assert (row["group"], row["reader"], row["value"]) == ("L1", "", 3)
    assert (
        "article 0 sentence 1 has 5 words in 3 of 4 readers, 2 in the saccade matrices: kept at 5"
        in row["detail"]
    )
    (odd,) = _rows(checks, check="fmri_length_mismatch", region="middle").to_dict("records")
    assert odd["reader"] == "L1-02" and "has 6 words, the file's other readers 5" in odd["detail"]
    assert fm.fmri_lengths(readers["L1"], LENGTHS) == [[3, 5], [4]]
    assert fm.fmri_saccade_set(readers["L1"], LENGTHS, "L1", "t").lengths() == [[3, 5], [4]]


def test_regions_that_disagree_on_a_length_keep_the_saccade_matrices_count(fake_fmri):
    root, raw, _ = fake_fmri
    _rewrite(root, raw, "p1", "middle", _longer())  # angular keeps 2 words
    readers, checks = _load(root)
    for matrices in readers["L1"]["fmri_middle"].values():
        assert matrices[0][1] is None
    assert readers["L1"]["fmri_angular"]["L1-00"][0][1].shape == (2, 2)
    (row,) = _rows(checks, check="fmri_region_length_mismatch").to_dict("records")
    assert (row["group"], row["region"]) == ("L1", "middle")
    assert "article 0 sentence 1: [5] words in fmri_middle" in row["detail"]
    assert fm.fmri_lengths(readers["L1"], LENGTHS) == LENGTHS


def test_a_file_that_is_not_a_list_of_readers_is_an_error(fake_fmri):
    root, _, _ = fake_fmri
    path = _write(root, "p1", "middle", {"readers": []})
    with pytest.raises(ValueError, match=f"{path}: expected a list of readers, found dict"):
        _load(root)


def test_an_array_in_an_fmri_pickle_is_refused(fake_fmri):
    """The fMRI files need scalars only: the narrowed allow-list refuses arrays."""
    root, raw, _ = fake_fmri
    obj = raw["p1", "angular"]
    obj[0][0][0] = np.zeros((3, 3))
    path = _write(root, "p1", "angular", obj)
    with pytest.raises(UnsafePickleError, match=f"{path}: refused to unpickle numpy"):
        _load(root)


def test_the_allow_list_may_be_narrowed_never_widened():
    data = pickle.dumps([np.float64(0.5)], protocol=4)
    assert loads_pickle(data, "x", allowed=fm.FMRI_GLOBALS) == [0.5]
    assert fm.FMRI_GLOBALS < ALLOWED_GLOBALS
    with pytest.raises(ValueError, match="may only narrow ALLOWED_GLOBALS, not add"):
        loads_pickle(data, "x", allowed=fm.FMRI_GLOBALS | {("os", "system")})


# ----------------------------------------------------------------------- exclude_readers


def test_exclusions_come_from_config(fake_fmri):
    root, raw, _ = fake_fmri
    _rewrite(root, raw, "p1", "angular", lambda obj: obj[2][0][0].__setitem__(0, [[]] * 3))
    exclude = [
        {"group": "L1", "reader": 0, "why": "problematic"},
        {"group": "L1", "reader": "L1-02", "region": "angular"},
        {"group": "L2", "reader": 3, "region": "middle"},
    ]
    readers, checks = _load(root, exclude_readers=exclude)
    assert list(readers["L1"]["fmri_angular"]) == ["L1-01", "L1-03"]
    assert list(readers["L1"]["fmri_middle"]) == ["L1-01", "L1-02", "L1-03"]
    assert list(readers["L2"]["fmri_middle"]) == ["L2-00", "L2-01", "L2-02"]
    assert list(readers["L2"]["fmri_angular"]) == ["L2-00", "L2-01", "L2-02", "L2-03"]
    config = _rows(checks, check="fmri_excluded_by_config")
    assert sorted(zip(config["group"], config["region"], config["reader"], strict=True)) == [
        ("L1", "angular", "L1-00"),
        ("L1", "angular", "L1-02"),
        ("L1", "middle", "L1-00"),
        ("L2", "middle", "L2-03"),
    ]
    assert config["passed"].all() and set(config["severity"]) == {"info"}
    assert "L1-00 excluded by config (exclude_readers): problematic" in set(config["detail"])
    # a reader both faulty and excluded by config: both rows, the fault says so
    (fault,) = _rows(checks[checks["reader"] != ""], passed=False).to_dict("records")
    assert fault["check"] == "fmri_list_cells" and fault["reader"] == "L1-02"
    assert fault["detail"].endswith("; also excluded by config")
    kept = _rows(checks, check="fmri_readers_kept", group="L1", region="angular")
    assert "excluded by config: [L1-00, L1-02]; excluded for faults: []" in kept["detail"].item()


@pytest.mark.parametrize(
    "entry, message",
    [
        pytest.param(
            {"group": "L1", "reader": 4},
            r"exclude_readers\[1\]\.reader: reader 4 does not exist in group L1 \(region "
            r"angular holds readers 0 to 3, ids L1-00 to L1-03\)",
            id="index-out-of-range",
        ),
        pytest.param(
            {"group": "L2", "reader": "L2-09", "region": "middle"},
            r"exclude_readers\[1\]\.reader: reader 'L2-09' does not exist in group L2",
            id="id-out-of-range",
        ),
        pytest.param(
            {"group": "L1", "reader": "L2-01"},
            r"exclude_readers\[1\]\.reader: reader id 'L2-01' is not of the form L1-NN",
            id="id-of-another-group",
        ),
        pytest.param(
            {"group": "L3", "reader": 0},
            r"exclude_readers\[1\]\.group: unknown group 'L3'; groups: \['L1', 'L2'\]",
            id="unknown-group",
        ),
        pytest.param(
            {"group": "L1", "reader": 0, "region": "occipital"},
            r"exclude_readers\[1\]\.region: unknown region 'occipital'",
            id="unknown-region",
        ),
        pytest.param(
            {"group": "L1", "reader": 0, "reason": "x"},
            r"exclude_readers\[1\]: unknown key 'reason'",
            id="unknown-key",
        ),
        pytest.param(
            {"group": "L1"}, r"exclude_readers\[1\]: missing key 'reader'", id="no-reader"
        ),
        pytest.param(
            {"group": "L1", "reader": True},
            r"exclude_readers\[1\]\.reader: expected a reader index or id, found True",
            id="bool",
        ),
        pytest.param(
            {"group": "L1", "reader": -1},
            r"exclude_readers\[1\]\.reader: reader index -1 is negative",
            id="negative",
        ),
    ],
)
def test_bad_exclude_readers_entries_name_the_key_and_the_id(fake_fmri, entry, message):
    root, _, _ = fake_fmri
    with pytest.raises(ValueError, match=message) as err:
        _load(root, exclude_readers=[{"group": "L1", "reader": 0}, entry])
    assert "\n" not in str(err.value)


def test_an_exclusion_of_a_region_not_loaded_is_ignored(fake_fmri):
    root, _, _ = fake_fmri
    readers, checks = _load(
        root, exclude_readers=[{"group": "L1", "reader": 31, "region": "anterior"}]
    )
    assert len(_rows(checks, check="fmri_excluded_by_config")) == 0
    assert len(readers["L1"]["fmri_angular"]) == 4


def test_unknown_region_or_suffix_is_an_error(fake_fmri):
    root, _, _ = fake_fmri
    with pytest.raises(ValueError, match="unknown fMRI region 'occipital'"):
        _load(root, regions=("occipital",))
    with pytest.raises(ValueError, match="group L1: unknown release suffix 'p3'"):
        _load(root, groups={"L1": "p3"})


# ----------------------------------------------------------------------- the real release

#: the authors' deliberate exclusions (README of the shared release), as the config lists them
AUTHORS_EXCLUSIONS = [
    {"group": "L1", "reader": 0, "why": "authors: problematic reader"},
    {"group": "L1", "reader": 31, "region": "anterior"},
    {"group": "L2", "reader": 41, "region": "middle"},
]


@pytest.fixture(scope="module")
def real_fmri():
    return fm.load_release_fmri(REAL, exclude_readers=AUTHORS_EXCLUSIONS)


@needs_release
def test_real_fmri_counts_and_faults(real_fmri):
    readers, checks = real_fmri
    kept = {
        (g, r): len(readers[g][fm.fmri_measure(r)]) for g in ("L1", "L2") for r in fm.FMRI_REGIONS
    }
    assert kept == {
        ("L1", "angular"): 45,
        ("L1", "anterior"): 44,
        ("L1", "inferior"): 46,
        ("L1", "middle"): 46,
        ("L1", "superior"): 46,
        **{("L2", r): 54 for r in fm.FMRI_REGIONS},
    }
    faulty = checks[~checks["passed"] & (checks["reader"] != "")]
    found = {
        (g, r, c): set(s) for (g, r, c), s in faulty.groupby(["group", "region", "check"])["reader"]
    }
    no_articles = {"L1-20", "L1-47", "L1-49", "L1-50", "L1-51"}
    expected = {("L1", r, "fmri_no_articles"): no_articles for r in fm.FMRI_REGIONS}
    expected["L1", "angular", "fmri_no_articles"] = no_articles | {"L1-06"}
    expected["L1", "anterior", "fmri_no_articles"] = no_articles | {"L1-06"}
    expected["L1", "anterior", "fmri_list_cells"] = {"L1-31"}
    expected |= {("L2", r, "fmri_no_articles"): {"L2-41"} for r in fm.FMRI_REGIONS}
    expected["L2", "middle", "fmri_list_cells"] = {"L2-41"}
    del expected["L2", "middle", "fmri_no_articles"]
    assert found == expected
    # the sentences whose word count every reader's file disagrees with the saccade
    # matrices on: kept at the files' count, in every region
    differs = _rows(checks, check="fmri_sentence_length_differs")
    assert len(differs) == 5 + 2 * 5
    assert differs["detail"].str.contains("article 2 sentence 15 has 13 words").sum() == 10
    assert differs["detail"].str.contains("article 0 sentence 20 has 12 words").sum() == 5
    assert _rows(checks, check="fmri_region_length_mismatch").empty
    for g in ("L1", "L2"):
        for matrices in readers[g]["fmri_angular"].values():
            assert matrices[2][15].shape == (13, 13)
    assert {m[0][20].shape for m in readers["L2"]["fmri_angular"].values()} == {(12, 12)}
    assert {m[0][20].shape for m in readers["L1"]["fmri_angular"].values()} == {(10, 10)}
    # one sentence without a saccade: L2 reader 39, article 2 sentence 27
    empty = _rows(checks, check="fmri_empty_sentences")
    assert empty.groupby("group")["value"].sum().to_dict() == {"L1": 0, "L2": 5}
    assert readers["L2"]["fmri_superior"]["L2-39"][2][27] is None
    # most activation mass above the diagonal (forward saccades), about a fifth below
    above = _rows(checks, check="fmri_mass_above_diagonal")["value"]
    below = _rows(checks, check="fmri_mass_below_diagonal")["value"]
    assert (above > 0.5).all() and ((below > 0.15) & (below < 0.25)).all()


def test_fmri_saccade_set_keeps_readers_and_averages_present_ones(tmp_path):
    from readalike.core.formats import read_saccades, write_saccades

    lengths = [[2, 3]]
    a = np.array([[1.0, 0.0], [2.0, 0.0]])
    b = np.array([[3.0, 0.0], [4.0, 0.0]])
    c3 = np.arange(9.0).reshape(3, 3)
    readers = {
        "fmri_angular": {"L1-01": [[a, None]], "L1-02": [[b, c3]]},
        "fmri_middle": {"L1-02": [[b, None]], "L1-05": [[None, c3]]},
    }
    saccades = fm.fmri_saccade_set(readers, lengths, "L1", "test")
    assert saccades.reader_ids == ["L1-01", "L1-02", "L1-05"] and saccades.n_readers == 3
    # the mean over the readers present: (a + b) / 2 in sentence 0; c3 alone in sentence 1
    np.testing.assert_array_equal(saccades.measures["fmri_angular"][0][0], (a + b) / 2)
    np.testing.assert_array_equal(saccades.measures["fmri_angular"][0][1], c3)
    # nobody in fmri_middle sentence 0 but L1-02; readers present in any region per sentence
    assert saccades.readers_per_sentence == [[2, 2]]
    target = tmp_path / "L1_fmri.h5"
    write_saccades(target, saccades)
    back = read_saccades(target)
    middle = back.reader_measures["fmri_middle"]
    assert middle.readers[0][0].tolist() == [1] and middle.readers[0][1].tolist() == [2]
    np.testing.assert_array_equal(middle.matrices[0][1][0], c3)
    assert middle.present(3).tolist() == [[False, False], [True, False], [False, True]]


# ------------------------------------------------- the authors' per-reader fMRI numbers

#: The authors' expected per-reader results for GPT-2 large (angular region), where a copy of
#: the release holds them (upstream ``expected_results/``; not in the shared copy).
EXPECTED_RESULTS = "expected_results/lr_scores_reading_brain/heads_vs_fmri"


def _tril_idx(n: int) -> tuple[np.ndarray, np.ndarray]:
    # the authors' order: 00, 10, 11, 20, 21, 22 (row by row, j <= i)
    return np.tril_indices(n)


def heads_vs_fmri(p: int, layers: range, region: str = "angular") -> np.ndarray:
    """``utils/regression/heads_vs_fmri.py`` of RiverGao/scaling_finetuning at the pinned
    commit, for GPT-2 large, rebuilt as the reference (its loops, its choices):

    - readers: every one but L1 reader 0 (p == 1, "problematic"), L2 reader 41 in ``middle``
      and L1 reader 31 in ``anterior``; a reader without 5 articles is skipped, and so is
      one with a NaN;
    - sentence lengths from the fMRI matrices (of L1 reader 1, L2 reader 0), the attention
      file sliced ``[:n, :n]`` to them whatever it holds there; a sentence without a
      saccade is a matrix of zeros like any other;
    - per reader and layer, ``LinearRegression().fit(X, y).score(X, y)`` over the pairs
      ``j <= i`` of every sentence, the heads as regressors: in-sample R^2.

    Returns ``(layers, readers)``, as the authors' ``.npy``.
    """
    from sklearn.linear_model import LinearRegression

    from readalike.core.safe_pickle import load_pickle

    human = load_pickle(REAL / fm.fmri_relpath(f"p{p}", region), allowed=fm.FMRI_GLOBALS)
    first = 1 if p == 1 else 0
    lengths = [[len(sentence) for sentence in article] for article in human[first]]
    out = []
    for layer in layers:
        attn = np.load(REAL / rel.attention_relpath(rel.GPT2_LARGE_DIR, "rb_p1", layer))
        x = np.concatenate(
            [
                attn[a, s][:, *_tril_idx(n)]  # (heads, pairs)
                for a, article in enumerate(lengths)
                for s, n in enumerate(article)
            ],
            axis=1,
        ).T.astype(np.float64)
        scores = []
        for subject, data in enumerate(human):
            if (
                (p == 1 and subject == 0)
                or (p == 2 and region == "middle" and subject == 41)
                or (p == 1 and region == "anterior" and subject == 31)
                or len(data) != 5
            ):
                continue
            y = np.concatenate(
                [np.array(m)[_tril_idx(len(m))] for article in data for m in article]
            ).astype(np.float64)
            if np.isnan(y).any():
                continue
            scores.append(LinearRegression().fit(x, y).score(x, y))
        out.append(scores)
    return np.array(out)


@pytest.fixture(scope="module")
def authors_rows(tmp_path_factory):
    """The project's ``reader_resemblance`` of GPT-2 large's first layers on the angular
    region, converted and run as the workflow does (the fMRI files' lengths, float32)."""
    from readalike.core.formats import write_attention, write_saccades
    from readalike.study_a.tables import reader_resemblance_table

    tmp = tmp_path_factory.mktemp("authors")
    lengths = rel.load_release_saccades(REAL, "p1", measures={"num": "mean_saccade_num"}).lengths()
    readers, _ = fm.load_release_fmri(REAL, regions=["angular"], exclude_readers=AUTHORS_EXCLUSIONS)
    paths, fmri_lengths = {}, {}
    for group in ("L1", "L2"):
        saccades = fm.fmri_saccade_set(readers[group], lengths, group, "release")
        paths[group] = tmp / f"{group}_fmri.h5"
        fmri_lengths[group] = saccades.lengths()
        write_saccades(paths[group], saccades)
    attention, _ = rel.load_release_attention(
        REAL,
        rel.GPT2_LARGE_DIR,
        "rb_p1",
        rel.longest_lengths(fmri_lengths.values()),
        "gpt2-large",
        "plain",
        n_layers=N_AUTHOR_LAYERS,
    )
    write_attention(tmp / "gpt2.h5", attention)
    return reader_resemblance_table(tmp / "gpt2.h5", paths, ["fmri_angular"], "gpt2-large")


#: Layers compared with the rebuilt reference (its loops take seconds per layer).
N_AUTHOR_LAYERS = 3


def _wide(table, definition, group):
    rows = table[(table["definition"] == definition) & (table["group"] == group)]
    return rows.pivot(index="layer", columns="reader", values="r2").to_numpy()


@needs_release
@pytest.mark.parametrize(("p", "group", "n_readers"), [(1, "L1", 45), (2, "L2", 54)])
def test_authors_rows_equal_the_authors_heads_vs_fmri(authors_rows, p, group, n_readers):
    reference = heads_vs_fmri(p, range(N_AUTHOR_LAYERS))
    got = _wide(authors_rows, "authors", group)
    assert got.shape == reference.shape == (N_AUTHOR_LAYERS, n_readers)
    np.testing.assert_allclose(got, reference, rtol=0, atol=1e-8)
    project = _wide(authors_rows, "project", group)
    if group == "L1":
        # no L1 reader skipped a sentence, and the attention holds every L1 sentence's words
        np.testing.assert_allclose(project, reference, rtol=0, atol=1e-8)
    else:
        # L2 reader 39's unread sentence and article 0 sentence 20 (12 fMRI words, 10 in
        # the attention) are left out of the project's rows
        assert np.abs(project - reference).max() > 1e-5


@needs_release
@pytest.mark.parametrize("p", [1, 2])
def test_authors_rows_equal_the_authors_expected_results(authors_rows, p):
    """Against the authors' own ``.npy`` (36 layers), where a copy holds it."""
    path = REAL / EXPECTED_RESULTS / f"num_{p}_angular_gpt2_large.npy"
    if not path.is_file():
        pytest.skip(f"{path} is not in this copy of the release")
    expected = np.load(path, allow_pickle=False)[:N_AUTHOR_LAYERS]
    np.testing.assert_allclose(_wide(authors_rows, "authors", f"L{p}"), expected, atol=1e-8)
