"""Word-level attention of one model under every prompt condition (one model load)."""

import logging
import os

from readalike.core.formats import write_attention
from readalike.core.joblog import send_to_log
from readalike.core.stimuli import read_stimuli
from readalike.models.extraction import extract_conditions
from readalike.models.gguf import read_facts

send_to_log(snakemake.log[0])
# the GPUs the scheduler gave this job (.ci/slurm_check.sh checks that there are some)
logging.info("CUDA_VISIBLE_DEVICES=%s", os.environ.get("CUDA_VISIBLE_DEVICES", "(unset)"))
model = snakemake.params.model
attention_sets = extract_conditions(
    model["location"],
    read_stimuli(snakemake.input.stimuli),
    snakemake.params.conditions,
    model_name=snakemake.wildcards.model,
    batch_size=snakemake.params.batch_size,
    dtype=model["dtype"],
    device=model["device"],
    n_threads=snakemake.threads,
    bos=model["bos"],
    checkpoint_facts=read_facts(snakemake.input.checkpoint),
)
for condition, target in zip(snakemake.params.conditions, snakemake.output, strict=True):
    write_attention(target, attention_sets[condition])
