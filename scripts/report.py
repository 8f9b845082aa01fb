# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
import os

from mlpcompare import logs
from mlpcompare.presenting import report

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    report.write_report(
        inputs=snakemake.input,
        assets=os.path.dirname(snakemake.input.style),
        config=snakemake.params.config,
        runs=snakemake.params.runs,
        output=snakemake.output[0],
    )
