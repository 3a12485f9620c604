# Readers, not only group means: per-reader resemblance, tests across readers, bootstrap
# intervals of the group-mean R^2, noise ceilings, and (released data) per-reader fMRI.


if FMRI_REGIONS:

    rule release_fmri:
        input:
            **release_manifests(),
            verified=f"{OUT}/release/verified.tsv",
            human=f"{OUT}/human/{{group}}.h5",
            pickles=release_fmri_pickles,
        output:
            human=f"{OUT}/human/{{group}}_fmri.h5",
            checks=temp(f"{OUT}/release/checks_fmri_{{group}}.tsv"),
        log:
            f"{LOGS}/release_fmri_{{group}}.log",
        conda:
            ANALYSIS_ENV
        params:
            check=release_check_params(),
            derived=release_derived_outputs(),
            release_dir=RELEASE_DIR,
            suffix=release_suffix,
            regions=FMRI_REGIONS,
            exclude_readers=config["reading"]["fmri"]["exclude_readers"],
        script:
            "../scripts/release_fmri.py"


rule reader_resemblance:
    input:
        attention=reader_attention,
        human=list(reader_human_files().values()),
    output:
        temp(f"{OUT}/tables/reader_resemblance/{{model}}.tsv"),
    log:
        f"{LOGS}/reader_resemblance_{{model}}.log",
    conda:
        ANALYSIS_ENV
    params:
        groups=list(reader_human_files()),
        measures=READER_MEASURES,
        layer_block=config["analysis"]["layer_block"],
        shuffle_seed=config["analysis"]["shuffle_seed"],
        synthetic=SYNTHETIC,
    script:
        "../scripts/reader_resemblance.py"


rule resemblance_ci:
    input:
        attention=plain_attention,
        human=list(human_files().values()),
    output:
        temp(f"{OUT}/tables/resemblance_ci/{{model}}.tsv"),
    log:
        f"{LOGS}/resemblance_ci_{{model}}.log",
    conda:
        ANALYSIS_ENV
    params:
        groups=GROUPS,
        measures=MEASURES,
        layer_block=config["analysis"]["layer_block"],
        statistics=config["analysis"]["statistics"],
        synthetic=SYNTHETIC,
    script:
        "../scripts/resemblance_ci.py"


rule noise_ceiling:
    input:
        human=list(reader_human_files().values()),
    output:
        report(
            f"{OUT}/noise_ceiling.tsv",
            caption="../report/table.rst",
            category="Readers",
            labels={"table": "noise_ceiling"},
        ),
    log:
        f"{LOGS}/noise_ceiling.log",
    conda:
        ANALYSIS_ENV
    params:
        groups=list(reader_human_files()),
        measures=READER_MEASURES,
        statistics=config["analysis"]["statistics"],
        synthetic=SYNTHETIC,
    script:
        "../scripts/noise_ceiling.py"


rule resemblance_tests:
    input:
        f"{OUT}/reader_resemblance.tsv",
    output:
        report(
            f"{OUT}/resemblance_tests.tsv",
            caption="../report/table.rst",
            category="Readers",
            labels={"table": "resemblance_tests"},
        ),
    log:
        f"{LOGS}/resemblance_tests.log",
    conda:
        ANALYSIS_ENV
    params:
        groups=list(reader_human_files()),
        statistics=config["analysis"]["statistics"],
        synthetic=SYNTHETIC,
    script:
        "../scripts/resemblance_tests.py"


rule model_comparisons:
    input:
        readers=f"{OUT}/reader_resemblance.tsv",
        attention=[plain_attention_of(m) for m in COMPARED_MODELS],
    output:
        report(
            f"{OUT}/model_comparisons.tsv",
            caption="../report/table.rst",
            category="Readers",
            labels={"table": "model_comparisons"},
        ),
    log:
        f"{LOGS}/model_comparisons.log",
    conda:
        ANALYSIS_ENV
    params:
        comparisons=model_comparisons(),
        models=COMPARED_MODELS,
        statistics=config["analysis"]["statistics"],
        synthetic=SYNTHETIC,
    script:
        "../scripts/model_comparisons.py"


rule figure_readers:
    input:
        unpack(reader_figure_tables),
    output:
        png=report(
            f"{OUT}/figures/{{figure}}.png",
            caption="../report/readers_figure.rst",
            category="Readers",
            labels={"figure": "{figure}"},
        ),
        pdf=f"{OUT}/figures/{{figure}}.pdf",
    log:
        f"{LOGS}/figure_{{figure}}.log",
    wildcard_constraints:
        figure="|".join(READER_FIGURE_NAMES),
    conda:
        ANALYSIS_ENV
    params:
        options=reader_figure_options,
    script:
        "../scripts/figure_readers.py"
