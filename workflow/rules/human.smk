# Human reading data -> one saccade-matrix file per reader group (formats.SACCADES_FORMAT).
# Simulated readers and real fixation CSVs go through the same fixation-to-matrix rule;
# released group means are converted straight into the same format.


if config["reading"]["source"] == "simulated":

    rule simulate_readers:
        input:
            stimuli=config["stimuli"],
        output:
            f"{OUT}/human/fixations.csv",
        log:
            f"{LOGS}/simulate_readers.log",
        conda:
            ANALYSIS_ENV
        params:
            groups=config["reading"]["groups"],
            seed=config["reading"]["seed"],
        script:
            "../scripts/simulate_readers.py"


if config["reading"]["source"] in ("simulated", "fixations"):

    rule saccade_matrices:
        input:
            fixations=fixations_file,
            stimuli=config["stimuli"],
        output:
            f"{OUT}/human/{{group}}.h5",
        log:
            f"{LOGS}/saccade_matrices_{{group}}.log",
        conda:
            ANALYSIS_ENV
        params:
            synthetic=SYNTHETIC,
            source=config["reading"]["source"],
            groups=GROUPS,
            rule=config["reading"]["saccades"],
        script:
            "../scripts/saccade_matrices.py"

else:

    rule release_saccades:
        input:
            unpack(release_human_inputs),
        output:
            f"{OUT}/human/{{group}}.h5",
        log:
            f"{LOGS}/release_saccades_{{group}}.log",
        conda:
            ANALYSIS_ENV
        params:
            check=release_check_params(),
            derived=release_derived_outputs(),
            release_dir=RELEASE_DIR,
            suffix=release_suffix,
            measures=MEASURES,
        script:
            "../scripts/release_saccades.py"
