"""Base and tuned models of every Study B pair must share one tokenizer."""

import pandas as pd

from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.study_b.runs import check_same_tokenizer

send_to_log(snakemake.log[0])
locations = snakemake.params.locations
for base, tuned in snakemake.params.model_pairs:
    check_same_tokenizer(locations[base], locations[tuned], (base, tuned))
table = pd.DataFrame(snakemake.params.model_pairs, columns=["model_base", "model_tuned"])
table["same_tokenizer"] = True
write_tsv(table, snakemake.output[0], synthetic=False)
