"""Does the tuned model's output depend more on the instruction? Welch tests per source."""

import pandas as pd

from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.study_b.instruction_focus import instruction_focus_table

send_to_log(snakemake.log[0])
scores = pd.read_csv(snakemake.input[0], sep="\t")
synthetic = bool((scores.pop("provenance") == "SYNTHETIC").any())
table = instruction_focus_table(scores, [tuple(p) for p in snakemake.params.model_pairs])
write_tsv(table, snakemake.output[0], synthetic=synthetic)
