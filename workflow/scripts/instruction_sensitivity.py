"""JS between prompt conditions and the plain sentence, per layer of one model."""

from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.study_a.tables import instruction_sensitivity_table

send_to_log(snakemake.log[0])
table = instruction_sensitivity_table(snakemake.wildcards.model, dict(snakemake.input.items()))
write_tsv(table, snakemake.output[0], synthetic=snakemake.params.synthetic)
