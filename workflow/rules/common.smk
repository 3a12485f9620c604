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


# --- human reading data (human.smk) ---


def release_suffix(wildcards):
    return config["reading"]["groups"][wildcards.group]["release_suffix"]


def fixations_file(wildcards):
    if config["reading"]["source"] == "simulated":
        return f"{OUT}/human/fixations.csv"
    return config["reading"]["fixations"]


def release_human_inputs(wildcards):
    suffix = release_suffix(wildcards)
    return {
        **release_manifests(),
        "verified": f"{OUT}/release/verified.tsv",
        "pickles": [
            f"{RELEASE_DIR}/{_release.human_relpath(f'mean_saccade_{m}', suffix)}"
            for m in MEASURES
        ],
    }


# --- models and extraction (models.smk) ---

ZOO_TRAINED = [n for n in ZOO_MODELS if "tune_from" not in MODELS[n]["zoo"]]


ZOO_TUNED = [n for n in ZOO_MODELS if "tune_from" in MODELS[n]["zoo"]]


def zoo_base_checkpoint(wildcards):
    return f"{OUT}/zoo/{MODELS[wildcards.model]['zoo']['tune_from']}"


def zoo_spec(wildcards):
    return MODELS[wildcards.model]["zoo"]


def extraction_params(wildcards):
    model = MODELS[wildcards.model]
    return {
        "location": model_location(wildcards.model),
        "dtype": model["dtype"],
        "device": model["device"],
        "bos": model["bos"],
    }


# --- figures (figures.smk) ---

TABLE_OF_FIGURE = {figure: table for table, figure in FIGURES.items()}


def figure_table(wildcards):
    return f"{OUT}/{TABLE_OF_FIGURE[wildcards.figure]}.tsv"


# --- released data (release.smk) ---

RELEASE_DIR = config.get("release_dir")
RELEASE_MANIFEST = read_manifest(config["release_manifest"]) if USES_RELEASE else {}
# The manifest of the pinned release shipped with the project: the authority on its files.
PINNED_RELEASE_MANIFEST = os.path.join(
    os.path.dirname(workflow.basedir), _release.PINNED_MANIFEST
)
RELEASE_MODIFIED = bool(config.get("release_modified", False))
if USES_RELEASE and RELEASE_MODIFIED:
    # every table of a run on a modified copy of the release says so
    SYNTHETIC = SYNTHETIC or MODIFIED


def release_manifests():
    """Inputs of every job that reads release files: it checks their bytes itself."""
    return {"manifest": config["release_manifest"], "pinned": PINNED_RELEASE_MANIFEST}


def release_check_params():
    """What a job needs to check release files: the run's files and whether a modified copy
    is allowed (readalike.release.study_a.release_hashes)."""
    return {"relpaths": release_relpaths(), "modified": RELEASE_MODIFIED}


def check_release_manifest():
    """One line, before any job, where the configured manifest differs from the pinned one
    and the config does not say the copy is modified."""
    try:
        _release.release_hashes(
            config["release_manifest"],
            PINNED_RELEASE_MANIFEST,
            release_relpaths(),
            RELEASE_MODIFIED,
        )
    except ValueError as err:
        sys.exit(str(err))


def release_derived_outputs():
    """Every output of this run that rests on the release's Study A files: a job that finds
    one of those files changed removes them all, so that no table of the old file stays.
    """
    attention = [
        attention_file(m, c) for m in RELEASE_MODELS for c in model_conditions(m)
    ]
    attention += [reader_attention_file(m) for m in RELEASE_MODELS if FMRI_REGIONS]
    human = list(human_files().values()) + list(reader_human_files().values())
    tables = [f"{OUT}/release", f"{OUT}/tables"]
    return sorted(
        set(attention + human + tables + study_a_targets() + reader_targets())
    )


def release_layers(name):
    """Layers of a released model: the same in every condition, the copy and the manifest."""
    spec = MODELS[name]["release"]
    return _release.check_release_layers(
        None if config["release_download"] else RELEASE_DIR,
        RELEASE_MANIFEST,
        spec["dir"],
        spec["conditions"],
        model=name,
        n_layers=spec.get("layers"),
    )


