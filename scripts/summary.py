# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import layout, logs
from mlpcompare.aggregating import aggregate

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    aggregate.write_summary(snakemake.params.runs, layout.RESULTS, snakemake.output[0])
