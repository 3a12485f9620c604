"""Group-mean resemblance of one model's layers with bootstrap intervals over sentences."""

from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.study_a.tables import resemblance_ci_table

send_to_log(snakemake.log[0])
statistics = snakemake.params.statistics
table = resemblance_ci_table(
    snakemake.input.attention,
    dict(zip(snakemake.params.groups, snakemake.input.human, strict=True)),
    snakemake.params.measures,
    model=snakemake.wildcards.model,
    n_draws=statistics["n_bootstrap"],
    seed=statistics["seed"],
    confidence=statistics["confidence"],
    block_size=snakemake.params.layer_block,
)
write_tsv(table, snakemake.output[0], synthetic=snakemake.params.synthetic)
