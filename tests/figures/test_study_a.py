import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from readalike.figures.study_a import (
    STAMP,
    divergence_figure,
    instruction_sensitivity_figure,
    replication_figure,
    resemblance_figure,
    save_figure,
    stamp_synthetic,
    trivial_reliance_figure,
)
from readalike.study_a.replication import replication_summary

MODELS = ["tiny-s", "tiny-m"]
LAYERS = range(4)


def _resemblance(measures=("num",)) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [
        (m, g, meas, layer, rng.random(), rng.random() - 0.5)
        for m in MODELS
        for g in ("L1", "L2")
        for meas in measures
        for layer in LAYERS
    ]
    return pd.DataFrame(rows, columns=["model", "group", "measure", "layer", "r2", "r2_heldout"])


def _trivial() -> pd.DataFrame:
    return pd.DataFrame(
        [(m, layer, 0.1 * layer + 0.2, 0) for m in MODELS for layer in LAYERS],
        columns=["model", "layer", "r2", "n_constant_heads"],
    )


def _instruction(control: bool) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (m, layer, 0.01 * layer, 0.02 * layer if control else np.nan, "")
            for m in MODELS
            for layer in LAYERS
        ],
        columns=["model", "layer", "js_instruction", "js_control", "note"],
    )


def _divergence() -> pd.DataFrame:
    return pd.DataFrame(
        [
            (kind, a, b, cond, part, 0.01 * (part + 1), 7)
            for kind, a, b in [("scaling", "tiny-s", "tiny-m"), ("tuning", "tiny-s", "tiny-i")]
            for cond in ("plain", "instruction")
            for part in range(4)
        ],
        columns=["comparison", "model_a", "model_b", "condition", "depth_quarter", "js", "n_rows"],
    )


FIGURES = [
    pytest.param(resemblance_figure, _resemblance, id="resemblance"),
    pytest.param(trivial_reliance_figure, _trivial, id="trivial"),
    pytest.param(instruction_sensitivity_figure, lambda: _instruction(True), id="instruction"),
    pytest.param(
        instruction_sensitivity_figure, lambda: _instruction(False), id="instruction-no-control"
    ),
    pytest.param(divergence_figure, _divergence, id="divergence"),
    pytest.param(
        replication_figure,
        lambda: replication_summary(_resemblance(("num", "dur")), "L1"),
        id="replication",
    ),
]


def _all_text(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(plt.Text)]


@pytest.mark.parametrize(("draw", "make_table"), FIGURES)
def test_figure_function_returns_a_figure(draw, make_table):
    # building runs tight_layout, which lays out (and so parses) every text, mathtext included
    fig = draw(make_table())
    assert isinstance(fig, plt.Figure)
    assert fig.axes
    assert fig.get_suptitle() or fig.axes[0].get_title()
    assert "SYNTHETIC" not in _all_text(fig)
    plt.close(fig)


@pytest.mark.parametrize(
    ("draw", "make_table"),
    [
        pytest.param(trivial_reliance_figure, _trivial, id="trivial"),
        pytest.param(divergence_figure, _divergence, id="divergence"),
    ],
)
def test_save_figure_writes_png_and_pdf(tmp_path, draw, make_table):
    # saving is the slow part (about 1 s a figure here), so two figures stand for all
    fig = draw(make_table())
    targets = [tmp_path / "fig.png", tmp_path / "sub" / "fig.pdf"]
    save_figure(fig, targets, synthetic=False)
    assert targets[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert targets[1].read_bytes()[:5] == b"%PDF-"
    assert all(t.stat().st_size > 1000 for t in targets)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["fig.pdf", "fig.png", "sub"]
    assert not plt.fignum_exists(fig.number)  # save_figure closes it


def test_missing_condition_is_said_on_the_figure():
    fig = instruction_sensitivity_figure(_instruction(False))
    assert "no such condition\nin these data" in _all_text(fig)
    plt.close(fig)
    fig = instruction_sensitivity_figure(_instruction(True))
    assert "no such condition\nin these data" not in _all_text(fig)
    plt.close(fig)


def test_resemblance_figure_grid():
    fig = resemblance_figure(_resemblance(("num", "dur")))
    # rows = measures, columns = groups
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["L1 readers, num", "L2 readers, num", "L1 readers, dur", "L2 readers, dur"]
    # two lines (in-sample, held-out) per model per panel, and the zero line
    assert len(fig.axes[0].get_lines()) == 2 * len(MODELS) + 1
    plt.close(fig)


def test_stamp_synthetic_adds_text():
    fig, _ = plt.subplots()
    assert fig.texts == []
    stamp_synthetic(fig)
    texts = [t.get_text() for t in fig.texts]
    assert "SYNTHETIC" in texts
    assert STAMP in texts
    plt.close(fig)


@pytest.mark.parametrize(
    ("synthetic", "stamped"),
    [pytest.param(True, True, id="synthetic"), pytest.param(False, False, id="real")],
)
def test_save_figure_stamps_synthetic(tmp_path, synthetic, stamped):
    fig = trivial_reliance_figure(_trivial())
    save_figure(fig, [tmp_path / "t.png"], synthetic=synthetic)
    # the closed figure keeps its artists, so the stamp can still be read
    assert ("SYNTHETIC" in [t.get_text() for t in fig.texts]) is stamped
    assert (tmp_path / "t.png").stat().st_size > 0


def test_study_a_figures_and_tables_import_no_torch():
    # the analysis env has no torch: drawing a Study A figure or building its table must not
    # import it (a fresh interpreter, since this test session has torch loaded already)
    code = (
        "import sys\n"
        "import readalike.figures.study_a, readalike.study_a.tables\n"
        "import readalike.study_a.replication, readalike.core.config\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
