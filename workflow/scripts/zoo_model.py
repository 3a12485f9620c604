"""Demo zoo: one tiny causal LM (LLaMA, GPT-2 or Qwen2) trained from scratch on the shipped text."""

from readalike.joblog import send_to_log
from readalike.zoo import build_model, read_texts, training_documents

send_to_log(snakemake.log[0])
spec, zoo = snakemake.params.spec, snakemake.params.zoo
build_model(
    snakemake.input.tokenizer,
    snakemake.output[0],
    hidden_size=spec["hidden_size"],
    n_layers=spec["n_layers"],
    n_heads=spec["n_heads"],
    intermediate_size=spec["intermediate_size"],
    seed=zoo["seed"],
    steps=spec["steps"],
    lr=spec["lr"],
    # windows never span two files: each file is its own run of text
    texts=[
        document
        for path in snakemake.input.texts
        for document in training_documents(read_texts(path), zoo["lines_per_sequence"])
    ],
    batch_size=spec["batch_size"],
    max_len=spec["max_len"],
    n_threads=snakemake.threads,
    architecture=spec["architecture"],
)
