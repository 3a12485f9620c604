"""One figure (PNG and PDF) from one tidy table."""

import pandas as pd

from readalike import figures
from readalike.joblog import send_to_log

send_to_log(snakemake.log[0])
draw = {
    "resemblance_by_layer": figures.resemblance_figure,
    "trivial_reliance_by_layer": figures.trivial_reliance_figure,
    "instruction_sensitivity_by_layer": figures.instruction_sensitivity_figure,
    "divergence_by_part": figures.divergence_figure,
    "replication_by_group": figures.replication_figure,
}[snakemake.wildcards.figure]
table = pd.read_csv(snakemake.input.table, sep="\t")
# the stamp follows the data: a table built on simulated readers says so in its rows
synthetic = bool((table["provenance"] == "SYNTHETIC").any())
figures.save_figure(draw(table), [snakemake.output.png, snakemake.output.pdf], synthetic)
