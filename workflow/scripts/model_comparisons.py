"""Paired tests across readers between the compared models (scaling and tuning)."""

from readalike.core.joblog import send_to_log
from readalike.core.outputs import read_tsv, write_tsv
from readalike.study_a.tables import model_comparisons_table

send_to_log(snakemake.log[0])
table = model_comparisons_table(
    read_tsv(snakemake.input.readers),
    snakemake.params.comparisons,
    dict(zip(snakemake.params.models, snakemake.input.attention, strict=True)),
    snakemake.params.statistics,
)
write_tsv(table, snakemake.output[0], synthetic=snakemake.params.synthetic)
