# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import logs, runs

logs.to_file(snakemake.log[0])
logs.run(
    runs.train,
    framework=snakemake.params.framework,
    split_path=snakemake.input.split,
    init_path=snakemake.input.init,
    arch=snakemake.params.arch,
    training=snakemake.params.training,
    seed=int(snakemake.wildcards.seed),
    device=snakemake.params.device,
    in_run_ceiling=snakemake.params.in_run_ceiling,
    threads=snakemake.threads,
    outputs=snakemake.output,
)
