"""Greedy responses and gradient x input attribution of one model over all prompts."""

import logging
import os

from readalike.formats import write_attribution
from readalike.joblog import send_to_log
from readalike.study_b import attribution_run

send_to_log(snakemake.log[0])
# the GPUs the scheduler gave this job (.ci/slurm_check.sh checks that there are some)
logging.info("CUDA_VISIBLE_DEVICES=%s", os.environ.get("CUDA_VISIBLE_DEVICES", "(unset)"))
model = snakemake.params.model
records = attribution_run(
    model["location"],
    snakemake.input.prompts,
    model_name=snakemake.wildcards.model,
    max_new_tokens=snakemake.params.max_new_tokens,
    chunk_size=snakemake.params.chunk_size,
    dtype=model["dtype"],
    device=model["device"],
    n_threads=snakemake.threads,
)
write_attribution(snakemake.output[0], records)
