# `snakemake` is the object Snakemake injects into every script: see rules/studies.smk.
import os

from mlpcompare import logs
from mlpcompare.studies import plots as study_plots
from mlpcompare.studies import report as study_report

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    study, seeds = snakemake.params.study, snakemake.params.seeds
    figures = {name: snakemake.output[name] for name in study_plots.FIGURES}
    study_plots.draw(study, seeds, snakemake.input.summary, list(snakemake.input.history), figures)
    study_report.write_report(
        study=study,
        seeds=seeds,
        tables={name: snakemake.input[name] for name in ("summary", "effects")},
        figures=figures,
        assets=os.path.dirname(snakemake.input.style),
        output=snakemake.output.report,
    )
