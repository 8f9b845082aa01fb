# `snakemake` is the object Snakemake injects into every script: see rules/studies.smk.
from mlpcompare import logs
from mlpcompare.studies import tables

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    tables.write_tables(
        snakemake.params.study,
        snakemake.params.seeds,
        {name: list(snakemake.input[name]) for name in ("train", "metrics", "history")},
        dict(snakemake.output.items()),
    )