def release_model_files(name, condition):
    spec = MODELS[name]["release"]
    prefix = spec["conditions"][condition]
    return [
        _release.attention_relpath(spec["dir"], prefix, layer)
        for layer in range(release_layers(name))
    ]


def release_relpaths():
    """Every release file this run reads, relative to release_dir."""
    paths = [_release.label_relpath(p) for p in _release.TRIVIAL_PATTERNS]
    if config["reading"]["source"] == "release":
        paths += [
            _release.human_relpath(f"mean_saccade_{m}", spec["release_suffix"])
            for spec in config["reading"]["groups"].values()
            for m in MEASURES
        ]
        paths += [
            _release_fmri.fmri_relpath(spec["release_suffix"], region)
            for spec in config["reading"]["groups"].values()
            for region in FMRI_REGIONS
        ]
    for name in RELEASE_MODELS:
        for condition in model_conditions(name):
            paths += release_model_files(name, condition)
    return sorted(set(paths))


def release_attention_inputs(wildcards):
    return {
        **release_manifests(),
        "verified": f"{OUT}/release/verified.tsv",
        "human": human_files()[GROUPS[0]],
        "layers": [
            f"{RELEASE_DIR}/{p}"
            for p in release_model_files(wildcards.model, wildcards.condition)
        ],
    }


def release_attention_params(wildcards):
    spec = MODELS[wildcards.model]["release"]
    return {"dir": spec["dir"], "prefix": spec["conditions"][wildcards.condition]}


def release_plain_params(wildcards):
    spec = MODELS[wildcards.model]["release"]
    return {"dir": spec["dir"], "prefix": spec["conditions"]["plain"]}


def release_check_tables(wildcards):
    """Checks of every converted release file: attention, and the fMRI of each group."""
    tables = [
        f"{OUT}/release/checks_{m}_{c}.tsv"
        for m in RELEASE_MODELS
        for c in model_conditions(m)
    ]
    if FMRI_REGIONS:
        tables += [f"{OUT}/release/checks_fmri_{g}.tsv" for g in GROUPS]
        tables += [
            f"{OUT}/release/checks_fmri_attention_{m}.tsv" for m in RELEASE_MODELS
        ]
    return tables


def reader_attention_file(model):
    """The attention the per-reader analyses read: for a released model with fMRI, the
    plain attention at the fMRI files' sentence lengths (release_attention_fmri)."""
    if FMRI_REGIONS and model in RELEASE_MODELS:
        return f"{OUT}/attention_fmri/{model}.h5"
    return plain_attention_of(model)


def reader_attention(wildcards):
    return reader_attention_file(wildcards.model)


def release_attention_fmri_inputs(wildcards):
    return {
        **release_manifests(),
        "verified": f"{OUT}/release/verified.tsv",
        "human": human_files()[GROUPS[0]],
        "fmri": list(reader_human_files().values()),
        "layers": [
            f"{RELEASE_DIR}/{p}" for p in release_model_files(wildcards.model, "plain")
        ],
    }


# --- Study B (study_b.smk) ---

STUDY_B = config.get("study_b") or {}
STUDY_B_PAIRS = [tuple(p) for p in STUDY_B.get("pairs", [])]
# the models of the pairs and those run on their own (study_b.models)
STUDY_B_MODELS = sorted(
    {m for pair in STUDY_B_PAIRS for m in pair} | set(STUDY_B.get("models", []))
)
# Study B reads no human data: its tables are SYNTHETIC only where one of its models is
STUDY_B_SYNTHETIC = study_b_synthetic(config)
# the authors' archive: scored as released (release_tar), or the source of the prompts and
# the vocabulary that the models answer and are read with (prompts_tar)
RELEASE_B_TAR = STUDY_B.get("release_tar") or STUDY_B.get("prompts_tar")
RELEASE_B_UNPACKED = f"{OUT}/release_b/unpacked"
RELEASE_B_DIR = f"{RELEASE_B_UNPACKED}/{_release_b.RELEASE_ROOT}"
STUDY_B_PROMPTS = STUDY_B.get("prompts") or f"{RELEASE_B_DIR}/{_release_b.PROMPTS_FILE}"
STUDY_B_VOCABULARY = STUDY_B.get("vocabulary") or (
    f"{RELEASE_B_DIR}/{_release_b.VOCABULARY_FILE}" if "prompts_tar" in STUDY_B else ""
)
if STUDY_B_MODELS and not STUDY_B_PAIRS and not STUDY_B.get("release_tar"):
    logger.info(
        "Study B: no base and tuned pair in study_b.pairs, so instruction_focus, "
        "concept_shift, subspace_similarity, verb_relations and the attribution heat map, "
        "which compare a tuned model with its base, are not made; the tables of each model "
        f"({', '.join(STUDY_B_MODELS)}) are"
    )
