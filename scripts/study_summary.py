# `snakemake` is the object Snakemake injects into every script: see rules/studies.smk.
from mlpcompare import logs
from mlpcompare.studies import STUDY_RESULTS
from mlpcompare.studies import tables as study_tables

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    study_tables.write_tables(
        snakemake.params.study,
        snakemake.params.seeds,
        STUDY_RESULTS,
        dict(snakemake.output.items()),
    )
