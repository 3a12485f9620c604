import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from scipy import stats

from readalike.figures.readers import (
    READER_FIGURES,
    brain_resemblance_by_layer,
    reader_mean_se,
    reader_resemblance_l2_vs_l1,
    resemblance_ci_by_layer,
)

# two models of different depth, two groups of three readers, a saccade and a brain measure
DEPTH = {"tiny-s": 3, "tiny-m": 5}
GROUPS = ["L1", "L2"]
READERS = {"L1": ["r1", "r2", "r3"], "L2": ["r4", "r5", "r6"]}
MEASURES = ["num", "fmri_angular"]
# the layers where the Welch test holds, per (model, measure)
HOLDS = {("tiny-s", "num"): [1], ("tiny-m", "num"): [0, 3], ("tiny-m", "fmri_angular"): [4]}


def _resemblance_ci(provenance="SYNTHETIC") -> pd.DataFrame:
    rows = [
        (m, g, meas, layer, 0.1 + 0.02 * layer, 0.05, 0.2, 1000, provenance)
        for m, n in DEPTH.items()
        for g in GROUPS
        for meas in MEASURES
        for layer in range(n)
    ]
    columns = ["model", "group", "measure", "layer", "r2", "ci_low", "ci_high", "n_draws"]
    return pd.DataFrame(rows, columns=[*columns, "provenance"])


def _noise_ceiling(provenance="SYNTHETIC") -> pd.DataFrame:
    # num has every kind for both groups; the brain measure only leave-one-out for L1
    rows = [
        ("L1", "num", "leave_one_reader_out", 0.4, 0.3, 0.5, 3, "", provenance),
        ("L1", "num", "authors_inclusive", 0.6, 0.5, 0.7, 3, "", provenance),
        ("L1", "num", "split_half_spearman_brown", 0.7, 0.6, 0.8, 3, "", provenance),
        ("L2", "num", "leave_one_reader_out", 0.35, 0.3, 0.4, 3, "", provenance),
        ("L2", "num", "split_half_spearman_brown", np.nan, np.nan, np.nan, 2, "few", provenance),
        ("L1", "fmri_angular", "leave_one_reader_out", 0.05, 0.0, 0.1, 3, "", provenance),
    ]
    columns = ["group", "measure", "kind", "value", "interval_low", "interval_high"]
    return pd.DataFrame(rows, columns=[*columns, "n_readers", "note", "provenance"])


def _reader_resemblance(provenance="SYNTHETIC") -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [
        (m, g, meas, layer, reader, 10, rng.random(), rng.random() - 0.5, provenance)
        for m, n in DEPTH.items()
        for g in GROUPS
        for meas in MEASURES
        for layer in range(n)
        for reader in READERS[g]
    ]
    columns = ["model", "group", "measure", "layer", "reader", "n_pairs", "r2", "r2_heldout"]
    table = pd.DataFrame(rows, columns=[*columns, "provenance"])
    # a reader without a value at one layer (NaN R^2) must not break anything
    table.loc[(table["reader"] == "r2") & (table["layer"] == 1), "r2"] = np.nan
    return table


def _resemblance_tests(provenance="SYNTHETIC") -> pd.DataFrame:
    rows = []
    for m, n in DEPTH.items():
        for meas in MEASURES:
            for layer in range(n):
                for test in ("welch_t_one_sided", "permutation_mean_difference"):
                    # the permutation test "holds" everywhere: it must not be marked
                    holds = layer in HOLDS.get((m, meas), []) or test != "welch_t_one_sided"
                    rows.append(
                        (m, meas, layer, test, "L2", "L1", 3, 3, 0.5, 0.4, 2.0, 0.01, "holm")
                        + (0.02 if holds else 0.5, holds, "", provenance)
                    )
    columns = ["model", "measure", "layer", "test", "group_a", "group_b", "n_a", "n_b"]
    columns += ["mean_a", "mean_b", "statistic", "p", "correction", "p_corrected", "holds"]
    return pd.DataFrame(rows, columns=[*columns, "note", "provenance"])


TABLES = {
    "resemblance_ci": _resemblance_ci,
    "noise_ceiling": _noise_ceiling,
    "reader_resemblance": _reader_resemblance,
    "resemblance_tests": _resemblance_tests,
}


def _draw(name, provenance="SYNTHETIC"):
    function, tables = READER_FIGURES[name]
    return function(*(TABLES[t](provenance) for t in tables))


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(plt.Text)]


