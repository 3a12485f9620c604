# Models -> word-level attention, one HDF5 file per model and prompt condition
# (formats.ATTENTION_FORMAT). One extraction job per model: loading a 65B checkpoint costs
# far more than its forward passes over 148 sentences, so every condition is extracted in
# the same job.

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
        "dtype": model.get("dtype", "float32"),
        "device": model.get("device", "cpu"),
    }


rule zoo_tokenizer:
    input:
        config.get("zoo", {}).get("training_text", []),
    output:
        directory(f"{OUT}/zoo/tokenizer"),
    log:
        f"{LOGS}/zoo_tokenizer.log",
    params:
        zoo=config.get("zoo"),
    conda:
        CPU_ENV
    script:
        "../../scripts/zoo_tokenizer.py"


rule zoo_model:
    input:
        tokenizer=f"{OUT}/zoo/tokenizer",
        texts=config.get("zoo", {}).get("training_text", []),
    output:
        directory(f"{OUT}/zoo/{{model}}"),
    log:
        f"{LOGS}/zoo_model_{{model}}.log",
    wildcard_constraints:
        model=_names_regex(ZOO_TRAINED),
    params:
        spec=zoo_spec,
        zoo=config.get("zoo"),
    threads: config.get("zoo", {}).get("threads", 1)
    conda:
        CPU_ENV
    script:
        "../../scripts/zoo_model.py"


rule zoo_instruct:
    input:
        base=zoo_base_checkpoint,
        pairs=config.get("zoo", {}).get("instruction_pairs", []),
    output:
        directory(f"{OUT}/zoo/{{model}}"),
    log:
        f"{LOGS}/zoo_instruct_{{model}}.log",
    wildcard_constraints:
        model=_names_regex(ZOO_TUNED),
    params:
        spec=zoo_spec,
        zoo=config.get("zoo"),
    threads: config.get("zoo", {}).get("threads", 1)
    conda:
        CPU_ENV
    script:
        "../../scripts/zoo_instruct.py"


rule extract_attention:
    input:
        checkpoint=model_checkpoint,
        stimuli=config.get("stimuli", []),
    output:
        [f"{OUT}/attention/{{model}}/{c}.h5" for c in CONDITIONS],
    log:
        f"{LOGS}/extract_attention_{{model}}.log",
    wildcard_constraints:
        model=_names_regex(EXTRACTED_MODELS),
    params:
        model=extraction_params,
        conditions=CONDITIONS,
        batch_size=config["extraction"]["batch_size"],
    threads: config["extraction"].get("threads", 1)
    resources:
        gpu=extraction_gpus,
        mem_mb=extraction_mem_mb,
        runtime=extraction_runtime,
    conda:
        GPU_ENV
    script:
        "../../scripts/extract_attention.py"
