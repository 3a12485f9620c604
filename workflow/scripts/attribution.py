"""Greedy responses and gradient x input attribution of one model over all prompts.

Prompts whose instruction cannot be located in the model's tokens are skipped and listed in
the faults table (readalike.study_b.runs.attribution_faults_table).
"""

import logging
import os

from readalike.core.formats import write_attribution
from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.models.gguf import read_facts
from readalike.study_b.runs import attribution_faults_table, attribution_run

send_to_log(snakemake.log[0])
# the GPUs the scheduler gave this job (.ci/slurm_check.sh checks that there are some)
logging.info("CUDA_VISIBLE_DEVICES=%s", os.environ.get("CUDA_VISIBLE_DEVICES", "(unset)"))
model = snakemake.params.model
faults, attrs = [], {}
records = attribution_run(
    model["location"],
    snakemake.params.prompts,
    model_name=snakemake.wildcards.model,
    max_new_tokens=snakemake.params.max_new_tokens,
    chunk_size=snakemake.params.chunk_size,
    dtype=model["dtype"],
    device=model["device"],
    n_threads=snakemake.threads,
    bos=model["bos"],
    faults=faults,
    chat_template=model["chat_template"],
    n_prompts=snakemake.params.n_prompts,
    checkpoint_facts=read_facts(snakemake.input.checkpoint),
    attrs=attrs,
)
write_attribution(snakemake.output.attribution, records, attrs=attrs)
write_tsv(attribution_faults_table(faults), snakemake.output.faults, snakemake.params.synthetic)
