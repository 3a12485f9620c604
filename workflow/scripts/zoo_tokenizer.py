"""Demo zoo: a SentencePiece tokenizer trained on the shipped text."""

from readalike.core.joblog import send_to_log
from readalike.models.zoo import train_zoo_tokenizer

send_to_log(snakemake.log[0])
train_zoo_tokenizer(snakemake.input, snakemake.output[0], snakemake.params.zoo)
