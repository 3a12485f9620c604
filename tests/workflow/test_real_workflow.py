"""End to end: both studies on the two real GGUF checkpoints (.test/config/real.yaml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from readalike.core.tables import table_for_path
from tests.workflow.checkout import ROOT, copy_checkout, require_real_models

CONFIG = ROOT / ".test" / "config" / "real.yaml"

pytestmark = pytest.mark.workflow

# compare a tuned model with its base of the same family: no such pair is installed
PAIR_TABLES = ("instruction_focus", "concept_shift", "subspace_similarity", "verb_relations")


def _read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{name}.tsv", sep="\t")


def test_real_workflow(tmp_path):
    config = yaml.safe_load(CONFIG.read_text())
    tar = (ROOT / config["study_b"]["prompts_tar"]).resolve()
    if not tar.is_file():
        pytest.skip(f"{config['study_b']['prompts_tar']} is absent")
    require_real_models()
    copy_checkout(tmp_path)
    config["study_b"]["prompts_tar"] = str(tar)
    (tmp_path / "real.yaml").write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "real.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "results" / config["run"]
    for path in sorted(out.rglob("*.tsv")):
        relative = path.relative_to(out)
        if relative.parts[:2] == ("release_b", "unpacked"):
            continue  # the released archive's own files: inputs, not outputs
        table = table_for_path(relative)
        assert table is not None, f"{path} is in no registered table"
        header = path.read_text().split("\n", 1)[0].split("\t")
        assert tuple(header[:-1]) in table.allowed_headers(), path

    models = _read(out, "models").set_index("model")
    assert models.loc["smollm2-135m-instruct", "quantization"] == "Q4_1"
    assert models.loc["gemma-3-270m", "quantization"] == "Q4_K_M"
    assert set(models["source"]) == {"gguf"} and set(models["provenance"]) == {"real"}

    # Study A: every layer of both models; the readers are simulated, the models are not
    trivial = _read(out, "trivial_reliance")
    assert trivial.groupby("model")["layer"].nunique().to_dict() == {
        "smollm2-135m-instruct": 30,
        "gemma-3-270m": 18,
    }
    assert set(trivial["provenance"]) == {"real"}
    sensitivity = _read(out, "instruction_sensitivity")
    assert (sensitivity[["js_instruction", "js_control"]] >= 0).all().all()
    divergence = _read(out, "divergence")
    assert set(divergence["comparison"]) == {"across_families"}
    assert set(divergence["depth_quarter"]) == {0, 1, 2, 3}
    assert set(_read(out, "human_resemblance")["provenance"]) == {"SYNTHETIC"}

    # Study B on SmolLM2 alone: 6 real prompts spread over the three sources
    scores = _read(out, "instruction_scores").set_index("source")
    assert scores["n_prompts"].to_dict() == {
        "Self-Instruct": 2,
        "LIMA": 3,
        "MT-Bench": 1,
        "All": 6,
    }
    assert set(scores["provenance"]) == {"real"}
    per_prompt = _read(out, "attribution_scores")
    assert len(per_prompt) == 6 and per_prompt["model"].eq("smollm2-135m-instruct").all()
    concepts = _read(out, "ffn_concepts")
    assert concepts.groupby("layer")["component"].nunique().eq(32).all()
    assert concepts["layer"].nunique() == 30
    assert len(_read(out, "head_pairs")) > 0
    for name in PAIR_TABLES:
        assert not (out / f"{name}.tsv").exists(), name
    # Snakemake's log goes to standard output
    assert "Study B: no base and tuned pair in study_b.pairs" in done.stdout + done.stderr
