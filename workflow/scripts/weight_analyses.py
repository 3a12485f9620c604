"""Study B weight analyses of one model: feed-forward concepts and attention-head word pairs."""

from readalike.core.formats import write_components
from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.study_b.runs import ffn_concepts_run, head_pairs_run, study_b_vocabulary
from readalike.study_b.verb_relations import verb_lists

send_to_log(snakemake.log[0])
model, study_b = snakemake.params.model, snakemake.params.study_b
name, location = snakemake.wildcards.model, model["location"]
# a vocabulary file (the config's, or the authors' in the unpacked archive), else the
# words of the run's own text
vocabulary = snakemake.params.vocabulary
words, frequencies = study_b_vocabulary(
    location, [vocabulary] if vocabulary else snakemake.input.vocabulary, bool(vocabulary)
)
concepts, components = ffn_concepts_run(
    location,
    words,
    model_name=name,
    n_components=study_b["n_components"],
    n_top_words=study_b["n_top_words"],
)
write_components(snakemake.output.components, components, name)
write_tsv(concepts, snakemake.output.concepts, synthetic=snakemake.params.synthetic)
instruction_verbs, general_verbs = verb_lists(
    study_b.get("instruction_verbs"), study_b.get("general_verbs")
)
counts, _ = head_pairs_run(
    location,
    words,
    frequencies,
    model_name=name,
    top_k=study_b["top_k"],
    n_frequent=study_b["n_frequent"],
    glove_path=study_b.get("glove"),
    verbs=instruction_verbs + general_verbs,
)
write_tsv(counts, snakemake.output.head_pairs, synthetic=snakemake.params.synthetic)
