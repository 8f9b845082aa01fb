# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import evaluation, logs

logs.to_file(snakemake.log[0])
logs.run(
    evaluation.evaluate,
    framework=snakemake.params.framework,
    model_path=snakemake.input.model,
    split_path=snakemake.input.split,
    info_path=snakemake.input.info,
    train_path=snakemake.input.train,
    arch=snakemake.params.arch,
    device=snakemake.params.device,
    threads=snakemake.threads,
    outputs=snakemake.output,
)
