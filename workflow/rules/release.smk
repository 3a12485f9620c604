# Released data of arXiv 2310.19084 (RiverGao/scaling_finetuning at a pinned commit):
# verified against a SHA-256 manifest, optionally downloaded, then converted once into the
# project's HDF5 formats so every analysis runs unchanged on them.

if config["release_download"]:

    rule download_release:
        output:
            [f"{RELEASE_DIR}/{p}" for p in release_relpaths()],
        log:
            f"{LOGS}/download_release.log",
        conda:
            ANALYSIS_ENV
        params:
            relpaths=release_relpaths(),
            release_dir=RELEASE_DIR,
            manifest=config["release_manifest"],
        script:
            "../scripts/download_release.py"


rule verify_release:
    input:
        files=[f"{RELEASE_DIR}/{p}" for p in release_relpaths()],
        manifest=config["release_manifest"],
    output:
        f"{OUT}/release/verified.tsv",
    log:
        f"{LOGS}/verify_release.log",
    conda:
        ANALYSIS_ENV
    params:
        relpaths=release_relpaths(),
        release_dir=RELEASE_DIR,
    script:
        "../scripts/verify_release.py"


rule release_attention:
    input:
        unpack(release_attention_inputs),
    output:
        attention=f"{OUT}/attention/{{model}}/{{condition}}.h5",
        checks=temp(f"{OUT}/release/checks_{{model}}_{{condition}}.tsv"),
    log:
        f"{LOGS}/release_attention_{{model}}_{{condition}}.log",
    wildcard_constraints:
        model=_names_regex(RELEASE_MODELS),
    conda:
        ANALYSIS_ENV
    resources:
        mem_mb=2000,
    params:
        release=release_attention_params,
        release_dir=RELEASE_DIR,
    script:
        "../scripts/release_attention.py"


rule release_checks:
    input:
        tables=release_check_tables,
        human=list(human_files().values()),
        verified=f"{OUT}/release/verified.tsv",
    output:
        report(
            f"{OUT}/release_checks.tsv",
            caption="../report/release_checks.rst",
            category="Tables",
            labels={"table": "release_checks"},
        ),
    log:
        f"{LOGS}/release_checks.log",
    conda:
        ANALYSIS_ENV
    params:
        release_dir=RELEASE_DIR,
    script:
        "../scripts/release_checks.py"
