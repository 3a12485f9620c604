"""The paper's headline comparisons, condensed from the resemblance table."""

import pandas as pd

from readalike.core.joblog import send_to_log
from readalike.core.outputs import table_provenance, write_tsv
from readalike.study_a.replication import replication_summary

send_to_log(snakemake.log[0])
resemblance = pd.read_csv(snakemake.input[0], sep="\t")
synthetic = table_provenance(resemblance)
table = replication_summary(resemblance.drop(columns="provenance"), snakemake.params.reference)
write_tsv(table, snakemake.output[0], synthetic=synthetic)
