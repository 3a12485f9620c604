# Settings and input functions of the readers rules (readers.smk).

# measures with per-reader matrices: fixation measures, or (released data) the fMRI regions
READER_MEASURES = (
    [_release_fmri.fmri_measure(r) for r in FMRI_REGIONS]
    if READING_SOURCE == "release"
    else list(MEASURES)
)
COMPARED_MODELS = sorted({m for _, a, b in model_comparisons() for m in (a, b)})


def reader_human_files():
    """Per group, the human file that holds per-reader matrices (none: no reader analyses)."""
    if READING_SOURCE != "release":
        return human_files()
    return {g: f"{OUT}/human/{g}_fmri.h5" for g in GROUPS} if FMRI_REGIONS else {}


def release_fmri_pickles(wildcards):
    suffix = release_suffix(wildcards)
    return [
        f"{RELEASE_DIR}/{_release_fmri.fmri_relpath(suffix, r)}" for r in FMRI_REGIONS
    ]


def plain_attention_of(model):
    return attention_file(model, "plain")


def reader_tables():
    tables = ["resemblance_ci"]
    if READER_MEASURES and reader_human_files():
        tables += ["reader_resemblance", "resemblance_tests", "noise_ceiling"]
        if COMPARED_MODELS:
            tables.append("model_comparisons")
    return tables


def reader_figures():
    tables = reader_tables()
    figures = ["resemblance_ci_by_layer"]
    if "reader_resemblance" in tables and len(GROUPS) > 1:
        figures.append("reader_resemblance_l2_vs_l1")
    if FMRI_REGIONS:
        figures.append("brain_resemblance_by_layer")
    return figures


READER_FIGURE_NAMES = ["resemblance_ci_by_layer", "reader_resemblance_l2_vs_l1"] + (
    ["brain_resemblance_by_layer"] if FMRI_REGIONS else []
)


def reader_targets():
    targets = [f"{OUT}/{t}.tsv" for t in reader_tables()]
    return targets + [
        f"{OUT}/figures/{f}.{ext}" for f in reader_figures() for ext in ("png", "pdf")
    ]


def reader_figure_tables(wildcards):
    """The tables of one reader figure that this run makes (a run without per-reader data
    has no noise ceilings: the figure then draws no ceiling)."""
    # imported here, not with the module: matplotlib costs every parse of the workflow
    # (and every cluster job) half a second, and only the DAG of a reader figure needs it
    from readalike.figures.readers import READER_FIGURES

    made = reader_tables()
    return {
        t: f"{OUT}/{t}.tsv" for t in READER_FIGURES[wildcards.figure][1] if t in made
    }


def reader_figure_options(wildcards):
    """Keyword arguments of a reader figure: each model's full depth for the brain figure."""
    if wildcards.figure != "brain_resemblance_by_layer":
        return {}
    return {
        "n_layers": {
            name: int(model["n_layers"])
            for name, model in MODELS.items()
            if "n_layers" in model
        }
    }
