# Settings and input functions of the human reading data rules (human.smk).


def release_suffix(wildcards):
    return config["reading"]["groups"][wildcards.group]["release_suffix"]


def fixations_file(wildcards):
    if config["reading"]["source"] == "simulated":
        return f"{OUT}/human/fixations.csv"
    return config["reading"]["fixations"]


def release_human_inputs(wildcards):
    suffix = release_suffix(wildcards)
    return {
        **release_manifests(),
        "verified": f"{OUT}/release/verified.tsv",
        "pickles": [
            f"{RELEASE_DIR}/{_release.human_relpath(f'mean_saccade_{m}', suffix)}"
            for m in MEASURES
        ],
    }