def _by_gid(ax, gid) -> list:
    return [line for line in ax.get_lines() if line.get_gid() == gid]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_reader_figures_mapping():
    assert set(READER_FIGURES) == {
        "resemblance_ci_by_layer",
        "reader_resemblance_l2_vs_l1",
        "brain_resemblance_by_layer",
    }
    assert READER_FIGURES["resemblance_ci_by_layer"] == (
        resemblance_ci_by_layer,
        ["resemblance_ci", "noise_ceiling"],
    )
    assert READER_FIGURES["reader_resemblance_l2_vs_l1"][1] == [
        "reader_resemblance",
        "resemblance_tests",
        "noise_ceiling",
    ]
    assert READER_FIGURES["brain_resemblance_by_layer"][1] == [
        "reader_resemblance",
        "noise_ceiling",
    ]


@pytest.mark.parametrize("name", list(READER_FIGURES))
@pytest.mark.parametrize(
    ("provenance", "stamped"),
    [pytest.param("SYNTHETIC", True, id="synthetic"), pytest.param("real", False, id="real")],
)
def test_stamp_follows_provenance(name, provenance, stamped):
    fig = _draw(name, provenance)
    assert isinstance(fig, plt.Figure)
    assert ("SYNTHETIC" in [t.get_text() for t in fig.texts]) is stamped


@pytest.mark.parametrize("name", list(READER_FIGURES))
def test_a_modified_release_is_stamped_modified(name):
    fig = _draw(name, "modified")
    assert "MODIFIED" in [t.get_text() for t in fig.texts]
    assert "SYNTHETIC" not in [t.get_text() for t in fig.texts]


def test_one_synthetic_table_is_enough_to_stamp():
    fig = resemblance_ci_by_layer(_resemblance_ci("real"), _noise_ceiling("SYNTHETIC"))
    assert "SYNTHETIC" in [t.get_text() for t in fig.texts]


def test_resemblance_ci_grid_lines_bands_and_ceiling():
    fig = resemblance_ci_by_layer(_resemblance_ci(), _noise_ceiling())
    # rows = measures, columns = models
    assert [ax.get_title() for ax in fig.axes] == [
        "tiny-s, num",
        "tiny-m, num",
        "tiny-s, fmri_angular",
        "tiny-m, fmri_angular",
    ]
    for ax, model in zip(fig.axes, ["tiny-s", "tiny-m"] * 2, strict=True):
        for group in GROUPS:
            (line,) = _by_gid(ax, f"r2:{group}")
            np.testing.assert_array_equal(line.get_xdata(), np.arange(DEPTH[model]))
            np.testing.assert_allclose(line.get_ydata(), 0.1 + 0.02 * np.arange(DEPTH[model]))
        # one shaded band per group
        assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2
    # the split-half ceiling: L1 of num only (L2's is NaN, fMRI has none)
    for ax in fig.axes[:2]:
        (ceiling,) = _by_gid(ax, "ceiling:L1")
        np.testing.assert_allclose(ceiling.get_ydata(), [0.7, 0.7])
        assert ceiling.get_linestyle() == "--"
        assert ceiling.get_color() == _by_gid(ax, "r2:L1")[0].get_color()
        assert not _by_gid(ax, "ceiling:L2")
        assert len(ax.get_lines()) == 3
    for ax in fig.axes[2:]:
        assert len(ax.get_lines()) == 2  # the leave-one-out ceiling is not this figure's


def test_resemblance_ci_band_spans_the_interval():
    table = _resemblance_ci()
    table["ci_low"] = table["r2"] - 0.03
    table["ci_high"] = table["r2"] + 0.05
    fig = resemblance_ci_by_layer(table, _noise_ceiling())
    band = fig.axes[0].collections[0]
    ys = np.concatenate([p.vertices[:, 1] for p in band.get_paths()])
    r2 = 0.1 + 0.02 * np.arange(DEPTH["tiny-s"])
    assert ys.min() == pytest.approx(r2.min() - 0.03)
    assert ys.max() == pytest.approx(r2.max() + 0.05)


def test_l2_vs_l1_stars_exactly_at_the_layers_that_hold():
    fig = _draw("reader_resemblance_l2_vs_l1")
    assert len(fig.axes) == 4
    panels = [(m, meas) for meas in MEASURES for m in DEPTH]
    for ax, key in zip(fig.axes, panels, strict=True):
        stars = _by_gid(ax, "welch_holds")
        if key in HOLDS:
            (line,) = stars
            np.testing.assert_array_equal(line.get_xdata(), HOLDS[key])
            assert line.get_marker() == "*"
        else:
            assert stars == []
    assert "Welch L2 > L1, Holm p < 0.05" in _texts(fig)


def test_l2_vs_l1_holds_read_as_strings():
    # pandas reads a column of True/False as bool, but a column with gaps as text
    tests = _resemblance_tests()
    tests["holds"] = tests["holds"].map({True: "True", False: "False"})
    fig = reader_resemblance_l2_vs_l1(_reader_resemblance(), tests, _noise_ceiling())
    (line,) = _by_gid(fig.axes[1], "welch_holds")
    np.testing.assert_array_equal(line.get_xdata(), [0, 3])


