"""Released per-reader fMRI activations of one reader group -> the project's human format."""

from readalike.core.checksums import remove_on_mismatch
from readalike.core.formats import read_saccades, write_saccades
from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.release.fmri import fmri_saccade_set, load_release_fmri
from readalike.release.study_a import release_hashes

send_to_log(snakemake.log[0])
group = snakemake.wildcards.group
lengths = read_saccades(snakemake.input.human).lengths()
hashes = release_hashes(snakemake.input.manifest, snakemake.input.pinned, **snakemake.params.check)
with remove_on_mismatch(snakemake.params.derived):
    readers, checks = load_release_fmri(
        snakemake.params.release_dir,
        groups={group: snakemake.params.suffix},
        lengths={group: lengths},
        regions=snakemake.params.regions,
        exclude_readers=[e for e in snakemake.params.exclude_readers if e["group"] == group],
        hashes=hashes,
    )
source = f"release fMRI ({snakemake.params.release_dir})"
write_saccades(snakemake.output.human, fmri_saccade_set(readers[group], lengths, group, source))
write_tsv(checks, snakemake.output.checks, synthetic=False)