STUDY_B_FIGURES = {
    "attribution_scores": "instruction_scores_by_source",
    "concept_shift": "concept_shares_by_layer_group",
    "verb_relations": "verb_relations_by_quarter",
}


def study_b_targets():
    if STUDY_B.get("release_tar"):
        tables = ["attribution_scores", "instruction_focus", "instruction_following"]
        figures = ["instruction_scores_by_source"]
    elif STUDY_B_PAIRS:
        tables = [
            "attribution_scores",
            "attribution_faults",
            "instruction_scores",
            "instruction_focus",
            "ffn_concepts",
            "head_pairs",
            "concept_shift",
            "subspace_similarity",
            "verb_relations",
        ]
        figures = list(STUDY_B_FIGURES.values()) + ["attribution_heatmap"]
    elif STUDY_B_MODELS:
        tables = [
            "attribution_scores",
            "attribution_faults",
            "instruction_scores",
            "ffn_concepts",
            "head_pairs",
        ]
        figures = ["instruction_scores_by_source"]
    else:
        return []
    return [f"{OUT}/{t}.tsv" for t in tables] + [
        f"{OUT}/figures/{f}.{ext}" for f in figures for ext in ("png", "pdf")
    ]


def gradient_gpus(wildcards):
    return gradient_resources(MODELS[wildcards.model], force_gpu=FORCE_GPU)["gpus"]


def gradient_mem_mb(wildcards):
    return gradient_resources(MODELS[wildcards.model])["mem_mb"]


def gradient_runtime(wildcards):
    return gradient_resources(MODELS[wildcards.model])["runtime"]


def analysis_mem_mb(wildcards):
    return analysis_resources(MODELS[wildcards.model])["mem_mb"]


def analysis_runtime(wildcards):
    return analysis_resources(MODELS[wildcards.model])["runtime"]


def study_b_model_params(wildcards):
    model = MODELS[wildcards.model]
    return {
        "location": model_location(wildcards.model),
        "dtype": "float32",
        "device": model["device"],
        "bos": model["bos"],
        "chat_template": model["chat_template"],
    }


def study_b_prompts_input(wildcards):
    """The prompts file, or the unpacked archive that holds them (prompts_tar)."""
    return STUDY_B["prompts"] if "prompts" in STUDY_B else RELEASE_B_UNPACKED


def study_b_vocabulary_inputs(wildcards):
    """A vocabulary file, or the words of the run's own text (the default)."""
    if "vocabulary" in STUDY_B:
        return [STUDY_B["vocabulary"]]
    if "prompts_tar" in STUDY_B:
        return [RELEASE_B_UNPACKED]
    # the words of the run's own text: stimuli, prompts (they hold the instruction verbs)
    # and, for the demo zoo, its training text and instructions
    texts = [config["stimuli"], STUDY_B["prompts"]]
    if "zoo" in config:
        texts += [*config["zoo"]["training_text"], config["zoo"]["instruction_pairs"]]
    return list(dict.fromkeys(texts))


def study_b_pair_files(kind, ext):
    def inputs(wildcards):
        return [f"{OUT}/study_b/{kind}/{m}.{ext}" for m in STUDY_B_MODELS]

    return inputs


def attribution_pair_files(wildcards):
    base, tuned = STUDY_B_PAIRS[0]
    return {
        "base": f"{OUT}/study_b/attribution/{base}.h5",
        "tuned": f"{OUT}/study_b/attribution/{tuned}.h5",
    }


def study_b_checkpoints(wildcards):
    return [c for m in STUDY_B_MODELS for c in zoo_checkpoint(m) + gguf_facts_file(m)]


