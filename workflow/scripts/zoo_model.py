"""Demo zoo: one tiny causal LM (LLaMA, GPT-2 or Qwen2) trained from scratch on the shipped text."""

from readalike.core.joblog import send_to_log
from readalike.models.zoo import train_zoo_model

send_to_log(snakemake.log[0])
train_zoo_model(
    snakemake.input.tokenizer,
    snakemake.output[0],
    snakemake.params.spec,
    snakemake.params.zoo,
    snakemake.input.texts,
    n_threads=snakemake.threads,
)
