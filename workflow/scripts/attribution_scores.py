"""Instruction scores of one model's prompts from its attribution matrices."""

from readalike.core.formats import read_attribution
from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.study_b.instruction_focus import attribution_scores_table

send_to_log(snakemake.log[0])
table = attribution_scores_table(read_attribution(snakemake.input[0]), snakemake.wildcards.model)
write_tsv(table, snakemake.output[0], synthetic=snakemake.params.synthetic)
