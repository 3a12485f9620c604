"""Fetch the release files this run needs (pinned commit), each checked by SHA-256."""

from readalike.joblog import send_to_log
from readalike.release import download_release_files, read_manifest

send_to_log(snakemake.log[0])
download_release_files(
    snakemake.params.relpaths,
    snakemake.params.release_dir,
    read_manifest(snakemake.params.manifest),
)
