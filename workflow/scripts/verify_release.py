"""Check every release file this run reads against the pinned SHA-256 manifest."""

import pandas as pd

from readalike.core.checksums import read_manifest, verify_files
from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv

send_to_log(snakemake.log[0])
manifest = read_manifest(snakemake.input.manifest)
verify_files(snakemake.params.release_dir, manifest, snakemake.params.relpaths)
table = pd.DataFrame(
    {
        "file": snakemake.params.relpaths,
        "sha256": [manifest[p] for p in snakemake.params.relpaths],
        "verified": True,
    }
)
write_tsv(table, snakemake.output[0], synthetic=False)
