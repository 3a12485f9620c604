"""Per-model tables -> one tidy table for the run."""

import pandas as pd

from readalike.core.joblog import send_to_log
from readalike.core.outputs import atomic_path

send_to_log(snakemake.log[0])
table = pd.concat([pd.read_csv(p, sep="\t") for p in snakemake.input], ignore_index=True)
with atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, sep="\t", index=False, float_format="%.10g")
