"""Fixation sequences of one reader group -> its saccade matrices (HDF5)."""

from readalike.core.formats import write_saccades
from readalike.core.joblog import send_to_log
from readalike.core.stimuli import read_stimuli, sentence_lengths
from readalike.human.saccades import read_fixations, saccade_matrices

send_to_log(snakemake.log[0])
saccades = saccade_matrices(
    read_fixations(snakemake.input.fixations, groups=snakemake.params.groups),
    sentence_lengths(read_stimuli(snakemake.input.stimuli)),
    group=snakemake.wildcards.group,
    source=f"{snakemake.params.source}:{snakemake.input.fixations}",
    synthetic=snakemake.params.synthetic,
    **snakemake.params.rule,  # reading.saccades: duration, refixations, pairs
)
write_saccades(snakemake.output[0], saccades)
