"""Noise ceilings of every group and per-reader measure."""

from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.study_a.tables import reader_noise_ceiling_table

send_to_log(snakemake.log[0])
statistics = snakemake.params.statistics
table = reader_noise_ceiling_table(
    dict(zip(snakemake.params.groups, snakemake.input.human, strict=True)),
    snakemake.params.measures,
    n_boot=statistics["n_bootstrap"],
    n_splits=statistics["n_splits"],
    seed=statistics["seed"],
)
write_tsv(table, snakemake.output[0], synthetic=snakemake.params.synthetic)
