"""readalike: how scaling and instruction tuning change what a language model attends to,
compared with human readers (Study A, arXiv 2310.19084) and what instruction tuning changes
inside a model (Study B, arXiv 2310.00492).

All analysis logic lives here as plain functions over arrays; the Snakemake workflow only
wires files to these functions.
"""

__version__ = "0.1.0"
