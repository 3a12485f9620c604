# Human reading data -> one saccade-matrix file per reader group (formats.SACCADES_FORMAT).
# Simulated readers and real fixation CSVs go through the same fixation-to-matrix rule;
# released group means are converted straight into the same format.


def release_suffix(wildcards):
    return config["reading"]["groups"][wildcards.group]["release_suffix"]


def fixations_file(wildcards):
    if config["reading"]["source"] == "simulated":
        return f"{OUT}/human/fixations.csv"
    return config["reading"]["fixations"]


def release_human_inputs(wildcards):
    suffix = config["reading"]["groups"][wildcards.group]["release_suffix"]
    return {
        "verified": f"{OUT}/release/verified.tsv",
        "pickles": [
            f"{config['release_dir']}/golden_attention/reading_brain/mean_saccade_{m}_{suffix}.pkl"
            for m in MEASURES
        ],
    }


if config["reading"]["source"] == "simulated":

    rule simulate_readers:
        input:
            stimuli=config["stimuli"],
        output:
            f"{OUT}/human/fixations.csv",
        log:
            f"{LOGS}/simulate_readers.log",
        params:
            groups=config["reading"]["groups"],
            seed=config["reading"]["seed"],
        conda:
            CPU_ENV
        script:
            "../../scripts/simulate_readers.py"


if config["reading"]["source"] in ("simulated", "fixations"):

    rule saccade_matrices:
        input:
            fixations=fixations_file,
            stimuli=config["stimuli"],
        output:
            f"{OUT}/human/{{group}}.h5",
        log:
            f"{LOGS}/saccade_matrices_{{group}}.log",
        params:
            synthetic=SYNTHETIC,
            source=config["reading"]["source"],
        conda:
            CPU_ENV
        script:
            "../../scripts/saccade_matrices.py"

else:

    rule release_saccades:
        input:
            unpack(release_human_inputs),
        output:
            f"{OUT}/human/{{group}}.h5",
        log:
            f"{LOGS}/release_saccades_{{group}}.log",
        params:
            release_dir=config.get("release_dir"),
            suffix=release_suffix,
            measures=MEASURES,
        conda:
            CPU_ENV
        script:
            "../../scripts/release_saccades.py"
