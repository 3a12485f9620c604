"""Word pairs that one model's attention heads relate, counted per verb."""

from readalike.joblog import send_to_log
from readalike.outputs import write_tsv
from readalike.study_b import head_pairs_run, study_b_vocabulary, verb_lists

send_to_log(snakemake.log[0])
model, study_b = snakemake.params.model, snakemake.params.study_b
words, frequencies = study_b_vocabulary(model["location"], snakemake.input.vocabulary, study_b)
instruction_verbs, general_verbs = verb_lists(study_b)
counts, _ = head_pairs_run(
    model["location"],
    words,
    frequencies,
    model_name=snakemake.wildcards.model,
    top_k=study_b.get("top_k", 100),
    n_frequent=study_b.get("n_frequent", 1000),
    glove_path=study_b.get("glove"),
    verbs=instruction_verbs + general_verbs,
)
write_tsv(counts, snakemake.output[0], synthetic=snakemake.params.synthetic)
