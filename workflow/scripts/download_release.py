"""Fetch the release files this run needs (pinned commit), each checked by SHA-256."""

from readalike.core.checksums import download_files
from readalike.core.joblog import send_to_log
from readalike.release.study_a import RAW_URL, RELEASE_COMMIT, release_hashes

send_to_log(snakemake.log[0])
check = snakemake.params.check
download_files(
    check["relpaths"],
    snakemake.params.release_dir,
    release_hashes(snakemake.input.manifest, snakemake.input.pinned, **check),
    commit=RELEASE_COMMIT,
    base_url=RAW_URL,
)
