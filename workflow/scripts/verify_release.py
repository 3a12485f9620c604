"""Check every release file this run reads against the pinned SHA-256 manifest."""

import pandas as pd

from readalike.core.checksums import remove_on_mismatch, verify_files
from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.release.study_a import release_hashes

send_to_log(snakemake.log[0])
check = snakemake.params.check
hashes = release_hashes(snakemake.input.manifest, snakemake.input.pinned, **check)
with remove_on_mismatch(snakemake.params.derived):
    verify_files(snakemake.params.release_dir, hashes, check["relpaths"])
table = pd.DataFrame(
    {"file": check["relpaths"], "sha256": [hashes[p] for p in check["relpaths"]], "verified": True}
)
write_tsv(table, snakemake.output[0], synthetic=snakemake.params.synthetic)
