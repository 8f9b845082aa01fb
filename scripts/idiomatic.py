# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import idiomatic, logs

logs.to_file(snakemake.log[0])
logs.run(
    idiomatic.measure,
    framework=snakemake.params.framework,
    split_path=snakemake.input.split,
    init_paths=list(snakemake.input.init),
    seeds=snakemake.params.seeds,
    arch=snakemake.params.arch,
    training=snakemake.params.training,
    device=snakemake.params.device,
    threads=snakemake.threads,
    epochs=snakemake.params.epochs,
    output=snakemake.output[0],
)
