"""Released group-mean saccade matrices of one reader group -> the project's HDF5 format."""

from readalike.core.checksums import remove_on_mismatch
from readalike.core.formats import write_saccades
from readalike.core.joblog import send_to_log
from readalike.release.study_a import load_release_saccades, release_hashes

send_to_log(snakemake.log[0])
hashes = release_hashes(snakemake.input.manifest, snakemake.input.pinned, **snakemake.params.check)
# the pickles are hashed as they are read: an earlier verified.tsv proves nothing about them
with remove_on_mismatch(snakemake.params.derived):
    saccades = load_release_saccades(
        snakemake.params.release_dir,
        snakemake.params.suffix,
        group_name=snakemake.wildcards.group,
        measures={m: f"mean_saccade_{m}" for m in snakemake.params.measures},
        hashes=hashes,
    )
write_saccades(snakemake.output[0], saccades)
