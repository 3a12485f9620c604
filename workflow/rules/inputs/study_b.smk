# Settings and input functions of the Study B rules (study_b.smk).

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
