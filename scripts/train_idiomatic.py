# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from types import SimpleNamespace

from mlpcompare import logs
from mlpcompare.training import idiomatic

logs.to_file(snakemake.log[0])
logs.run(
    idiomatic.run_all,
    framework=snakemake.params.framework,
    split_path=snakemake.input.split,
    info_path=snakemake.input.info,
    init_paths=list(snakemake.input.init),
    seeds=snakemake.params.seeds,
    arch=snakemake.params.arch,
    training=snakemake.params.training,
    device=snakemake.params.device,
    threads=snakemake.threads,
    settings=snakemake.params.bench,
    outputs=SimpleNamespace(
        summary=snakemake.output.summary,
        **{name: list(paths) for name, paths in snakemake.output.items() if name != "summary"},
    ),
)
