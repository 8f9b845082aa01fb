# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import logs
from mlpcompare.aggregating import idiomatic

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    idiomatic.write_idiomatic(snakemake.params.idiomatic, snakemake.input, snakemake.output[0])
