import os
import re
import sys

from snakemake.logging import logger

# The Snakefile imports the package from the checkout (workflow/readalike); the scripts that
# rules run (in fresh interpreters, with --sdm conda in other environments) find it through
# the symlink workflow/scripts/readalike, since Snakemake puts a script's folder on sys.path.
sys.path.insert(0, workflow.basedir)

from readalike.release import study_a as _release
from readalike.release import fmri as _release_fmri
from readalike.release import study_b as _release_b
from readalike.core.checksums import read_manifest
from readalike.core.outputs import MODIFIED
from readalike.models import gguf as _gguf
from readalike.core.config import (
    ConfigError,
    check_config,
    check_config_file,
    analysis_resources,
    extraction_resources,
    gradient_resources,
    is_synthetic,
    model_source,
    study_b_synthetic,
)

# One line naming the key, before any job runs. It leaves by SystemExit, which Snakemake
# does not catch, so that the line is the last on the console: an exception would be
# printed with traceback lines after it. The files Snakemake loaded are read once more
# for what its YAML loader accepts silently (duplicate keys, aliases).
try:
    for configfile_path in workflow.configfiles:
        check_config_file(configfile_path)
    config = check_config(config)
except ConfigError as err:
    sys.exit(str(err))

RUN = config["run"]
OUT = f"results/{RUN}"
LOGS = f"logs/{RUN}"
SYNTHETIC = is_synthetic(config)
MODELS = {m["name"]: m for m in config["models"]}

# GGUF checkpoints (readalike.models.gguf): where each file is, or will be once assembled
# under results/<run>/models/<model>/. A package that is not installed, or a file that
# does not exist, is one line naming the key and what to install, before any job runs.
try:
    GGUF_FILES = {
        name: str(
            _gguf.check_entry(
                model["gguf"], f"{OUT}/models/{name}", f"config.models[{i}].gguf"
            )
        )
        for i, (name, model) in enumerate(MODELS.items())
        if "gguf" in model
    }
except ValueError as err:
    sys.exit(str(err))
ASSEMBLED_GGUF = [n for n in GGUF_FILES if MODELS[n]["gguf"]["assemble"]]
# the models table describes weights only: SYNTHETIC where a model is a toy
MODELS_SYNTHETIC = any("zoo" in m or m["synthetic"] for m in MODELS.values())
GROUPS = list(config["reading"]["groups"])
MEASURES = config["measures"]
CONDITIONS = config["conditions"]
# Analysis, figure and release rules need no torch (analysis.yaml); rules that load a model
# (zoo training, extraction, Study B gradients, feed-forward weights, tokenizers) use torch.yaml.
# torch.yaml takes torch from PyPI, which runs on a CPU and on CUDA alike.
ANALYSIS_ENV = "../envs/analysis.yaml"
TORCH_ENV = "../envs/torch.yaml"


def _names_regex(names):
    # a regex that matches none of the possible names when the list is empty
    return "|".join(map(re.escape, names)) if names else "(?!x)x"


ZOO_MODELS = [n for n, m in MODELS.items() if model_source(m) == "zoo"]
RELEASE_MODELS = [n for n, m in MODELS.items() if model_source(m) == "release"]
EXTRACTED_MODELS = [n for n in MODELS if n not in RELEASE_MODELS]


wildcard_constraints:
    model=_names_regex(MODELS),
    group=_names_regex(GROUPS),
    condition=_names_regex(CONDITIONS),


def model_conditions(name):
    """Prompt conditions a model has attention for (released models may lack some)."""
    model = MODELS[name]
    if model_source(model) == "release":
        return [c for c in CONDITIONS if c in model["release"]["conditions"]]
    return list(CONDITIONS)


def attention_file(model, condition):
    return f"{OUT}/attention/{model}/{condition}.h5"


def human_files():
    return {g: f"{OUT}/human/{g}.h5" for g in GROUPS}


def model_checkpoint(wildcards):
    """What a model job needs first: the zoo's checkpoint folder, or a GGUF file's checked
    facts (its verify_gguf job, which also makes an assembled file first); none for a hub id
    or a path."""
    return zoo_checkpoint(wildcards.model) + gguf_facts_file(wildcards.model)


