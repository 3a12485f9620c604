"""Fetch the files of the ``download: true`` corpora (pinned commits), each checked by SHA-256."""

from readalike.core.joblog import send_to_log
from readalike.human.reading_measures import download_corpus

send_to_log(snakemake.log[0])
for entry in snakemake.params.entries:
    download_corpus(entry)
