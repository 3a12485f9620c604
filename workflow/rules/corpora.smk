# The relative-importance comparison (docs/corpora.md): word-level reading measures of
# eye-tracking corpora against every word-importance measure of the models. One load job
# per corpus; per model and corpus, corpora.shards torch jobs (each loads the model once
# and takes every n-th sentence, so that the cores share a large corpus) joined into one
# file; one analysis job per model and corpus plus one per corpus for the baselines and
# the readers' noise ceiling, gathered into results/<run>/relative_importance.tsv.


include: "inputs/corpora.smk"


if CORPUS_DOWNLOADS:

    # the files of the download: true corpora from the pinned commits, each checked by
    # SHA-256 on arrival (readalike.human.reading_measures.download_corpus)
    rule download_corpus:
        input:
            corpus_download_manifests(),
        output:
            corpus_download_outputs(),
        log:
            f"{LOGS}/download_corpus.log",
        conda:
            ANALYSIS_ENV
        params:
            entries=[CORPUS_ENTRIES[name] for name in CORPUS_DOWNLOADS],
        script:
            "../scripts/download_corpus.py"


rule load_corpus:
    input:
        corpus_source_files,
    output:
        reading=f"{OUT}/reading/{{corpus}}.h5",
        measures=temp(f"{OUT}/reading/measures_{{corpus}}.tsv"),
        checks=temp(f"{OUT}/reading/checks_{{corpus}}.tsv"),
    log:
        f"{LOGS}/load_corpus_{{corpus}}.log",
    conda:
        ANALYSIS_ENV
    params:
        entry=corpus_entry,
        unpack_dir=f"{OUT}/reading/unpacked/{{corpus}}",
        max_sentences=CORPORA["max_sentences"],
        seed=CORPORA["seed"],
    script:
        "../scripts/load_corpus.py"


rule gather_reading_tables:
    input:
        expand(f"{OUT}/reading/{{{{kind}}}}_{{corpus}}.tsv", corpus=CORPUS_ENTRIES),
    output:
        f"{OUT}/reading_{{kind}}.tsv",
    log:
        f"{LOGS}/gather_reading_{{kind}}.log",
    wildcard_constraints:
        kind="measures|checks",
    conda:
        ANALYSIS_ENV
    script:
        "../scripts/gather_reading_tables.py"


rule corpus_word_importance:
    input:
        unpack(corpus_model_inputs),
    output:
        temp(f"{OUT}/importance/{{ri_model}}/{{corpus}}.shard{{shard}}.h5"),
    log:
        f"{LOGS}/word_importance_{{ri_model}}_{{corpus}}_shard{{shard}}.log",
    # wall time and peak resident set of each model job (docs/corpora.md reports them)
    benchmark:
        f"{LOGS}/benchmarks/word_importance_{{ri_model}}_{{corpus}}_shard{{shard}}.tsv"
    wildcard_constraints:
        shard=r"\d+",
    conda:
        TORCH_ENV
    threads: config["extraction"]["threads"]
    resources:
        gpu=corpus_model_gpus,
        mem_mb=corpus_model_mem_mb,
    params:
        model=corpus_model_params,
        batch_size=CORPORA["batch_size"],
        max_tokens=CORPORA["max_tokens"],
        n_shards=lambda wildcards: corpus_shards(wildcards.corpus),
    script:
        "../scripts/corpus_word_importance.py"


rule join_word_importance:
    input:
        corpus_importance_shards,
    output:
        f"{OUT}/importance/{{ri_model}}/{{corpus}}.h5",
    log:
        f"{LOGS}/join_word_importance_{{ri_model}}_{{corpus}}.log",
    conda:
        ANALYSIS_ENV
    script:
        "../scripts/join_word_importance.py"


rule corpus_reference:
    input:
        reading=f"{OUT}/reading/{{corpus}}.h5",
    output:
        temp(f"{OUT}/tables/relative_importance/baseline_{{corpus}}.tsv"),
    log:
        f"{LOGS}/relative_importance_baseline_{{corpus}}.log",
    conda:
        ANALYSIS_ENV
    params:
        settings=CORPORA,
        synthetic=False,
    script:
        "../scripts/relative_importance.py"


rule relative_importance:
    input:
        reading=f"{OUT}/reading/{{corpus}}.h5",
        importance=f"{OUT}/importance/{{ri_model}}/{{corpus}}.h5",
    output:
        temp(f"{OUT}/tables/relative_importance/{{ri_model}}_{{corpus}}.tsv"),
    log:
        f"{LOGS}/relative_importance_{{ri_model}}_{{corpus}}.log",
    conda:
        ANALYSIS_ENV
    params:
        settings=CORPORA,
        group_pairs=corpus_group_pairs,
        synthetic=corpus_model_synthetic,
    script:
        "../scripts/relative_importance.py"


rule gather_relative_importance:
    input:
        relative_importance_parts,
    output:
        report(
            f"{OUT}/relative_importance.tsv",
            caption="../report/table.rst",
            category="Tables",
            labels={"table": "relative_importance"},
        ),
    log:
        f"{LOGS}/gather_relative_importance.log",
    conda:
        ANALYSIS_ENV
    script:
        "../scripts/gather_tables.py"


rule figure_relative_importance:
    input:
        f"{OUT}/relative_importance.tsv",
    output:
        by_measure=multiext(
            f"{OUT}/figures/relative_importance_by_measure", ".png", ".pdf"
        ),
        by_layer=multiext(f"{OUT}/figures/relative_importance_by_layer", ".png", ".pdf"),
    log:
        f"{LOGS}/figure_relative_importance.log",
    conda:
        ANALYSIS_ENV
    script:
        "../scripts/figure_relative_importance.py"
