"""Every Study B model's feed-forward concepts and head word pairs, one table each."""

import pandas as pd

from readalike.core.joblog import send_to_log
from readalike.core.outputs import atomic_path

send_to_log(snakemake.log[0])
for paths, target in (
    (snakemake.input.concepts, snakemake.output.concepts),
    (snakemake.input.head_pairs, snakemake.output.head_pairs),
):
    table = pd.concat([pd.read_csv(p, sep="\t") for p in paths], ignore_index=True)
    with atomic_path(target) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.10g")
