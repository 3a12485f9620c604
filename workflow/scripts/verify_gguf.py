"""Check a GGUF file against its pinned SHA-256 and record what its header says."""

from readalike.core.joblog import send_to_log
from readalike.models.gguf import verify_gguf

send_to_log(snakemake.log[0])
verify_gguf(snakemake.input[0], snakemake.params.gguf, snakemake.output[0])
