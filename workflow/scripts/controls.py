"""Controls of the Study A tables: sanity checks, null controls and the trivial baseline."""

from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.study_a.tables import controls_table

send_to_log(snakemake.log[0])
analysis = snakemake.params.analysis
table = controls_table(
    dict(zip(snakemake.params.models, snakemake.input.attention, strict=True)),
    dict(zip(snakemake.params.groups, snakemake.input.human, strict=True)),
    snakemake.params.measures,
    seed=analysis["shuffle_seed"],
    block_size=analysis["layer_block"],
    shuffled_heldout_max=analysis["shuffled_heldout_max"],
    copy_r2_max=analysis["copy_r2_max"],
)
write_tsv(table, snakemake.output[0], synthetic=snakemake.params.synthetic)
