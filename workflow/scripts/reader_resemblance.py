"""Per-reader resemblance of one model's layers (every reader of every group and measure)."""

from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.study_a.tables import reader_resemblance_table

send_to_log(snakemake.log[0])
table = reader_resemblance_table(
    snakemake.input.attention,
    dict(zip(snakemake.params.groups, snakemake.input.human, strict=True)),
    snakemake.params.measures,
    model=snakemake.wildcards.model,
    block_size=snakemake.params.layer_block,
    shuffle_seed=snakemake.params.shuffle_seed,
)
write_tsv(table, snakemake.output[0], synthetic=snakemake.params.synthetic)
