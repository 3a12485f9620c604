"""Principal components of one model's feed-forward value vectors, and their top words."""

from readalike.formats import write_components
from readalike.joblog import send_to_log
from readalike.outputs import write_tsv
from readalike.study_b import ffn_concepts_run, study_b_vocabulary

send_to_log(snakemake.log[0])
model, study_b = snakemake.params.model, snakemake.params.study_b
words, _ = study_b_vocabulary(
    model["location"], snakemake.input.vocabulary, "vocabulary" in study_b
)
concepts, components = ffn_concepts_run(
    model["location"],
    words,
    model_name=snakemake.wildcards.model,
    n_components=study_b["n_components"],
    n_top_words=study_b["n_top_words"],
)
write_components(snakemake.output.components, components, snakemake.wildcards.model)
write_tsv(concepts, snakemake.output.concepts, synthetic=snakemake.params.synthetic)
