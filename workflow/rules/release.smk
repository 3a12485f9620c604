# Released data of arXiv 2310.19084 (RiverGao/scaling_finetuning at a pinned commit):
# verified against a SHA-256 manifest, optionally downloaded, then converted once into the
# project's HDF5 formats so every analysis runs unchanged on them.

from readalike import release as _release

RELEASE_DIR = config["release_dir"]
RELEASE_MANIFEST = _release.read_manifest(config["release_manifest"])


def release_layers(model_dir, file_prefix):
    """Layer count of a released model: from the local copy, or the manifest to download."""
    if config.get("release_download", False):
        return _release.layers_in_manifest(RELEASE_MANIFEST, model_dir, file_prefix)
    return _release.layers_in_dir(RELEASE_DIR, model_dir, file_prefix)


def release_model_files(name, condition):
    spec = MODELS[name]["release"]
    prefix = spec["conditions"][condition]
    return [
        _release.attention_relpath(spec["dir"], prefix, layer)
        for layer in range(release_layers(spec["dir"], prefix))
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
    for name in RELEASE_MODELS:
        for condition in model_conditions(name):
            paths += release_model_files(name, condition)
    return sorted(set(paths))


def release_attention_inputs(wildcards):
    return {
        "verified": f"{OUT}/release/verified.tsv",
        "human": human_files()[GROUPS[0]],
        "layers": [
            f"{RELEASE_DIR}/{p}" for p in release_model_files(wildcards.model, wildcards.condition)
        ],
    }


def release_attention_params(wildcards):
    spec = MODELS[wildcards.model]["release"]
    return {"dir": spec["dir"], "prefix": spec["conditions"][wildcards.condition]}


def release_check_tables(wildcards):
    return [
        f"{OUT}/release/checks_{m}_{c}.tsv" for m in RELEASE_MODELS for c in model_conditions(m)
    ]


if config.get("release_download", False):

    rule download_release:
        output:
            [f"{RELEASE_DIR}/{p}" for p in release_relpaths()],
        log:
            f"{LOGS}/download_release.log",
        params:
            relpaths=release_relpaths(),
            release_dir=RELEASE_DIR,
            manifest=config["release_manifest"],
        conda:
            CPU_ENV
        script:
            "../../scripts/download_release.py"


rule verify_release:
    input:
        files=[f"{RELEASE_DIR}/{p}" for p in release_relpaths()],
        manifest=config["release_manifest"],
    output:
        f"{OUT}/release/verified.tsv",
    log:
        f"{LOGS}/verify_release.log",
    params:
        relpaths=release_relpaths(),
        release_dir=RELEASE_DIR,
    conda:
        CPU_ENV
    script:
        "../../scripts/verify_release.py"


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
    params:
        release=release_attention_params,
        release_dir=RELEASE_DIR,
        synthetic=SYNTHETIC,
    resources:
        mem_mb=2000,
    conda:
        CPU_ENV
    script:
        "../../scripts/release_attention.py"


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
    params:
        release_dir=RELEASE_DIR,
        synthetic=SYNTHETIC,
    conda:
        CPU_ENV
    script:
        "../../scripts/release_checks.py"
