# Settings and input functions of the figures rules (figures.smk).

TABLE_OF_FIGURE = {figure: table for table, figure in FIGURES.items()}


def figure_table(wildcards):
    return f"{OUT}/{TABLE_OF_FIGURE[wildcards.figure]}.tsv"
