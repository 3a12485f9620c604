"""Tests of readalike.core.tables: the registry of output tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from readalike.core import tables
from readalike.core.outputs import write_tsv

REPO = Path(__file__).resolve().parents[2]
SNAPSHOT = REPO / "tests" / "expected" / "table_registry.tsv"


def test_registry_matches_its_committed_snapshot():
    """A column added, removed, renamed or moved fails here until the snapshot is updated."""
    snapshot = pd.read_csv(SNAPSHOT, sep="\t")
    pd.testing.assert_frame_equal(tables.registry_frame(), snapshot)


def test_docs_outputs_is_generated_from_the_registry():
    text = (REPO / "docs" / "outputs.md").read_text(encoding="utf-8")
    assert text == tables.outputs_markdown(), "regenerate: python -m readalike.core.tables"


@pytest.mark.parametrize(
    ("path", "name"),
    [
        pytest.param("results/demo/human_resemblance.tsv", "human_resemblance", id="top"),
        pytest.param(
            "results/demo/tables/human_resemblance/tiny-s.tsv", "human_resemblance", id="part"
        ),
        pytest.param("results/demo/study_b/ffn/tiny-s.tsv", "ffn_concepts", id="study-b-model"),
        pytest.param("results/r/study_b/head_pairs/m.tsv", "head_pairs", id="head-pairs"),
        pytest.param("results/r/release/checks_fmri_L1.tsv", "release_checks", id="fmri-checks"),
        pytest.param("results/r/release/verified.tsv", "verified", id="verified"),
        pytest.param("results/r/release_b_faults.tsv", "attribution_faults", id="release-b"),
    ],
)
def test_table_for_path(path, name):
    assert tables.table_for_path(path).name == name


def test_unregistered_path_is_none():
    assert tables.table_for_path("somewhere/notes.tsv") is None


def test_write_tsv_refuses_a_registered_table_with_other_columns(tmp_path):
    target = tmp_path / "trivial_reliance.tsv"
    wrong = pd.DataFrame({"model": ["m"], "r2": [0.1], "layer": [0], "n_constant_heads": [0]})
    with pytest.raises(ValueError, match=r"trivial_reliance.tsv: columns model, r2, layer"):
        write_tsv(wrong, target, synthetic=True)
    assert not target.exists()
    right = wrong[tables.columns("trivial_reliance")]
    write_tsv(right, target, synthetic=True)
    assert target.read_text().split("\n")[0].split("\t") == [
        *tables.columns("trivial_reliance"),
        "provenance",
    ]


def test_optional_columns_are_all_or_none(tmp_path):
    base = tables.columns("release_checks")
    header = [*base, "group", "region", "reader"]
    tables.check_header(header, "release/checks_fmri_L1.tsv")
    with pytest.raises(ValueError, match="registered table 'release_checks'"):
        tables.check_header([*base, "group"], "release/checks_fmri_L1.tsv")
