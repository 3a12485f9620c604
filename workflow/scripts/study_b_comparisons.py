"""Base vs tuned: concept shares, principal subspaces and verb relations of every pair."""

import pandas as pd

from readalike.core.formats import read_components
from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.study_b.concept_labels import concept_shift_table
from readalike.study_b.subspaces import subspace_similarity_table
from readalike.study_b.verb_relations import verb_lists, verb_relations_table

send_to_log(snakemake.log[0])
models, synthetic = snakemake.params.models, snakemake.params.synthetic


def by_model(paths, read):
    return dict(zip(models, map(read, paths), strict=True))


def read_tsv(path):
    return pd.read_csv(path, sep="\t").drop(columns="provenance")


concepts = by_model(snakemake.input.concepts, read_tsv)
components = by_model(snakemake.input.components, read_components)
counts = by_model(snakemake.input.head_pairs, read_tsv)
study_b = snakemake.params.study_b
instruction_verbs, general_verbs = verb_lists(
    study_b.get("instruction_verbs"), study_b.get("general_verbs")
)
shift, subspace, verbs = [], [], []
for base, tuned in snakemake.params.model_pairs:
    shift.append(concept_shift_table(concepts[base], concepts[tuned], base, tuned))
    subspace.append(subspace_similarity_table(components[base], components[tuned], base, tuned))
    n_layers = components[base].shape[0]  # (layers, components, hidden)
    verbs.append(
        verb_relations_table(
            counts[base], counts[tuned], n_layers, base, tuned, instruction_verbs, general_verbs
        )
    )
write_tsv(pd.concat(shift, ignore_index=True), snakemake.output.shift, synthetic)
write_tsv(pd.concat(subspace, ignore_index=True), snakemake.output.subspace, synthetic)
write_tsv(pd.concat(verbs, ignore_index=True), snakemake.output.verbs, synthetic)
