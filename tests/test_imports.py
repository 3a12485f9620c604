"""Table-only code imports neither torch nor transformers (issue 10: figures without torch).

Each check runs in a fresh interpreter, since this test session has imported torch already.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

#: Modules that draw figures or build tables from files; the package modules that the
#: table-only Study B scripts (attribution_scores, instruction_focus, study_b_comparisons,
#: release_b, release_b_attribution, unpack_release_b, attribution_heatmap) import.
TABLE_ONLY = [
    "readalike.figures",
    "readalike.figures_b",
    "readalike.formats",
    "readalike.instruction_focus",
    "readalike.instruction_tokens",
    "readalike.release_b",
    "readalike.concept_labels",
    "readalike.subspaces",
    "readalike.verb_relations",
    "readalike.joblog",
    "readalike.outputs",
]

CHECK = (
    "import importlib, sys\n"
    "for name in sys.argv[1:]:\n"
    "    importlib.import_module(name)\n"
    "heavy = sorted(m for m in ('torch', 'transformers') if m in sys.modules)\n"
    "assert not heavy, f'{sys.argv[1:]} imported {heavy}'\n"
)


@pytest.mark.parametrize("module", TABLE_ONLY)
def test_table_only_module_needs_no_torch(module):
    result = subprocess.run(
        [sys.executable, "-c", CHECK, module], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr.strip().splitlines()[-1:]


def test_torch_check_can_fail():
    """The check itself flags a module that imports torch."""
    result = subprocess.run(
        [sys.executable, "-c", CHECK, "readalike.study_b"], capture_output=True, check=False
    )
    assert result.returncode != 0
