# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import logs
from mlpcompare.aggregating import tables

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    tables.write_tables(snakemake.params.runs, snakemake.input, snakemake.output)
