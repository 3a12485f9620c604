"""Demo zoo: the instruction-tuned variant of a zoo model."""

from readalike.core.joblog import send_to_log
from readalike.models.zoo import instruction_tune, read_instruction_pairs

send_to_log(snakemake.log[0])
spec, zoo = snakemake.params.spec, snakemake.params.zoo
instruction_tune(
    snakemake.input.base,
    snakemake.output[0],
    read_instruction_pairs(snakemake.input.pairs),
    steps=spec["steps"],
    lr=spec["lr"],
    seed=zoo["seed"],
    batch_size=spec["batch_size"],
    max_len=spec["max_len"],
    n_threads=snakemake.threads,
)
