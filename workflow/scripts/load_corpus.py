"""One reading corpus: verified unpacking, loading, the compared sentences, its tables."""

from readalike.core.formats import write_reading_measures
from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.human.reading_measures import load_reading_corpus, reading_measures_table
from readalike.relative_importance.comparison import comparable_corpus

send_to_log(snakemake.log[0])
corpus, checks = load_reading_corpus(snakemake.params.entry, unpack_dir=snakemake.params.unpack_dir)
corpus = comparable_corpus(corpus, snakemake.params.max_sentences, snakemake.params.seed)
write_reading_measures(snakemake.output.reading, corpus)
write_tsv(reading_measures_table(corpus), snakemake.output.measures, synthetic=False)
write_tsv(checks, snakemake.output.checks, synthetic=False)