def test_l2_vs_l1_mean_band_ceiling_and_reader_counts():
    readers = _reader_resemblance()
    fig = reader_resemblance_l2_vs_l1(readers, _resemblance_tests(), _noise_ceiling())
    ax = fig.axes[0]  # tiny-s, num
    part = readers[
        (readers["model"] == "tiny-s") & (readers["measure"] == "num") & (readers["group"] == "L1")
    ]
    wide = part.pivot(index="reader", columns="layer", values="r2").to_numpy()
    (line,) = _by_gid(ax, "r2:L1")
    np.testing.assert_array_equal(line.get_xdata(), np.arange(3))
    np.testing.assert_allclose(line.get_ydata(), np.nanmean(wide, axis=0))
    # one band per group, lines: two groups, two leave-one-out ceilings, one star row
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2
    assert len(ax.get_lines()) == 5
    (l1,) = _by_gid(ax, "ceiling:L1")
    (l2,) = _by_gid(ax, "ceiling:L2")
    np.testing.assert_allclose(l1.get_ydata(), [0.4, 0.4])
    np.testing.assert_allclose(l2.get_ydata(), [0.35, 0.35])
    # fMRI panel: only L1 has a ceiling there
    assert len(_by_gid(fig.axes[2], "ceiling:L1")) == 1
    assert not _by_gid(fig.axes[2], "ceiling:L2")
    assert ax.get_title() == "tiny-s, num\nL1 n=3, L2 n=3 readers"


def test_l2_vs_l1_reader_count_leaves_out_readers_without_values():
    readers = _reader_resemblance()
    readers.loc[readers["reader"] == "r5", "r2"] = np.nan
    fig = reader_resemblance_l2_vs_l1(readers, _resemblance_tests(), _noise_ceiling())
    assert fig.axes[0].get_title() == "tiny-s, num\nL1 n=3, L2 n=2 readers"


def test_reader_mean_se_by_hand():
    readers = pd.DataFrame(
        {
            "model": "m",
            "group": "L1",
            "measure": "num",
            "layer": [0, 0, 0, 1, 1, 1, 2, 2, 2],
            "reader": ["a", "b", "c"] * 3,
            "r2": [0.1, 0.2, 0.3, 0.5, np.nan, 0.7, np.nan, 0.4, np.nan],
            "provenance": "real",
        }
    )
    out = reader_mean_se(readers)
    assert list(out.columns) == ["model", "group", "measure", "layer", "mean", "se", "n"]
    np.testing.assert_allclose(out["mean"], [0.2, 0.6, 0.4])
    # sd(0.1, 0.2, 0.3) = 0.1; sd(0.5, 0.7) = sqrt(0.02); one reader: no SE
    np.testing.assert_allclose(out["se"][:2], [0.1 / np.sqrt(3), np.sqrt(0.02) / np.sqrt(2)])
    assert np.isnan(out["se"][2])
    assert list(out["n"]) == [3, 2, 1]
    wide = readers.pivot(index="reader", columns="layer", values="r2").to_numpy()[:, :2]
    np.testing.assert_allclose(out["se"][:2], stats.sem(wide, nan_policy="omit"))


def _brain_readers() -> pd.DataFrame:
    """Two fMRI regions, with the shuffled control and the authors' rows beside the project's."""
    readers = _reader_resemblance()
    readers = pd.concat(
        [readers, readers[readers["measure"] == "fmri_angular"].assign(measure="fmri_middle")]
    )
    readers = readers.assign(r2_shuffled=readers["r2"] / 10, definition="project")
    # the authors' rows must not be drawn: far off every curve
    return pd.concat([readers, readers.assign(definition="authors", r2=9.0)], ignore_index=True)


