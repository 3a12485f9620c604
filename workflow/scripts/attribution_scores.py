"""Instruction scores of one model's prompts from its attribution matrices."""

from readalike.formats import read_attribution
from readalike.instruction_focus import attribution_scores_table
from readalike.joblog import send_to_log
from readalike.outputs import write_tsv

send_to_log(snakemake.log[0])
table = attribution_scores_table(read_attribution(snakemake.input[0]), snakemake.wildcards.model)
write_tsv(table, snakemake.output[0], synthetic=snakemake.params.synthetic)
