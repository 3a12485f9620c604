"""Unpack the authors' Study B release, every file verified against the pinned manifest."""

from readalike.core.joblog import send_to_log
from readalike.release.study_b import unpack_release_b

send_to_log(snakemake.log[0])
unpack_release_b(snakemake.input.tar, snakemake.output[0], snakemake.input.manifest)