def test_brain_panels_relative_depth_and_lines():
    readers = _brain_readers()
    fig = brain_resemblance_by_layer(readers, _noise_ceiling())
    titles = ["angular, tiny-s", "angular, tiny-m", "middle, tiny-s", "middle, tiny-m"]
    assert [ax.get_title() for ax in fig.axes] == titles
    project = readers[readers["definition"] == "project"]
    for ax, title in zip(fig.axes, titles, strict=True):
        region, model = title.split(", ")
        n = DEPTH[model]
        # per group: in-sample with its band, held out, shuffled
        curves = [line for line in ax.get_lines() if ":" in str(line.get_gid())]
        assert sorted(line.get_gid() for line in curves if "ceiling" not in line.get_gid()) == [
            f"{kind}:{g}" for kind in ("heldout", "r2", "shuffled") for g in GROUPS
        ]
        assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2
        for line in curves:
            if not line.get_gid().startswith("ceiling"):
                np.testing.assert_allclose(line.get_xdata(), np.arange(n) / (n - 1))
        styles = {line.get_gid(): line.get_linestyle() for line in curves}
        assert styles["r2:L1"] == "-" and styles["heldout:L1"] == "--"
        assert styles["shuffled:L1"] == ":"
        colors = {line.get_gid(): line.get_color() for line in curves}
        assert colors["r2:L1"] == colors["shuffled:L1"] != colors["r2:L2"]
        rows = project[(project["model"] == model) & (project["measure"] == f"fmri_{region}")]
        for kind, column in (("r2", "r2"), ("heldout", "r2_heldout"), ("shuffled", "r2_shuffled")):
            (line,) = _by_gid(ax, f"{kind}:L2")
            mean = rows[rows["group"] == "L2"].groupby("layer")[column].mean()
            np.testing.assert_allclose(line.get_ydata(), mean.to_numpy())
        # the ceiling: only L1 of the angular region has a leave-one-out one
        ceilings = _by_gid(ax, "ceiling:L1")
        if region == "angular":
            (ceiling,) = ceilings
            assert ceiling.get_ydata()[0] == 0.05 and ceiling.get_linestyle() == "-."
        else:
            assert not ceilings
        assert not _by_gid(ax, "ceiling:L2")


def test_brain_depth_of_a_partial_copy():
    # the release holds only the first layers of a deeper model
    fig = brain_resemblance_by_layer(_reader_resemblance(), n_layers={"tiny-s": 7})
    assert fig.axes[0].get_title() == "fmri_angular"[5:] + ", tiny-s"
    (line,) = _by_gid(fig.axes[0], "r2:L1")
    np.testing.assert_allclose(line.get_xdata(), np.arange(3) / 6)


def test_brain_depth_smaller_than_the_layers_is_refused():
    with pytest.raises(ValueError, match="^reader_resemblance: model tiny-m has layer 4, beyond"):
        brain_resemblance_by_layer(_reader_resemblance(), n_layers={"tiny-m": 4})


def test_brain_without_fmri_says_so():
    readers = _reader_resemblance()
    fig = brain_resemblance_by_layer(readers[readers["measure"] == "num"])
    assert len(fig.axes) == 1
    assert "no fMRI measures (fmri_*) in these data" in _texts(fig)
    assert not fig.axes[0].get_lines()


def test_all_nan_r2_does_not_crash():
    readers = _reader_resemblance()
    readers.loc[readers["model"] == "tiny-m", "r2"] = np.nan
    ci = _resemblance_ci()
    ci.loc[ci["layer"] == 2, ["r2", "ci_low", "ci_high"]] = np.nan
    for fig in (
        resemblance_ci_by_layer(ci, _noise_ceiling()),
        reader_resemblance_l2_vs_l1(readers, _resemblance_tests(), _noise_ceiling()),
        brain_resemblance_by_layer(readers),
    ):
        fig.canvas.draw()
        assert fig.axes


def test_missing_column_is_one_line():
    with pytest.raises(ValueError, match=r"^table noise_ceiling: missing column\(s\) kind$"):
        resemblance_ci_by_layer(_resemblance_ci(), _noise_ceiling().drop(columns="kind"))


def test_figures_save_as_png_and_pdf(tmp_path):
    from readalike.figures.study_a import save_figure

    fig = _draw("brain_resemblance_by_layer")
    targets = [tmp_path / "b.png", tmp_path / "b.pdf"]
    save_figure(fig, targets, synthetic=False)
    assert targets[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert targets[1].read_bytes()[:5] == b"%PDF-"
    # the figure stamped itself once; save_figure with synthetic=False adds nothing
    assert [t.get_text() for t in fig.texts].count("SYNTHETIC") == 1


def test_import_does_not_load_torch():
    code = (
        "import sys, readalike.figures.readers; "
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_resemblance_ci_figure_without_noise_ceilings_draws_no_ceiling():
    from readalike.figures.readers import empty_table

    ci = pd.DataFrame(
        {
            "model": "m",
            "group": ["L1", "L1", "L2", "L2"],
            "measure": "num",
            "layer": [0, 1, 0, 1],
            "r2": [0.1, 0.2, 0.15, 0.25],
            "ci_low": [0.05, 0.1, 0.1, 0.2],
            "ci_high": [0.2, 0.3, 0.2, 0.3],
            "provenance": "real",
        }
    )
    fig = resemblance_ci_by_layer(ci, empty_table("noise_ceiling"))
    assert not [line for ax in fig.axes for line in ax.lines if "ceiling" in str(line.get_gid())]


def test_l2_vs_l1_draws_the_project_rows_only():
    readers = _brain_readers()
    fig = reader_resemblance_l2_vs_l1(readers, _resemblance_tests(), _noise_ceiling())
    (line,) = _by_gid(fig.axes[0], "r2:L1")
    assert np.nanmax(line.get_ydata()) < 1  # the authors' rows (9.0) are not averaged in
