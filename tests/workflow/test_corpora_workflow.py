"""End to end: the relative-importance comparison on .test/config/corpora.yaml."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
import yaml

from readalike.core.tables import table_for_path
from tests.workflow.checkout import ROOT, copy_checkout, require_real_models

CORPORA = ROOT.parent / "shared" / "corpora"
CONFIG = ROOT / ".test" / "config" / "corpora.yaml"

pytestmark = pytest.mark.workflow


@pytest.mark.skipif(not CORPORA.is_dir(), reason="../shared/corpora is absent")
def test_corpora_workflow(tmp_path):
    require_real_models()
    copy_checkout(tmp_path)
    config = yaml.safe_load(CONFIG.read_text())
    for entry in config["corpora"]["entries"]:
        for key in ("path", "manifest", "sums", "reader_table"):
            if key in entry:
                entry[key] = str((ROOT / entry[key]).resolve())
    (tmp_path / "corpora.yaml").write_text(yaml.safe_dump(config))
    out = tmp_path / "results" / config["run"]
    targets = [
        f"results/{config['run']}/{t}"
        for t in (
            "relative_importance.tsv",
            "reading_measures.tsv",
            "reading_checks.tsv",
            "figures/relative_importance_by_measure.png",
            "figures/relative_importance_by_layer.png",
        )
    ]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--cores",
            "2",
            *targets,
            "--configfile",
            "corpora.yaml",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for path in sorted(out.rglob("*.tsv")):
        table = table_for_path(path.relative_to(out))
        assert table is not None, f"{path} is in no registered table"
        header = path.read_text().split("\n", 1)[0].split("\t")
        assert tuple(header[:-1]) in table.allowed_headers(), path
    table = pd.read_csv(out / "relative_importance.tsv", sep="\t")
    means = table[(table["statistic"] == "spearman_mean") & (table["group"] == "all")]
    runs = config["corpora"]["models"]
    for model, corpora in runs.items():
        for corpus in corpora:
            found = set(means[(means["model"] == model) & (means["corpus"] == corpus)]["measure"])
            assert {"saliency", "surprisal", "attention_mean", "rollout", "flow"} <= found
    for corpus in {c for cs in runs.values() for c in cs}:
        ref = table[(table["corpus"] == corpus) & (table["group"] == "all")]
        assert {"word_length", "word_rarity"} <= set(ref[ref["model"] == "baseline"]["measure"])
        assert (ref["statistic"] == "noise_ceiling").sum() == 1
        assert (ref["statistic"] == "split_half_ceiling").sum() == 1
        assert set(ref[ref["model"].isin(["baseline", "human"])]["provenance"]) == {"real"}
    assert set(table["provenance"]) == {"real"}  # real corpora, real checkpoints
    assert (table["group"] == "expert vs beginner").any()