def gguf_facts_file(name):
    return [f"{OUT}/models/{name}/{_gguf.FACTS_FILE}"] if name in GGUF_FILES else []


def gguf_spec(wildcards):
    return MODELS[wildcards.model]["gguf"]


def gguf_input(wildcards):
    return GGUF_FILES[wildcards.model]


def zoo_checkpoint(name):
    return [f"{OUT}/zoo/{name}"] if model_source(MODELS[name]) == "zoo" else []


def model_location(name):
    """What every loader of a model job takes: a folder, a hub id or a .gguf file."""
    model = MODELS[name]
    source = model_source(model)
    if source == "zoo":
        return f"{OUT}/zoo/{name}"
    if source == "gguf":
        return GGUF_FILES[name]
    return model[source]


# Job sizes from the model's size (readalike.core.config); resources.force_gpu asks a GPU even
# for tiny models, so that a small run exercises a scheduler's GPU request.
FORCE_GPU = config["resources"]["force_gpu"]


def extraction_gpus(wildcards):
    return extraction_resources(MODELS[wildcards.model], force_gpu=FORCE_GPU)["gpus"]


def extraction_mem_mb(wildcards):
    return extraction_resources(MODELS[wildcards.model])["mem_mb"]


def extraction_runtime(wildcards):
    return extraction_resources(MODELS[wildcards.model])["runtime"]


def model_attention_files(wildcards):
    return {
        c: attention_file(wildcards.model, c) for c in model_conditions(wildcards.model)
    }


def plain_attention(wildcards):
    return attention_file(wildcards.model, "plain")


def model_comparisons():
    """(kind, model_a, model_b) of every configured comparison (scaling, tuning,
    across_families): the kind labels the tables' rows."""
    return [
        (kind, a, b)
        for kind, model_pairs in config["comparisons"].items()
        for a, b in model_pairs
    ]


def divergence_inputs(wildcards):
    # asked for by name under a one-model config, the rule would otherwise run on nothing
    if not model_comparisons():
        raise ValueError(
            "divergence.tsv needs two models to compare, but config key 'comparisons' "
            f"pairs none (models: {', '.join(MODELS)}); add a pair under "
            "comparisons.scaling or comparisons.tuning"
        )
    models = sorted({m for _, a, b in model_comparisons() for m in (a, b)})
    return [attention_file(m, c) for m in models for c in model_conditions(m)]


def per_model_tables(wildcards):
    return expand(f"{OUT}/tables/{wildcards.table}/{{model}}.tsv", model=MODELS)


def study_a_tables():
    tables = [
        "human_resemblance",
        "replication_summary",
        "trivial_reliance",
        "controls",
    ]
    if any(len(model_conditions(m)) > 1 for m in MODELS):
        tables.append("instruction_sensitivity")
    if model_comparisons():
        tables.append("divergence")
    if USES_RELEASE:
        tables.append("release_checks")
    return tables


FIGURES = {
    "human_resemblance": "resemblance_by_layer",
    "trivial_reliance": "trivial_reliance_by_layer",
    "instruction_sensitivity": "instruction_sensitivity_by_layer",
    "divergence": "divergence_by_depth_quarter",
    "replication_summary": "replication_by_group",
}
USES_RELEASE = config["reading"]["source"] == "release" or bool(RELEASE_MODELS)


def all_targets():
    return (
        [f"{OUT}/models.tsv"]
        + study_a_targets()
        + reader_targets()
        + study_b_targets()
        # corpora_targets: rules/corpora.smk, included only with a corpora section
        + (corpora_targets() if config.get("corpora") else [])
    )


def study_a_targets():
    tables = study_a_tables()
    targets = [f"{OUT}/{t}.tsv" for t in tables]
    targets += [
        f"{OUT}/figures/{FIGURES[t]}.{ext}"
        for t in tables
        if t in FIGURES
        for ext in ("png", "pdf")
    ]
    return targets


# the released fMRI regions read as per-reader measures (none outside released data)
READING_SOURCE = config["reading"]["source"]
FMRI_REGIONS = (
    list(config["reading"]["fmri"]["regions"])
    if READING_SOURCE == "release" and "fmri" in config["reading"]
    else []
)
