"""Study B tables of the released matrices, scored by the code every other source uses."""

import pandas as pd

from readalike.core.formats import read_attribution
from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.release.study_b import (
    ANNOTATIONS_FILE,
    MODEL_PAIR,
    RATED_MODEL,
    read_annotations,
    unpacked_release,
)
from readalike.study_b.instruction_focus import (
    attribution_scores_table,
    following_comparison,
    instruction_focus_table,
)

send_to_log(snakemake.log[0])
release_dir = unpacked_release(snakemake.input.unpacked, snakemake.input.tar)
models = snakemake.params.models
scores = pd.concat(
    [
        attribution_scores_table(read_attribution(path), model)
        for model, path in zip(models, snakemake.input.attribution, strict=True)
    ],
    ignore_index=True,
)
annotations = read_annotations(release_dir / ANNOTATIONS_FILE)
write_tsv(scores, snakemake.output.scores, synthetic=False)
write_tsv(instruction_focus_table(scores, [MODEL_PAIR]), snakemake.output.focus, synthetic=False)
following = following_comparison(scores, annotations, RATED_MODEL)
write_tsv(following, snakemake.output.following, synthetic=False)
