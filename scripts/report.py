# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
import os

from mlpcompare import logs, report

logs.to_file(snakemake.log[0])
report.write_report(
    root=os.path.dirname(snakemake.input.summary),
    template=snakemake.input.template,
    style=snakemake.input.style,
    config=snakemake.params.config,
    runs=snakemake.params.runs,
    declared=list(snakemake.input),
    output=snakemake.output[0],
)
