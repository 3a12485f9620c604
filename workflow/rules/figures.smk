# One rule for every figure: `snakemake results/<run>/figures/<name>.png` rebuilds one figure
# from its table (and the table, if needed) and nothing else.


rule figure:
    input:
        table=figure_table,
    output:
        png=report(
            f"{OUT}/figures/{{figure}}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels={"figure": "{figure}"},
        ),
        pdf=f"{OUT}/figures/{{figure}}.pdf",
    log:
        f"{LOGS}/figure_{{figure}}.log",
    wildcard_constraints:
        figure="|".join(FIGURES.values()),
    conda:
        ANALYSIS_ENV
    script:
        "../scripts/figure.py"
