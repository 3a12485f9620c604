"""A released model's plain attention at the fMRI files' sentence lengths, for the per-reader
fMRI analyses, and a check row for each sentence whose sources disagree on its length."""

from readalike.core.checksums import remove_on_mismatch
from readalike.core.formats import read_saccades, write_attention
from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.release.study_a import (
    fmri_length_checks,
    load_release_attention,
    longest_lengths,
    release_checks_table,
    release_hashes,
)

send_to_log(snakemake.log[0])
release = snakemake.params.release
fmri = {
    group: read_saccades(path).lengths()
    for group, path in zip(snakemake.params.groups, snakemake.input.fmri, strict=True)
}
hashes = release_hashes(snakemake.input.manifest, snakemake.input.pinned, **snakemake.params.check)
with remove_on_mismatch(snakemake.params.derived):
    # the attention's own checks are those of release_attention (the same files)
    attention, _ = load_release_attention(
        snakemake.params.release_dir,
        release["dir"],
        release["prefix"],
        longest_lengths(fmri.values()),
        model_name=snakemake.wildcards.model,
        condition="plain",
        n_layers=len(snakemake.input.layers),
        hashes=hashes,
    )
checks = fmri_length_checks(attention, read_saccades(snakemake.input.human).lengths(), fmri)
write_attention(snakemake.output.attention, attention, consume=True)
write_tsv(release_checks_table(checks), snakemake.output.checks, synthetic=False)
