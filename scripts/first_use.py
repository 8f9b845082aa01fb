# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import io, logs
from mlpcompare.measuring import devexp

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    trains = [io.read_json(path) for path in snakemake.input.train]
    io.write_json(devexp.first_use(snakemake.params.framework, trains), snakemake.output[0])
