"""One model's word importance of a whole corpus, joined from its shards."""

from readalike.core.formats import read_word_importance, write_word_importance
from readalike.core.joblog import send_to_log
from readalike.relative_importance.comparison import join_shards

send_to_log(snakemake.log[0])
parts = [read_word_importance(path) for path in snakemake.input]
write_word_importance(snakemake.output[0], join_shards(parts, where=snakemake.output[0]))
