"""Tests across readers: each group against the reference group, and against chance."""

from readalike.core.joblog import send_to_log
from readalike.core.outputs import read_tsv, write_tsv
from readalike.study_a.tables import reader_tests_table

send_to_log(snakemake.log[0])
table = reader_tests_table(
    read_tsv(snakemake.input[0]),
    snakemake.params.groups,
    snakemake.params.statistics,
)
write_tsv(table, snakemake.output[0], synthetic=snakemake.params.synthetic)
