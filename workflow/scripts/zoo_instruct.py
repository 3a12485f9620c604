"""Demo zoo: the instruction-tuned variant of a zoo model."""

from readalike.joblog import send_to_log
from readalike.zoo import instruction_tune, read_instruction_pairs

send_to_log(snakemake.log[0])
spec, zoo = snakemake.params.spec, snakemake.params.zoo
instruction_tune(
    snakemake.input.base,
    snakemake.output[0],
    read_instruction_pairs(snakemake.input.pairs),
    steps=spec["steps"],
    lr=spec.get("lr", 1e-3),
    seed=zoo["seed"],
    n_threads=snakemake.threads,
)
