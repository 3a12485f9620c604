"""One figure of the readers' analyses (PNG and PDF) from the tables it reads."""

from readalike.core.joblog import send_to_log
from readalike.core.outputs import read_tsv
from readalike.figures import study_a as figures
from readalike.figures.readers import READER_FIGURES, empty_table

send_to_log(snakemake.log[0])
draw, tables = READER_FIGURES[snakemake.wildcards.figure]
# a table the run does not make (noise ceilings without per-reader data) is passed empty
args = [
    read_tsv(snakemake.input[t]) if t in snakemake.input.keys() else empty_table(t) for t in tables
]
# each figure stamps itself SYNTHETIC from the rows of every table it reads
figures.save_figure(
    draw(*args, **snakemake.params.options), [snakemake.output.png, snakemake.output.pdf], False
)
