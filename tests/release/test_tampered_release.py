"""A release file changed after a run: Snakemake end to end on a small copy of real files.

Two real human-data pickles per group, the labels and GPT-2 large's first layer, checked
against the project's pinned manifest, so that the tables say ``real`` until a file is
changed. Each case reproduces one way a changed file got through and checks the one line
the run now ends with and what is left in the results folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from readalike.release import study_a as rel
from tests.workflow.checkout import copy_checkout

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "release" / "scaling_finetuning"

pytestmark = [
    pytest.mark.release,
    pytest.mark.skipif(
        not REAL.is_dir(), reason=f"the shared copy of the release is missing ({REAL})"
    ),
]

L1_NUM = rel.human_relpath("mean_saccade_num", "p1")
L2_NUM = rel.human_relpath("mean_saccade_num", "p2")
TABLE = "results/tamper/human_resemblance.tsv"
CONFIG = {
    "run": "tamper",
    "release_dir": "release",
    "release_manifest": rel.PINNED_MANIFEST,
    "release_download": False,
    "reading": {
        "source": "release",
        "groups": {
            "L1": {"description": "native", "release_suffix": "p1"},
            "L2": {"description": "non-native", "release_suffix": "p2"},
        },
    },
    "measures": ["num", "dur"],
    "conditions": {"plain": ""},
    "models": [
        {
            "name": "gpt2-large",
            "family": "gpt2",
            "params_b": 0.774,
            "instruction_tuned": False,
            "release": {
                "dir": rel.GPT2_LARGE_DIR,
                "conditions": {"plain": "rb_p1"},
                "layers": 1,
            },
        }
    ],
    "analysis": {"shuffle_seed": 0, "shuffled_heldout_max": 0.01},
}


def _run(workdir: Path, *targets: str, config: str = "config/tamper.yaml", extra=()):
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", config, *extra]
        + ["--", *targets],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def workdir(tmp_path) -> Path:
    """A checkout with a small copy of the release and a run that made its table."""
    copy_checkout(tmp_path)
    files = [
        rel.human_relpath(f"mean_saccade_{m}", g) for g in ("p1", "p2") for m in ("num", "dur")
    ]
    files += [rel.label_relpath(p) for p in rel.TRIVIAL_PATTERNS]
    files.append(rel.attention_relpath(rel.GPT2_LARGE_DIR, "rb_p1", 0))
    for rel_path in files:
        (tmp_path / "release" / rel_path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REAL / rel_path, tmp_path / "release" / rel_path)
    (tmp_path / "config" / "tamper.yaml").write_text(yaml.safe_dump(CONFIG))
    code, console = _run(tmp_path, TABLE)
    assert code == 0, console[-3000:]
    assert set(pd.read_csv(tmp_path / TABLE, sep="\t")["provenance"]) == {"real"}
    return tmp_path


def _replace_l1_by_l2(workdir: Path, keep_mtime: bool) -> None:
    """L1's group means replaced by L2's file, as in the report."""
    path = workdir / "release" / L1_NUM
    before = path.stat()
    path.write_bytes((workdir / "release" / L2_NUM).read_bytes())
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _last_line(console: str, fragment: str) -> str:
    return next(line for line in reversed(console.splitlines()) if fragment in line)


def _derived_gone(workdir: Path) -> None:
    """No output that rests on L1's file is left (L2's own conversion, running beside the
    refused one, may finish after the removal: its files verify)."""
    run = workdir / "results" / "tamper"
    for path in ("human/L1.h5", "human_resemblance.tsv", "release/verified.tsv"):
        assert not (run / path).exists(), path
    assert not list(run.rglob("*.tsv")), sorted(run.rglob("*.tsv"))


def test_a_pickle_replaced_with_its_mtime_kept_is_refused_by_the_job_that_reads_it(workdir):
    _replace_l1_by_l2(workdir, keep_mtime=True)
    code, console = _run(workdir, TABLE, extra=["--forcerun", "release_saccades"])
    assert code != 0
    found = hashlib.sha256((workdir / "release" / L2_NUM).read_bytes()).hexdigest()
    line = _last_line(console, "differs from the manifest's")
    assert line.startswith(f"release/{L1_NUM}: SHA-256 {found} differs from the manifest's ")
    assert line.endswith("(hashed as this job read it); the file is corrupted or altered")
    _derived_gone(workdir)


def test_a_pickle_replaced_with_a_new_mtime_leaves_no_table_of_the_old_file(workdir):
    _replace_l1_by_l2(workdir, keep_mtime=False)
    code, console = _run(workdir, TABLE)
    assert code != 0
    line = _last_line(console, "release check failed")
    assert line.startswith("release check failed in release (1 of ")
    assert f"release/{L1_NUM}: SHA-256 " in line
    _derived_gone(workdir)


def test_an_edited_manifest_is_refused_unless_the_copy_is_declared_modified(workdir):
    _replace_l1_by_l2(workdir, keep_mtime=False)
    lines = (workdir / rel.PINNED_MANIFEST).read_text().splitlines()
    found = hashlib.sha256((workdir / "release" / L1_NUM).read_bytes()).hexdigest()
    edited = [f"{found}  {L1_NUM}" if line.endswith(f"  {L1_NUM}") else line for line in lines]
    (workdir / "config" / "EDITED").write_text("\n".join(edited) + "\n")
    config = {**CONFIG, "release_manifest": "config/EDITED"}
    (workdir / "config" / "edited.yaml").write_text(yaml.safe_dump(config))
    code, console = _run(workdir, TABLE, config="config/edited.yaml")
    assert code != 0
    line = _last_line(console, "differ from the pinned manifest")
    assert line == (
        f"config/EDITED: 1 of 8 files differ from the pinned manifest "
        f"{workdir / rel.PINNED_MANIFEST}, first {L1_NUM} ({found[:12]}..., pinned: "
        f"{hashlib.sha256((REAL / L1_NUM).read_bytes()).hexdigest()[:12]}...); a modified copy "
        "of the release runs only with release_modified: true (its tables then say "
        "provenance 'modified')"
    )
    assert "rule " not in console  # refused before any job
    # declared modified, it runs, and every table says so
    (workdir / "config" / "edited.yaml").write_text(
        yaml.safe_dump({**config, "release_modified": True})
    )
    code, console = _run(workdir, TABLE, config="config/edited.yaml")
    assert code == 0, console[-3000:]
    run = workdir / "results" / "tamper"
    for path in (TABLE, "results/tamper/release/verified.tsv"):
        assert set(pd.read_csv(workdir / path, sep="\t")["provenance"]) == {"modified"}, path
    assert (run / "human" / "L1.h5").is_file()
