"""Every configured model, where its weights come from and how they were stored."""

from pathlib import Path

from readalike.core.joblog import send_to_log
from readalike.core.outputs import write_tsv
from readalike.models.gguf import models_table, read_facts

send_to_log(snakemake.log[0])
# inputs are results/<run>/models/<model>/gguf.json, one per GGUF model
facts = {Path(p).parent.name: read_facts(p) for p in snakemake.input}
table = models_table(snakemake.params.models, facts)
write_tsv(table, snakemake.output[0], synthetic=snakemake.params.synthetic)
