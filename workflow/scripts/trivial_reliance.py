"""Reliance of one model's heads on trivial attention patterns, per layer."""

from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.study_a.tables import trivial_reliance_table

send_to_log(snakemake.log[0])
table = trivial_reliance_table(
    snakemake.input.attention, snakemake.wildcards.model, snakemake.params.layer_block
)
write_tsv(table, snakemake.output[0], synthetic=snakemake.params.synthetic)
