"""The authors' released attribution matrices (LLaMA-7B vs Vicuna-7B) -> Study B tables."""

from readalike.joblog import send_to_log
from readalike.outputs import write_tsv
from readalike.study_b import release_b_tables

send_to_log(snakemake.log[0])
tables = release_b_tables(snakemake.input[0], snakemake.params.work_dir)
write_tsv(tables["attribution_scores"], snakemake.output.scores, synthetic=False)
write_tsv(tables["instruction_focus"], snakemake.output.focus, synthetic=False)
write_tsv(tables["following"], snakemake.output.following, synthetic=False)
write_tsv(tables["faults"], snakemake.output.faults, synthetic=False)
