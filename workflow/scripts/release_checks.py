"""All checks of the released files in one table: conversions, trivial-pattern labels and the
ms per saccade of each group's dur (which duration rule made the means)."""

import pandas as pd

from readalike.core.checksums import remove_on_mismatch
from readalike.core.formats import read_saccades
from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.release.study_a import (
    release_checks_table,
    release_hashes,
    release_label_checks,
    saccade_duration_checks,
)

send_to_log(snakemake.log[0])
lengths = read_saccades(snakemake.input.human[0]).lengths()
tables = [pd.read_csv(p, sep="\t").drop(columns="provenance") for p in snakemake.input.tables]
hashes = release_hashes(snakemake.input.manifest, snakemake.input.pinned, **snakemake.params.check)
with remove_on_mismatch(snakemake.params.derived):
    labels = release_label_checks(snakemake.params.release_dir, lengths, hashes=hashes)
tables.append(release_checks_table(labels))
human = [read_saccades(path) for path in snakemake.input.human]
tables.append(release_checks_table(saccade_duration_checks(human)))
write_tsv(pd.concat(tables, ignore_index=True), snakemake.output[0], snakemake.params.synthetic)
