"""Simulated reader groups -> one fixation CSV (same format as real eye-tracking data)."""

import pandas as pd

from readalike.core.joblog import send_to_log
from readalike.core.stimuli import read_stimuli
from readalike.human.reading_model import PROFILES, simulate_fixations, write_fixations

send_to_log(snakemake.log[0])
stimuli = read_stimuli(snakemake.input.stimuli)
groups = [
    simulate_fixations(
        stimuli,
        group=name,
        profile=PROFILES[spec["profile"]],
        n_readers=spec["n_readers"],
        seed=snakemake.params.seed,
        subject_offset=1000 * i,  # distinct subjects and random streams per group
    )
    for i, (name, spec) in enumerate(snakemake.params.groups.items())
]
write_fixations(pd.concat(groups, ignore_index=True), snakemake.output[0])
