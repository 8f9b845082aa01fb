# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import aggregate, logs

logs.to_file(snakemake.log[0])
aggregate.write_throughput(
    runs=snakemake.params.runs,
    train=snakemake.input.train,
    idiomatic_keys=snakemake.params.idiomatic,
    idiomatic=snakemake.input.idiomatic,
    roofline_path=snakemake.input.roofline,
    output=snakemake.output[0],
)
