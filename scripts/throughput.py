# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import logs
from mlpcompare.aggregating import throughput

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    throughput.write_throughput(
        snakemake.params.runs, snakemake.params.idiomatic, snakemake.input, snakemake.output[0]
    )
