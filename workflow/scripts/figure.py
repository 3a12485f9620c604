"""One figure (PNG and PDF) from one tidy table."""

import importlib

import pandas as pd

from readalike.core.joblog import send_to_log
from readalike.core.outputs import table_provenance
from readalike.figures import study_a as figures

send_to_log(snakemake.log[0])
# figure -> (module, function); only the module of the figure asked for is imported, so a
# Study A figure is drawn without Study B's modules
module, function = {
    "resemblance_by_layer": ("figures.study_a", "resemblance_figure"),
    "trivial_reliance_by_layer": ("figures.study_a", "trivial_reliance_figure"),
    "instruction_sensitivity_by_layer": ("figures.study_a", "instruction_sensitivity_figure"),
    "divergence_by_depth_quarter": ("figures.study_a", "divergence_figure"),
    "replication_by_group": ("figures.study_a", "replication_figure"),
    "instruction_scores_by_source": ("figures.study_b", "instruction_scores_figure"),
    "concept_shares_by_layer_group": ("figures.study_b", "concept_shares_figure"),
    "verb_relations_by_quarter": ("figures.study_b", "verb_relations_figure"),
}[snakemake.wildcards.figure]
draw = getattr(importlib.import_module(f"readalike.{module}"), function)
table = pd.read_csv(snakemake.input.table, sep="\t")
# the stamp follows the data: a table built on simulated readers says so in its rows
synthetic = table_provenance(table)
figures.save_figure(draw(table), [snakemake.output.png, snakemake.output.pdf], synthetic)
