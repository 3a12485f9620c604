# Released data of arXiv 2310.19084 (RiverGao/scaling_finetuning at a pinned commit):
# verified against a SHA-256 manifest, optionally downloaded, then converted once into the
# project's HDF5 formats so every analysis runs unchanged on them. Every job that reads a
# release file hashes the bytes it reads; one that finds a file changed removes the outputs
# that rest on the release (release_derived_outputs).

if USES_RELEASE:
    # one line before any job: a manifest that differs from the pinned one is a modified copy
    check_release_manifest()

if config["release_download"]:

    rule download_release:
        input:
            **release_manifests(),
        output:
            [f"{RELEASE_DIR}/{p}" for p in release_relpaths()],
        log:
            f"{LOGS}/download_release.log",
        conda:
            ANALYSIS_ENV
        params:
            check=release_check_params(),
            release_dir=RELEASE_DIR,
        script:
            "../scripts/download_release.py"


rule verify_release:
    input:
        **release_manifests(),
        files=[f"{RELEASE_DIR}/{p}" for p in release_relpaths()],
    output:
        f"{OUT}/release/verified.tsv",
    log:
        f"{LOGS}/verify_release.log",
    conda:
        ANALYSIS_ENV
    params:
        check=release_check_params(),
        derived=release_derived_outputs(),
        release_dir=RELEASE_DIR,
        synthetic=SYNTHETIC,
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
        check=release_check_params(),
        derived=release_derived_outputs(),
        release=release_attention_params,
        release_dir=RELEASE_DIR,
    script:
        "../scripts/release_attention.py"


if FMRI_REGIONS:

    # The plain attention at the fMRI files' sentence lengths (they give article 2 sentence
    # 15 the 13 words the attention holds, the saccade matrices 10): what the per-reader
    # fMRI analyses read, with a check row naming the odd one out of each disagreement.
    rule release_attention_fmri:
        input:
            unpack(release_attention_fmri_inputs),
        output:
            attention=f"{OUT}/attention_fmri/{{model}}.h5",
            checks=temp(f"{OUT}/release/checks_fmri_attention_{{model}}.tsv"),
        log:
            f"{LOGS}/release_attention_fmri_{{model}}.log",
        wildcard_constraints:
            model=_names_regex(RELEASE_MODELS),
        conda:
            ANALYSIS_ENV
        resources:
            mem_mb=2000,
        params:
            check=release_check_params(),
            derived=release_derived_outputs(),
            groups=list(reader_human_files()),
            release=release_plain_params,
            release_dir=RELEASE_DIR,
        script:
            "../scripts/release_attention_fmri.py"


rule release_checks:
    input:
        **release_manifests(),
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
        check=release_check_params(),
        derived=release_derived_outputs(),
        release_dir=RELEASE_DIR,
        synthetic=SYNTHETIC,
    script:
        "../scripts/release_checks.py"
