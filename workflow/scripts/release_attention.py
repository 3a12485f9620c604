"""Released per-layer attention of one model and condition -> the project's HDF5 format.

Sentence lengths come from the human matrices; what the conversion finds wrong with the
files (padding, causality, row sums) goes to a checks table instead of being dropped.
"""

from readalike.core.checksums import remove_on_mismatch
from readalike.core.formats import read_saccades, write_attention
from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.release.study_a import load_release_attention, release_checks_table, release_hashes

send_to_log(snakemake.log[0])
release = snakemake.params.release
hashes = release_hashes(snakemake.input.manifest, snakemake.input.pinned, **snakemake.params.check)
with remove_on_mismatch(snakemake.params.derived):
    attention, checks = load_release_attention(
        snakemake.params.release_dir,
        release["dir"],
        release["prefix"],
        read_saccades(snakemake.input.human).lengths(),
        model_name=snakemake.wildcards.model,
        condition=snakemake.wildcards.condition,
        n_layers=len(snakemake.input.layers),
        hashes=hashes,
    )
# consume: the set is not needed once written, so one copy is held instead of two
write_attention(snakemake.output.attention, attention, consume=True)
write_tsv(release_checks_table(checks), snakemake.output.checks, synthetic=False)
