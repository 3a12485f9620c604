"""Table-only code imports neither torch nor transformers (issue 10: figures without torch).

Each check runs in a fresh interpreter, since this test session has imported torch already.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

#: Modules that draw figures or build tables from files; the package modules that the
#: table-only Study B scripts (attribution_scores, instruction_focus, study_b_comparisons,
#: release_b, release_b_attribution, unpack_release_b, attribution_heatmap) import.
TABLE_ONLY = [
    "readalike.figures.study_a",
    "readalike.figures.study_b",
    "readalike.core.formats",
    "readalike.study_b.instruction_focus",
    "readalike.study_b.instruction_tokens",
    "readalike.release.study_b",
    "readalike.study_b.concept_labels",
    "readalike.study_b.subspaces",
    "readalike.study_b.verb_relations",
    "readalike.core.joblog",
    "readalike.core.outputs",
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
        [sys.executable, "-c", CHECK, "readalike.study_b.runs"], capture_output=True, check=False
    )
    assert result.returncode != 0


RULES = Path(__file__).resolve().parents[2] / "workflow" / "rules"
SCRIPTS = RULES.parent / "scripts"
RULE = re.compile(r"^\s*(?:local)?rule (\w+):$")
ENV = re.compile(r"^\s*(ANALYSIS_ENV|TORCH_ENV)\s*$")
SCRIPT = re.compile(r'^\s*"\.\./scripts/(\w+\.py)"\s*$')
IMPORT = re.compile(r"^from (readalike(?:\.\w+)*) import|^import (readalike(?:\.\w+)*)", re.M)


def _rule_envs() -> dict[str, tuple[str, str]]:
    """rule -> (conda env variable, script file) of every rule in workflow/rules."""
    found: dict[str, tuple[str, str]] = {}
    for path in RULES.glob("*.smk"):
        rule = env = None
        for line in path.read_text().splitlines():
            if m := RULE.match(line):
                rule, env = m.group(1), None
            elif m := ENV.match(line):
                env = m.group(1)
            elif (m := SCRIPT.match(line)) and rule:
                found[rule] = (env, m.group(1))
    return found


def test_rules_in_the_analysis_env_import_no_torch():
    """Every rule whose conda env has no torch runs a script whose modules need none."""
    envs = _rule_envs()
    assert {"figure", "resemblance", "attribution", "check_tokenizers"} <= set(envs)
    assert envs["attribution"][0] == "TORCH_ENV"
    modules = set()
    for env, script in envs.values():
        if env == "ANALYSIS_ENV":
            text = (SCRIPTS / script).read_text()
            modules |= {a or b for a, b in IMPORT.findall(text)}
    result = subprocess.run(
        [sys.executable, "-c", CHECK, *sorted(modules)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr.strip().splitlines()[-1:]
