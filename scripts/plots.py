# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import logs
from mlpcompare.presenting import figures

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    data = figures.read_arch_data(
        snakemake.params.runs, snakemake.input, idiomatic_seeds=snakemake.params.idiomatic_seeds
    )
    figures.draw(data, dict(snakemake.output.items()))
