# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import logs, plots

logs.to_file(snakemake.log[0])
plots.comparison(keys=snakemake.params.runs, inputs=snakemake.input, outputs=snakemake.output)
