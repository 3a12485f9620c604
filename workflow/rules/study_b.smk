# Study B (arXiv 2310.00492): base vs instruction-tuned models. GPU rules generate and take
# gradients (one model load per model, all prompts); CPU rules analyse. With `release_tar`
# the authors' released attribution matrices are unpacked (verified against
# `release_manifest`), converted once into the project's attribution format and scored by
# the same functions instead; with `prompts_tar` the same archive gives the prompts and the
# vocabulary that the models are run with. Models of `study_b.models` get every table of one
# model; the tables that compare a tuned model with its base need `pairs`.


if STUDY_B_PAIRS:

    rule check_tokenizers:
        input:
            study_b_checkpoints,
        output:
            f"{OUT}/study_b/tokenizers_checked.tsv",
        log:
            f"{LOGS}/check_tokenizers.log",
        conda:
            TORCH_ENV
        params:
            model_pairs=STUDY_B_PAIRS,
            locations={m: model_location(m) for m in STUDY_B_MODELS},
        script:
            "../scripts/check_tokenizers.py"


if STUDY_B_MODELS:

    rule attribution:
        input:
            checkpoint=model_checkpoint,
            prompts=study_b_prompts_input,
            checked=tokenizers_checked,
        output:
            attribution=f"{OUT}/study_b/attribution/{{model}}.h5",
            faults=temp(f"{OUT}/tables/attribution_faults/{{model}}.tsv"),
        log:
            f"{LOGS}/attribution_{{model}}.log",
        # the longest job of a real model's run (a backward pass per response token):
        # started first, it does not run alone at the end
        priority: 10
        conda:
            TORCH_ENV
        threads: config["extraction"].get("threads", 1)
        resources:
            gpu=gradient_gpus,
            mem_mb=gradient_mem_mb,
            runtime=gradient_runtime,
        params:
            model=study_b_model_params,
            prompts=STUDY_B_PROMPTS,
            n_prompts=STUDY_B.get("n_prompts"),
            max_new_tokens=STUDY_B["max_new_tokens"],
            chunk_size=STUDY_B["chunk_size"],
            synthetic=STUDY_B_SYNTHETIC,
        script:
            "../scripts/attribution.py"

    rule attribution_scores:
        input:
            f"{OUT}/study_b/attribution/{{model}}.h5",
        output:
            temp(f"{OUT}/tables/attribution_scores/{{model}}.tsv"),
        log:
            f"{LOGS}/attribution_scores_{{model}}.log",
        conda:
            ANALYSIS_ENV
        params:
            synthetic=STUDY_B_SYNTHETIC,
        script:
            "../scripts/attribution_scores.py"

    rule gather_study_b:
        input:
            attribution_score_tables,
        output:
            report(
                f"{OUT}/attribution_scores.tsv",
                caption="../report/table.rst",
                category="Study B",
                labels={"table": "attribution_scores"},
            ),
        log:
            f"{LOGS}/gather_attribution_scores.log",
        conda:
            ANALYSIS_ENV
        script:
            "../scripts/gather_tables.py"

    # prompts an attribution job skipped (instruction not locatable), all models
    rule gather_attribution_faults:
        input:
            attribution_fault_tables,
        output:
            report(
                f"{OUT}/attribution_faults.tsv",
                caption="../report/table.rst",
                category="Study B",
                labels={"table": "attribution_faults"},
            ),
        log:
            f"{LOGS}/gather_attribution_faults.log",
        conda:
            ANALYSIS_ENV
        script:
            "../scripts/gather_tables.py"

    rule instruction_scores:
        input:
            f"{OUT}/attribution_scores.tsv",
        output:
            report(
                f"{OUT}/instruction_scores.tsv",
                caption="../report/table.rst",
                category="Study B",
                labels={"table": "instruction_scores"},
            ),
        log:
            f"{LOGS}/instruction_scores.log",
        conda:
            ANALYSIS_ENV
        script:
            "../scripts/instruction_scores.py"

    # the feed-forward concepts and head word pairs of every Study B model, one table each
    rule gather_weight_analyses:
        input:
            concepts=study_b_pair_files("ffn", "tsv"),
            head_pairs=study_b_pair_files("head_pairs", "tsv"),
        output:
            concepts=report(
                f"{OUT}/ffn_concepts.tsv",
                caption="../report/table.rst",
                category="Study B",
                labels={"table": "ffn_concepts"},
            ),
            head_pairs=report(
                f"{OUT}/head_pairs.tsv",
                caption="../report/table.rst",
                category="Study B",
                labels={"table": "head_pairs"},
            ),
        log:
            f"{LOGS}/gather_weight_analyses.log",
        conda:
            ANALYSIS_ENV
        script:
            "../scripts/gather_weight_analyses.py"


if STUDY_B_PAIRS:

    rule instruction_focus:
        input:
            f"{OUT}/attribution_scores.tsv",
        output:
            report(
                f"{OUT}/instruction_focus.tsv",
                caption="../report/table.rst",
                category="Study B",
                labels={"table": "instruction_focus"},
            ),
        log:
            f"{LOGS}/instruction_focus.log",
        conda:
            ANALYSIS_ENV
        params:
            model_pairs=STUDY_B_PAIRS,
        script:
            "../scripts/instruction_focus.py"


