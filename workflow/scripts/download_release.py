"""Fetch the release files this run needs (pinned commit), each checked by SHA-256."""

from readalike.core.checksums import download_files, read_manifest
from readalike.core.joblog import send_to_log
from readalike.release.study_a import RAW_URL, RELEASE_COMMIT

send_to_log(snakemake.log[0])
download_files(
    snakemake.params.relpaths,
    snakemake.params.release_dir,
    read_manifest(snakemake.params.manifest),
    commit=RELEASE_COMMIT,
    base_url=RAW_URL,
)
