"""Table-only code imports neither torch nor transformers, so figure and table jobs start
without them; and the package's rooms import in the order of the flow.

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
    "readalike.figures.relative_importance",
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


PACKAGE = Path(__file__).resolve().parents[2] / "workflow" / "readalike"
#: The rooms in the order of the flow: a room imports only from rooms before it (or itself).
ROOMS = [
    "core",
    "human",
    "models",
    "study_a",
    "study_b",
    "relative_importance",
    "release",
    "figures",
]
PACKAGE_IMPORT = re.compile(r"^\s*(?:from|import) readalike\.(\w+)", re.M)


def _room_edges() -> set[tuple[str, str, str]]:
    """(room, imported room, file) for every import of the package by one of its modules."""
    edges = set()
    for path in PACKAGE.rglob("*.py"):
        room = path.relative_to(PACKAGE).parts[0]
        for target in PACKAGE_IMPORT.findall(path.read_text(encoding="utf-8")):
            edges.add((room, target, str(path.relative_to(PACKAGE))))
    return edges


def test_every_module_lives_in_a_room():
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert not loose, f"modules outside a room: {loose}"
    rooms = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert rooms == sorted(ROOMS)
    for room in ROOMS:
        assert (PACKAGE / room / "__init__.py").read_text() == "", room


def test_rooms_import_only_earlier_rooms():
    """No upward import and so no cycle between rooms (modules never import their own room's
    package ``__init__``, which is empty)."""
    order = {room: i for i, room in enumerate(ROOMS)}
    upward = sorted(
        f"{file} imports readalike.{target}"
        for room, target, file in _room_edges()
        if order[target] > order[room]
    )
    assert not upward, upward


def test_module_imports_have_no_cycle():
    """Within and across rooms, the module import graph is acyclic (imports inside functions
    included)."""
    module_import = re.compile(
        r"^\s*from (readalike(?:\.\w+)+) import ([\w, ]+)|^\s*import (readalike(?:\.\w+)+)", re.M
    )
    modules = {
        ".".join(("readalike", *p.relative_to(PACKAGE).with_suffix("").parts)): p
        for p in PACKAGE.rglob("*.py")
        if p.name != "__init__.py"
    }
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for frm, names, plain in module_import.findall(path.read_text(encoding="utf-8")):
            if plain:
                graph[name].add(plain)
            elif frm in modules:
                graph[name].add(frm)
            else:  # `from readalike.room import module`
                graph[name] |= {f"{frm}.{n.strip().split(' ')[0]}" for n in names.split(",")}
    graph = {m: {d for d in deps if d in modules and d != m} for m, deps in graph.items()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in graph[node]:
            if state.get(dep) == 1:
                raise AssertionError(" -> ".join([*trail, node, dep]))
            if dep not in state:
                visit(dep, [*trail, node])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])


def test_room_check_can_fail(tmp_path, monkeypatch):
    """The upward-import check flags a core module that imports a study."""
    fake = tmp_path / "readalike"
    (fake / "core").mkdir(parents=True)
    (fake / "study_a").mkdir()
    (fake / "core" / "x.py").write_text("from readalike.study_a import tables\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    with pytest.raises(AssertionError, match="core/x.py imports readalike.study_a"):
        test_rooms_import_only_earlier_rooms()
