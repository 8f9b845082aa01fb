# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from types import SimpleNamespace

from mlpcompare import logs
from mlpcompare.measuring import evaluation

logs.to_file(snakemake.log[0])
logs.run(
    evaluation.evaluate_runs,
    framework=snakemake.params.framework,
    seeds=snakemake.params.seeds,
    model_paths=list(snakemake.input.model),
    train_paths=list(snakemake.input.train),
    split_path=snakemake.input.split,
    info_path=snakemake.input.info,
    arch=snakemake.params.arch,
    device=snakemake.params.device,
    threads=snakemake.threads,
    settings=snakemake.params.bench,
    outputs=SimpleNamespace(**{name: list(paths) for name, paths in snakemake.output.items()}),
)