if STUDY_B_MODELS:

    # One job per model for both weight analyses: the model's start-up (torch, its
    # tokenizer, the vocabulary) is paid once. Attribution stays its own job: on a cluster
    # it holds GPUs, these read weights on a CPU.
    rule weight_analyses:
        input:
            checkpoint=model_checkpoint,
            vocabulary=study_b_vocabulary_inputs,
        output:
            concepts=f"{OUT}/study_b/ffn/{{model}}.tsv",
            components=f"{OUT}/study_b/ffn/{{model}}.h5",
            head_pairs=f"{OUT}/study_b/head_pairs/{{model}}.tsv",
        log:
            f"{LOGS}/weight_analyses_{{model}}.log",
        conda:
            TORCH_ENV
        threads: config["extraction"].get("threads", 1)
        resources:
            mem_mb=analysis_mem_mb,
            runtime=analysis_runtime,
        params:
            model=study_b_model_params,
            study_b=STUDY_B,
            vocabulary=STUDY_B_VOCABULARY,
            synthetic=STUDY_B_SYNTHETIC,
        script:
            "../scripts/weight_analyses.py"


if STUDY_B_PAIRS:

    rule study_b_comparisons:
        input:
            checked=f"{OUT}/study_b/tokenizers_checked.tsv",
            concepts=study_b_pair_files("ffn", "tsv"),
            components=study_b_pair_files("ffn", "h5"),
            head_pairs=study_b_pair_files("head_pairs", "tsv"),
        output:
            shift=report(
                f"{OUT}/concept_shift.tsv",
                caption="../report/table.rst",
                category="Study B",
                labels={"table": "concept_shift"},
            ),
            subspace=report(
                f"{OUT}/subspace_similarity.tsv",
                caption="../report/table.rst",
                category="Study B",
                labels={"table": "subspace_similarity"},
            ),
            verbs=report(
                f"{OUT}/verb_relations.tsv",
                caption="../report/table.rst",
                category="Study B",
                labels={"table": "verb_relations"},
            ),
        log:
            f"{LOGS}/study_b_comparisons.log",
        conda:
            ANALYSIS_ENV
        params:
            model_pairs=STUDY_B_PAIRS,
            models=STUDY_B_MODELS,
            study_b=STUDY_B,
            synthetic=STUDY_B_SYNTHETIC,
        script:
            "../scripts/study_b_comparisons.py"

    rule attribution_heatmap:
        input:
            unpack(attribution_pair_files),
        output:
            png=report(
                f"{OUT}/figures/attribution_heatmap.png",
                caption="../report/attribution_heatmap.rst",
                category="Study B",
            ),
            pdf=f"{OUT}/figures/attribution_heatmap.pdf",
        log:
            f"{LOGS}/attribution_heatmap.log",
        conda:
            ANALYSIS_ENV
        params:
            synthetic=STUDY_B_SYNTHETIC,
        script:
            "../scripts/attribution_heatmap.py"


if RELEASE_B_TAR:

    rule unpack_release_b:
        input:
            tar=RELEASE_B_TAR,
            manifest=STUDY_B["release_manifest"],
        output:
            directory(RELEASE_B_UNPACKED),
        log:
            f"{LOGS}/unpack_release_b.log",
        conda:
            ANALYSIS_ENV
        script:
            "../scripts/unpack_release_b.py"


if STUDY_B.get("release_tar"):

    rule release_b_attribution:
        input:
            tar=STUDY_B["release_tar"],
            unpacked=f"{OUT}/release_b/unpacked",
        output:
            attribution=release_b_attribution_files(),
            faults=f"{OUT}/release_b_faults.tsv",
        log:
            f"{LOGS}/release_b_attribution.log",
        conda:
            ANALYSIS_ENV
        params:
            models=RELEASE_B_MODELS,
        script:
            "../scripts/release_b_attribution.py"

    rule release_b:
        input:
            tar=STUDY_B["release_tar"],
            unpacked=f"{OUT}/release_b/unpacked",
            attribution=release_b_attribution_files(),
        output:
            scores=report(
                f"{OUT}/attribution_scores.tsv",
                caption="../report/table.rst",
                category="Study B",
                labels={"table": "attribution_scores"},
            ),
            focus=report(
                f"{OUT}/instruction_focus.tsv",
                caption="../report/table.rst",
                category="Study B",
                labels={"table": "instruction_focus"},
            ),
            following=report(
                f"{OUT}/instruction_following.tsv",
                caption="../report/table.rst",
                category="Study B",
                labels={"table": "instruction_following"},
            ),
        log:
            f"{LOGS}/release_b.log",
        conda:
            ANALYSIS_ENV
        params:
            models=RELEASE_B_MODELS,
        script:
            "../scripts/release_b.py"


rule figure_b:
    input:
        table=study_b_figure_table,
    output:
        png=report(
            f"{OUT}/figures/{{figure}}.png",
            caption="../report/figure.rst",
            category="Study B",
            labels={"figure": "{figure}"},
        ),
        pdf=f"{OUT}/figures/{{figure}}.pdf",
    log:
        f"{LOGS}/figure_{{figure}}.log",
    wildcard_constraints:
        figure="|".join(STUDY_B_FIGURES.values()),
    conda:
        ANALYSIS_ENV
    script:
        "../scripts/figure.py"