def tokenizers_checked(wildcards):
    # base and tuned share one tokenizer (check_tokenizers); a model run alone has no pair
    return [f"{OUT}/study_b/tokenizers_checked.tsv"] if STUDY_B_PAIRS else []


def attribution_score_tables(wildcards):
    return [f"{OUT}/tables/attribution_scores/{m}.tsv" for m in STUDY_B_MODELS]


def attribution_fault_tables(wildcards):
    return [f"{OUT}/tables/attribution_faults/{m}.tsv" for m in STUDY_B_MODELS]


def study_b_figure_table(wildcards):
    table = {f: t for t, f in STUDY_B_FIGURES.items()}[wildcards.figure]
    return f"{OUT}/{table}.tsv"


# the released Study B models, converted into the attribution format (study_b.smk)
RELEASE_B_MODELS = list(_release_b.MODEL_PAIR)


def release_b_attribution_files():
    return [f"{OUT}/release_b/attribution/{m}.h5" for m in RELEASE_B_MODELS]


# --- readers (readers.smk) ---

READING_SOURCE = config["reading"]["source"]
FMRI_REGIONS = (
    list(config["reading"]["fmri"]["regions"])
    if READING_SOURCE == "release" and "fmri" in config["reading"]
    else []
)
# measures with per-reader matrices: fixation measures, or (released data) the fMRI regions
READER_MEASURES = (
    [_release_fmri.fmri_measure(r) for r in FMRI_REGIONS]
    if READING_SOURCE == "release"
    else list(MEASURES)
)
COMPARED_MODELS = sorted({m for _, a, b in model_comparisons() for m in (a, b)})


def reader_human_files():
    """Per group, the human file that holds per-reader matrices (none: no reader analyses)."""
    if READING_SOURCE != "release":
        return human_files()
    return {g: f"{OUT}/human/{g}_fmri.h5" for g in GROUPS} if FMRI_REGIONS else {}


def release_fmri_pickles(wildcards):
    suffix = release_suffix(wildcards)
    return [
        f"{RELEASE_DIR}/{_release_fmri.fmri_relpath(suffix, r)}" for r in FMRI_REGIONS
    ]


def plain_attention_of(model):
    return attention_file(model, "plain")


def reader_tables():
    tables = ["resemblance_ci"]
    if READER_MEASURES and reader_human_files():
        tables += ["reader_resemblance", "resemblance_tests", "noise_ceiling"]
        if COMPARED_MODELS:
            tables.append("model_comparisons")
    return tables


def reader_figures():
    tables = reader_tables()
    figures = ["resemblance_ci_by_layer"]
    if "reader_resemblance" in tables and len(GROUPS) > 1:
        figures.append("reader_resemblance_l2_vs_l1")
    if FMRI_REGIONS:
        figures.append("brain_resemblance_by_layer")
    return figures


READER_FIGURE_NAMES = ["resemblance_ci_by_layer", "reader_resemblance_l2_vs_l1"] + (
    ["brain_resemblance_by_layer"] if FMRI_REGIONS else []
)


def reader_targets():
    targets = [f"{OUT}/{t}.tsv" for t in reader_tables()]
    return targets + [
        f"{OUT}/figures/{f}.{ext}" for f in reader_figures() for ext in ("png", "pdf")
    ]


def reader_figure_tables(wildcards):
    """The tables of one reader figure that this run makes (a run without per-reader data
    has no noise ceilings: the figure then draws no ceiling)."""
    # imported here, not with the module: matplotlib costs every parse of the workflow
    # (and every cluster job) half a second, and only the DAG of a reader figure needs it
    from readalike.figures.readers import READER_FIGURES

    made = reader_tables()
    return {
        t: f"{OUT}/{t}.tsv" for t in READER_FIGURES[wildcards.figure][1] if t in made
    }


def reader_figure_options(wildcards):
    """Keyword arguments of a reader figure: each model's full depth for the brain figure."""
    if wildcards.figure != "brain_resemblance_by_layer":
        return {}
    return {
        "n_layers": {
            name: int(model["n_layers"])
            for name, model in MODELS.items()
            if "n_layers" in model
        }
    }
