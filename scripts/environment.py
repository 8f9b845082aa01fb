# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import io, logs
from mlpcompare.measuring import envinfo

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    records = [io.read_json(path) for path in snakemake.input.train]
    env = envinfo.environment(
        records, threads=snakemake.params.threads, device=snakemake.params.device
    )
    io.write_json(env, snakemake.output[0])
