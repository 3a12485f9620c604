import os
import re
import sys

# Rules run scripts in fresh interpreters (and, with --use-conda, in other environments):
# put the package on their path so they import the same code as this Snakefile.
_PACKAGE_DIR = os.path.join(workflow.basedir, "workflow")
sys.path.insert(0, _PACKAGE_DIR)
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (_PACKAGE_DIR, os.environ.get("PYTHONPATH")) if p
)

from readalike.config import (
    check_config,
    extraction_resources,
    is_synthetic,
    model_source,
)

# One line naming the key, before any job runs.
config = check_config(config)

RUN = config["run"]
OUT = f"results/{RUN}"
LOGS = f"logs/{RUN}"
SYNTHETIC = is_synthetic(config)
MODELS = {m["name"]: m for m in config["models"]}
GROUPS = list(config["reading"]["groups"])
MEASURES = config["measures"]
CONDITIONS = config["conditions"]
CPU_ENV = "../../envs/cpu.yaml"
GPU_ENV = "../../envs/gpu.yaml"


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
    """The checkpoint folder an extraction job loads: built by the zoo rules, or none."""
    model = MODELS[wildcards.model]
    if model_source(model) == "zoo":
        return f"{OUT}/zoo/{wildcards.model}"
    return []


def model_location(name):
    model = MODELS[name]
    source = model_source(model)
    if source == "zoo":
        return f"{OUT}/zoo/{name}"
    return model[source]


def extraction_gpus(wildcards):
    return extraction_resources(MODELS[wildcards.model])["gpus"]


def extraction_mem_mb(wildcards):
    return extraction_resources(MODELS[wildcards.model])["mem_mb"]


def extraction_runtime(wildcards):
    return extraction_resources(MODELS[wildcards.model])["runtime"]


def model_attention_files(wildcards):
    return {c: attention_file(wildcards.model, c) for c in model_conditions(wildcards.model)}


def plain_attention(wildcards):
    return attention_file(wildcards.model, "plain")


def comparison_triples():
    return [
        (kind, a, b) for kind, pairs in config["comparisons"].items() for a, b in pairs
    ]


def divergence_inputs(wildcards):
    models = sorted({m for _, a, b in comparison_triples() for m in (a, b)})
    return [attention_file(m, c) for m in models for c in model_conditions(m)]


def per_model_tables(wildcards):
    return expand(f"{OUT}/tables/{wildcards.table}/{{model}}.tsv", model=MODELS)


def study_a_tables():
    tables = ["human_resemblance", "replication_summary", "trivial_reliance", "controls"]
    if any(len(model_conditions(m)) > 1 for m in MODELS):
        tables.append("instruction_sensitivity")
    if comparison_triples():
        tables.append("divergence")
    if USES_RELEASE:
        tables.append("release_checks")
    return tables


FIGURES = {
    "human_resemblance": "resemblance_by_layer",
    "trivial_reliance": "trivial_reliance_by_layer",
    "instruction_sensitivity": "instruction_sensitivity_by_layer",
    "divergence": "divergence_by_part",
    "replication_summary": "replication_by_group",
}
USES_RELEASE = config["reading"]["source"] == "release" or bool(RELEASE_MODELS)


def all_targets():
    tables = study_a_tables()
    targets = [f"{OUT}/{t}.tsv" for t in tables]
    targets += [
        f"{OUT}/figures/{FIGURES[t]}.{ext}" for t in tables if t in FIGURES for ext in ("png", "pdf")
    ]
    return targets
