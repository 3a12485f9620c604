"""The released attribution matrices, converted once into the project's attribution format."""

from readalike.core.formats import write_attribution
from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.release.study_b import (
    RELEASE_COMMIT,
    RELEASE_REPO,
    convert_release,
    unpacked_release,
)

send_to_log(snakemake.log[0])
release_dir = unpacked_release(snakemake.input.unpacked, snakemake.input.tar)
records, faults = convert_release(release_dir)
for model, path in zip(snakemake.params.models, snakemake.output.attribution, strict=True):
    write_attribution(path, records[model], provenance=f"{RELEASE_REPO}@{RELEASE_COMMIT}")
write_tsv(faults, snakemake.output.faults, synthetic=False)
