"""JS divergence of the configured scaling and tuning pairs, by quarter of the depth."""

from pathlib import Path

from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.study_a.tables import divergence_table

send_to_log(snakemake.log[0])
# inputs are results/<run>/attention/<model>/<condition>.h5
paths = {(Path(p).parent.name, Path(p).stem): p for p in snakemake.input}
table = divergence_table([tuple(c) for c in snakemake.params.comparisons], paths)
write_tsv(table, snakemake.output[0], synthetic=snakemake.params.synthetic)
