from snakemake.utils import min_version

min_version("9.0")


# The offline demo is the default; a --configfile given on the command line replaces it
# (rather than being merged into it, which would mix the demo's models into another run).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/human.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/study_a.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/study_b.smk"


if USES_RELEASE:

    include: "workflow/rules/release.smk"


rule all:
    input:
        all_targets(),
