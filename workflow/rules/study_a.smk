# Study A analyses: one job per model and table (vectorised over all layers), gathered
# into one tidy TSV per table; divergence and controls read several models at once.


rule resemblance:
    input:
        attention=plain_attention,
        human=list(human_files().values()),
    output:
        temp(f"{OUT}/tables/human_resemblance/{{model}}.tsv"),
    log:
        f"{LOGS}/resemblance_{{model}}.log",
    conda:
        ANALYSIS_ENV
    params:
        groups=GROUPS,
        measures=MEASURES,
        layer_block=config["analysis"]["layer_block"],
        synthetic=SYNTHETIC,
    script:
        "../scripts/resemblance.py"


rule trivial_reliance:
    input:
        attention=plain_attention,
    output:
        temp(f"{OUT}/tables/trivial_reliance/{{model}}.tsv"),
    log:
        f"{LOGS}/trivial_reliance_{{model}}.log",
    conda:
        ANALYSIS_ENV
    params:
        layer_block=config["analysis"]["layer_block"],
        # the model's attention alone: SYNTHETIC where a model is, whatever the readers
        synthetic=MODELS_SYNTHETIC,
    script:
        "../scripts/trivial_reliance.py"


rule instruction_sensitivity:
    input:
        unpack(model_attention_files),
    output:
        temp(f"{OUT}/tables/instruction_sensitivity/{{model}}.tsv"),
    log:
        f"{LOGS}/instruction_sensitivity_{{model}}.log",
    conda:
        ANALYSIS_ENV
    params:
        synthetic=MODELS_SYNTHETIC,
    script:
        "../scripts/instruction_sensitivity.py"


rule gather_table:
    input:
        per_model_tables,
    output:
        report(
            f"{OUT}/{{table}}.tsv",
            caption="../report/table.rst",
            category="Tables",
            labels={"table": "{table}"},
        ),
    log:
        f"{LOGS}/gather_{{table}}.log",
    wildcard_constraints:
        table="human_resemblance|trivial_reliance|instruction_sensitivity|reader_resemblance|resemblance_ci",
    conda:
        ANALYSIS_ENV
    script:
        "../scripts/gather_tables.py"


rule divergence:
    input:
        divergence_inputs,
    output:
        report(
            f"{OUT}/divergence.tsv",
            caption="../report/table.rst",
            category="Tables",
            labels={"table": "divergence"},
        ),
    log:
        f"{LOGS}/divergence.log",
    conda:
        ANALYSIS_ENV
    params:
        comparisons=model_comparisons(),
        synthetic=MODELS_SYNTHETIC,
    script:
        "../scripts/divergence.py"


rule controls:
    input:
        attention=expand(f"{OUT}/attention/{{model}}/plain.h5", model=MODELS),
        human=list(human_files().values()),
    output:
        report(
            f"{OUT}/controls.tsv",
            caption="../report/controls.rst",
            category="Tables",
            labels={"table": "controls"},
        ),
    log:
        f"{LOGS}/controls.log",
    conda:
        ANALYSIS_ENV
    params:
        models=list(MODELS),
        groups=GROUPS,
        measures=MEASURES,
        analysis=config["analysis"],
        synthetic=SYNTHETIC,
    script:
        "../scripts/controls.py"


rule replication_summary:
    input:
        f"{OUT}/human_resemblance.tsv",
    output:
        report(
            f"{OUT}/replication_summary.tsv",
            caption="../report/table.rst",
            category="Tables",
            labels={"table": "replication_summary"},
        ),
    log:
        f"{LOGS}/replication_summary.log",
    conda:
        ANALYSIS_ENV
    params:
        reference=GROUPS[0],
    script:
        "../scripts/replication_summary.py"
