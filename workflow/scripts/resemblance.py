"""Human resemblance of one model's layers (all groups and measures, plus residuals)."""

from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.study_a.tables import resemblance_table

send_to_log(snakemake.log[0])
table = resemblance_table(
    snakemake.input.attention,
    dict(zip(snakemake.params.groups, snakemake.input.human, strict=True)),
    snakemake.params.measures,
    model=snakemake.wildcards.model,
    block_size=snakemake.params.layer_block,
)
write_tsv(table, snakemake.output[0], synthetic=snakemake.params.synthetic)
