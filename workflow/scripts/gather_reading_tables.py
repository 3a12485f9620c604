"""Per-corpus reading tables -> one table; words stay text (GECO has the word ``null``)."""

import pandas as pd

from readalike.core.joblog import send_to_log
from readalike.core.outputs import atomic_path

send_to_log(snakemake.log[0])
parts = [pd.read_csv(p, sep="\t", keep_default_na=False, na_values=[""]) for p in snakemake.input]
table = pd.concat(parts, ignore_index=True)
if "word" in table:
    table["word"] = table["word"].fillna("")
with atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, sep="\t", index=False, float_format="%.10g")
