from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/human.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/study_a.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        all_targets(),
