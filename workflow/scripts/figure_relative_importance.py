"""Which model measure resembles readers most, per corpus, and the layer profiles."""

from readalike.core.joblog import send_to_log
from readalike.core.outputs import read_tsv, table_provenance
from readalike.figures.relative_importance import plot_by_layer, plot_by_measure, save_figure

send_to_log(snakemake.log[0])
table = read_tsv(snakemake.input[0])
stamp = table_provenance(table)  # SYNTHETIC if any row rests on a toy model
save_figure(plot_by_measure(table), snakemake.output.by_measure, stamp)
save_figure(plot_by_layer(table), snakemake.output.by_layer, stamp)
