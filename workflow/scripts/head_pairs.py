"""Word pairs that one model's attention heads relate, counted per verb."""

from readalike.joblog import send_to_log
from readalike.outputs import write_tsv
from readalike.study_b import head_pairs_run, study_b_vocabulary
from readalike.verb_relations import verb_lists

send_to_log(snakemake.log[0])
model, study_b = snakemake.params.model, snakemake.params.study_b
words, frequencies = study_b_vocabulary(
    model["location"], snakemake.input.vocabulary, "vocabulary" in study_b
)
instruction_verbs, general_verbs = verb_lists(
    study_b.get("instruction_verbs"), study_b.get("general_verbs")
)
counts, _ = head_pairs_run(
    model["location"],
    words,
    frequencies,
    model_name=snakemake.wildcards.model,
    top_k=study_b["top_k"],
    n_frequent=study_b["n_frequent"],
    glove_path=study_b.get("glove"),
    verbs=instruction_verbs + general_verbs,
)
write_tsv(counts, snakemake.output[0], synthetic=snakemake.params.synthetic)
