"""Demo zoo: a SentencePiece tokenizer trained on the shipped text."""

from readalike.joblog import send_to_log
from readalike.zoo import read_texts, train_tokenizer

send_to_log(snakemake.log[0])
zoo = snakemake.params.zoo
texts = [line for path in snakemake.input for line in read_texts(path)]
train_tokenizer(texts, snakemake.output[0], vocab_size=zoo["vocab_size"], seed=zoo["seed"])
