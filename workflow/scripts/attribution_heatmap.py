"""Importance heat map of one prompt, base vs tuned model."""

from readalike.core.formats import read_attribution
from readalike.core.joblog import send_to_log
from readalike.figures.study_a import save_figure
from readalike.figures.study_b import attribution_heatmap_figure

send_to_log(snakemake.log[0])
base = read_attribution(snakemake.input.base)
tuned = {r.prompt_id: r for r in read_attribution(snakemake.input.tuned)}
# the first prompt both models answered
record = next(r for r in base if r.prompt_id in tuned)
figure = attribution_heatmap_figure(record, tuned[record.prompt_id])
save_figure(figure, [snakemake.output.png, snakemake.output.pdf], snakemake.params.synthetic)
