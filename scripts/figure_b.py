"""One Study B figure (PNG and PDF) from one tidy table."""

import pandas as pd

from readalike import figures_b
from readalike.figures import save_figure
from readalike.joblog import send_to_log

send_to_log(snakemake.log[0])
draw = {
    "instruction_scores_by_source": figures_b.instruction_scores_figure,
    "concept_shares_by_layer_group": figures_b.concept_shares_figure,
    "verb_relations_by_quarter": figures_b.verb_relations_figure,
}[snakemake.wildcards.figure]
table = pd.read_csv(snakemake.input.table, sep="\t")
synthetic = bool((table["provenance"] == "SYNTHETIC").any())
save_figure(draw(table), [snakemake.output.png, snakemake.output.pdf], synthetic)
