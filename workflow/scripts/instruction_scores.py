"""Each Study B model's instruction scores summarised per prompt source and over all."""

import pandas as pd

from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.study_b.instruction_focus import instruction_scores_table

send_to_log(snakemake.log[0])
scores = pd.read_csv(snakemake.input[0], sep="\t")
synthetic = bool((scores.pop("provenance") == "SYNTHETIC").any())
write_tsv(instruction_scores_table(scores), snakemake.output[0], synthetic=synthetic)
