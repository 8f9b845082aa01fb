# `snakemake` is the object Snakemake injects into every script: see rules/studies.smk.
from types import SimpleNamespace

from mlpcompare import logs
from mlpcompare.studies import runs as study_runs

logs.to_file(snakemake.log[0])
logs.run(
    study_runs.run_variant,
    framework=snakemake.params.framework,
    seeds=snakemake.params.seeds,
    split_path=snakemake.input.split,
    init_paths=list(snakemake.input.init),
    arch=snakemake.params.arch,
    training=snakemake.params.training,
    device=snakemake.params.device,
    in_run_ceiling=snakemake.params.in_run_ceiling,
    threads=snakemake.threads,
    outputs=SimpleNamespace(**{name: list(paths) for name, paths in snakemake.output.items()}),
    code_paths=list(snakemake.input.code),
)
