"""The long relative-importance table of one model on one corpus, or (without an
importance input) the corpus' baselines and noise ceiling."""

from readalike.core.formats import read_reading_measures, read_word_importance
from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.relative_importance.comparison import comparison_table, reference_table

send_to_log(snakemake.log[0])
corpus = read_reading_measures(snakemake.input.reading)
settings = snakemake.params.settings
if "importance" in snakemake.input.keys():
    table = comparison_table(
        corpus,
        read_word_importance(snakemake.input.importance),
        model=snakemake.wildcards.ri_model,
        settings=settings,
        group_pairs=snakemake.params.group_pairs,
        synthetic=snakemake.params.synthetic,
    )
else:
    table = reference_table(corpus, settings=settings, synthetic=snakemake.params.synthetic)
write_tsv(table.drop(columns="provenance"), snakemake.output[0], snakemake.params.synthetic)
