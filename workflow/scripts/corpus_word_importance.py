"""Every word-importance measure of one model on one shard of a corpus' compared sentences."""

import logging
import os

from readalike.core.formats import read_reading_measures, write_word_importance
from readalike.core.joblog import send_to_log
from readalike.relative_importance.comparison import corpus_importance

send_to_log(snakemake.log[0])
logging.info("CUDA_VISIBLE_DEVICES=%s", os.environ.get("CUDA_VISIBLE_DEVICES", "(unset)"))
model = snakemake.params.model
importance = corpus_importance(
    model["location"],
    read_reading_measures(snakemake.input.reading),
    model_name=snakemake.wildcards.ri_model,
    dtype=model["dtype"],
    device=model["device"],
    batch_size=snakemake.params.batch_size,
    max_tokens=snakemake.params.max_tokens,
    bos=model["bos"],
    n_threads=snakemake.threads,
    shard=(int(snakemake.wildcards.shard), snakemake.params.n_shards),
)
write_word_importance(snakemake.output[0], importance)
